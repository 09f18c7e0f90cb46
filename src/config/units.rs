//! Durations kept under their `_ms` / `_secs` key names in TOML but typed as
//! [`Duration`] in Rust, and the bounds every number is checked against.

use std::fmt::Display;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

use super::Problem;

/// `#[serde(with = "millis")]`: a whole number of milliseconds.
pub(crate) mod millis {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }

    pub(crate) fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(v.as_millis()).unwrap_or(u64::MAX))
    }
}

/// `#[serde(with = "secs")]`: a whole number of seconds.
pub(crate) mod secs {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }

    pub(crate) fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.as_secs())
    }
}

/// `value` must lie in `min..=max`.
pub(crate) fn range<T: PartialOrd + Display>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), Problem> {
    if value < min || value > max {
        return Err(Problem::new(
            key,
            format!("must be between {min} and {max} (got {value})"),
        ));
    }
    Ok(())
}

/// A `_secs` key must lie in `min..=max` seconds.
pub(crate) fn secs_range(key: &str, value: Duration, min: u64, max: u64) -> Result<(), Problem> {
    duration_range(
        key,
        value,
        min,
        max,
        Duration::from_secs,
        value.as_secs().into(),
    )
}

/// A `_ms` key must lie in `min..=max` milliseconds.
pub(crate) fn millis_range(key: &str, value: Duration, min: u64, max: u64) -> Result<(), Problem> {
    duration_range(
        key,
        value,
        min,
        max,
        Duration::from_millis,
        value.as_millis(),
    )
}

/// `value` must lie in `min..=max` of `unit`; `got` is `value` in that unit.
fn duration_range(
    key: &str,
    value: Duration,
    min: u64,
    max: u64,
    unit: fn(u64) -> Duration,
    got: u128,
) -> Result<(), Problem> {
    if value < unit(min) || value > unit(max) {
        return Err(Problem::new(
            key,
            format!(
                "must be between {min} and {max}{} (got {got})",
                human(unit(max))
            ),
        ));
    }
    Ok(())
}

/// ` (30 days)`, ` (5 minutes)`, ...: the bound in the largest whole unit.
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 || secs == 0 {
        return String::new();
    }
    let (n, unit) = if secs % 86_400 == 0 {
        (secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    let plural = if n == 1 { "" } else { "s" };
    format!(" ({n} {unit}{plural})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_key_and_the_maximum() {
        let p = secs_range(
            "dedup.ttl_secs",
            Duration::from_secs(u64::MAX / 2),
            1,
            2_592_000,
        )
        .unwrap_err();
        assert_eq!(p.key, "dedup.ttl_secs");
        assert!(p.reason.contains("2592000 (30 days)"), "{}", p.reason);
        assert!(millis_range("x", Duration::from_millis(5), 1, 60_000).is_ok());
        let p = millis_range("x", Duration::ZERO, 1, 60_000).unwrap_err();
        assert!(p.reason.contains("60000 (1 minute)"), "{}", p.reason);
        assert!(range("y", 0usize, 1, 10).is_err());
        assert!(range("y", 10usize, 1, 10).is_ok());
    }
}
