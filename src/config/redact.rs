//! The one redaction of URLs and secrets, used by the effective config
//! (`check-config`), `Debug` output, logs and error texts alike.
//!
//! A URL is shown without its user name and password and without the
//! values of secret-looking query parameters (`pass`, `password`, `secret`,
//! `token`, `key`, `auth`, ..., any case); a string that is not a URL is
//! not shown at all.

use serde::Serializer;

/// What a hidden value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Whether a query parameter of this name carries a credential.
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "user" | "username" | "pwd" | "sig" | "signature" | "code"
    ) || ["pass", "secret", "token", "key", "auth", "cred", "session"]
        .iter()
        .any(|word| name.contains(word))
}

/// `url` with the user name and password replaced by a single
/// `[redacted]@` and the values of secret-looking query parameters by
/// `[redacted]`; the fragment is dropped. A string that is not a URL
/// becomes `[redacted]` as a whole.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return REDACTED.to_owned();
    };
    let had_userinfo = !u.username().is_empty() || u.password().is_some();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    if let Some(query) = u.query().map(str::to_owned) {
        let shown: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_param(&percent_decode(name).unwrap_or_default()) => {
                    format!("{name}={REDACTED}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        u.set_query(Some(&shown.join("&")));
    }
    u.set_fragment(None);
    let text = u.to_string();
    if had_userinfo {
        // Show that credentials were there, without showing them.
        if let Some((scheme, rest)) = text.split_once("://") {
            return format!("{scheme}://{REDACTED}@{rest}");
        }
    }
    text
}

/// Every credential `url` carries, as written and percent-decoded, longest
/// first: the password, the user name when there is no password (a NATS
/// token travels as the user name), and the values of secret-looking query
/// parameters. For blanking them out of error texts ([`clean`]).
#[cfg_attr(not(feature = "queue"), allow(dead_code))] // used by the queue handler
pub(crate) fn url_secrets(url: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(url) else {
        return vec![url.to_owned()];
    };
    let mut raw: Vec<String> = Vec::new();
    match u.password() {
        Some(password) => raw.push(password.to_owned()),
        None => raw.push(u.username().to_owned()),
    }
    if let Some(query) = u.query() {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=') {
                if is_secret_param(&percent_decode(name).unwrap_or_default()) {
                    raw.push(value.to_owned());
                }
            }
        }
    }
    let mut secrets = Vec::new();
    for part in raw.into_iter().filter(|p| !p.is_empty()) {
        let plus_as_space = part.replace('+', " ");
        for decoded in [percent_decode(&part), percent_decode(&plus_as_space)]
            .into_iter()
            .flatten()
        {
            if decoded != part && !decoded.is_empty() && !secrets.contains(&decoded) {
                secrets.push(decoded);
            }
        }
        if !secrets.contains(&part) {
            secrets.push(part);
        }
    }
    // Longest first, so that a secret containing another is blanked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// `text` with every one of `secrets` replaced by `[redacted]`.
#[cfg_attr(not(feature = "queue"), allow(dead_code))] // used by the queue handler
pub(crate) fn clean(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        text = text.replace(secret.as_str(), REDACTED);
    }
    text
}

/// Decode `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
}

/// Serialize an optional secret as `[redacted]` (absent stays absent).
pub(crate) fn serialize_opt_secret<S: Serializer, T>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_spelling_is_hidden() {
        // (url, what must not show, what must still show)
        let table: &[(&str, &[&str], &[&str])] = &[
            (
                "redis+unix:///run/redis.sock?db=1&pass=s3cret",
                &["s3cret"],
                &["db=1", "pass=[redacted]"],
            ),
            (
                "redis+unix:///run/redis.sock?PASSWORD=s3cret&user=bob",
                &["s3cret", "bob"],
                &["/run/redis.sock"],
            ),
            (
                "redis://alice:s3cret@cache:6380/2",
                &["s3cret", "alice"],
                &["[redacted]@cache:6380/2"],
            ),
            ("rediss://:s3cret@cache:6380", &["s3cret"], &["cache:6380"]),
            (
                "nats://tok3n@127.0.0.1:4222",
                &["tok3n"],
                &["127.0.0.1:4222"],
            ),
            (
                "amqp://bob:s%40cret@broker:5672/vh?heartbeat=10",
                &["s%40cret", "s@cret"],
                &["heartbeat=10"],
            ),
            (
                "https://hook.example/in?Token=abc123&x=1",
                &["abc123"],
                &["x=1"],
            ),
            (
                "https://hook.example/in?api_key=abc123&Secret=zz9&authz=q7",
                &["abc123", "zz9", "q7"],
                &[],
            ),
            (
                "https://hook.example/in?access%5Ftoken=abc123",
                &["abc123"],
                &[],
            ),
            (
                "redis://cache:6379/#insecure",
                &["insecure"],
                &["redis://cache:6379/"],
            ),
            ("not a url s3cret", &["s3cret"], &["[redacted]"]),
        ];
        for (url, hidden, shown) in table {
            let out = redact_url(url);
            for h in *hidden {
                assert!(!out.contains(h), "{url} -> {out} shows {h}");
            }
            for s in *shown {
                assert!(out.contains(s), "{url} -> {out} lacks {s}");
            }
        }
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn texts_are_cleaned_of_every_spelling() {
        let secrets = url_secrets("amqp://bob:s%40cret@broker/vh?token=t%2Bk");
        let text = clean("bob sent s@cret, s%40cret, t+k and t%2Bk", &secrets);
        assert_eq!(
            text,
            "bob sent [redacted], [redacted], [redacted] and [redacted]"
        );
        let nats = url_secrets("nats://tok3n@127.0.0.1:4222");
        assert!(!clean("bad token tok3n", &nats).contains("tok3n"));
    }
}
