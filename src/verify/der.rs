//! Just enough DER to read a certificate's validity window.
//!
//! rustls-webpki checks validity while building the path but does not
//! expose the dates; the cache needs them to re-check validity on every hit
//! without re-validating the chain. Only called on certificates webpki has
//! already parsed and accepted, but written to fail (None), never panic.

use time::{Date, Month, PrimitiveDateTime, Time};

const SEQUENCE: u8 = 0x30;
const CONTEXT_0: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `(notBefore, notAfter)` of a DER certificate, as Unix seconds.
pub(crate) fn validity(cert_der: &[u8]) -> Option<(i64, i64)> {
    let (tag, cert, _) = tlv(cert_der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] version (optional), serialNumber, signature, issuer, validity.
    if tbs.first() == Some(&CONTEXT_0) {
        tbs = tlv(tbs)?.2;
    }
    for _ in 0..3 {
        tbs = tlv(tbs)?.2;
    }
    let (tag, validity, _) = tlv(tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, not_before, rest) = tlv(validity)?;
    let not_before = time_value(tag, not_before)?;
    let (tag, not_after, _) = tlv(rest)?;
    let not_after = time_value(tag, not_after)?;
    Some((not_before, not_after))
}

/// Split one tag-length-value off the front of `input`.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280).
fn time_value(tag: u8, value: &[u8]) -> Option<i64> {
    let (year, rest) = match tag {
        UTC_TIME if value.len() == 13 => {
            let yy = i32::from(two_digits(&value[0..2])?);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &value[2..])
        }
        GENERALIZED_TIME if value.len() == 15 => {
            let hi = i32::from(two_digits(&value[0..2])?);
            let lo = i32::from(two_digits(&value[2..4])?);
            (hi * 100 + lo, &value[4..])
        }
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let month = Month::try_from(two_digits(&rest[0..2])?).ok()?;
    let date = Date::from_calendar_date(year, month, two_digits(&rest[2..4])?).ok()?;
    let time = Time::from_hms(
        two_digits(&rest[4..6])?,
        two_digits(&rest[6..8])?,
        two_digits(&rest[8..10])?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [h @ b'0'..=b'9', l @ b'0'..=b'9'] => Some((h - b'0') * 10 + (l - b'0')),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time_value(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time_value(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(
            time_value(GENERALIZED_TIME, b"20500101000000Z"),
            Some(2_524_608_000)
        );
        assert_eq!(time_value(UTC_TIME, b"701301000000Z"), None);
        assert_eq!(time_value(UTC_TIME, b"7001010000002"), None);
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(validity(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
    }
}
