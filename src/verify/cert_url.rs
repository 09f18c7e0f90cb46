//! Amazon's rules for the `SignatureCertChainUrl` header.
//!
//! Checked with a real URL parser before any cache look-up or download:
//! scheme `https` (any case); host exactly `s3.amazonaws.com` (any case; no
//! userinfo, no IP literal, no trailing dot); port absent or 443; the path,
//! after RFC 3986 dot-segment removal, starts with `/echo.api/`
//! (case-sensitive). The normalised URL (what the `url` crate serialises,
//! fragment dropped) is the cache key and the URL that is fetched.
//!
//! The `url` crate already removes `.`/`..` segments, including
//! percent-encoded ones (`%2e%2e`). It does not decode `%2f`/`%5c` (encoded
//! separators) or double encoding (`%252e`), which some HTTP stacks decode
//! on the way to the origin; so the path is also checked after repeated
//! percent-decoding and dot-segment removal, and must stay under
//! `/echo.api/` in both readings. (The official Node SDK checks the raw
//! path and is fooled by `/echo.api/../evil/`.)

use url::{Host, Url};

/// The only host a cert chain is downloaded from.
pub const CERT_URL_HOST: &str = "s3.amazonaws.com";
/// The path prefix every cert URL must have (case-sensitive).
pub const CERT_URL_PATH_PREFIX: &str = "/echo.api/";
/// Longest accepted `SignatureCertChainUrl` value.
const MAX_URL_LEN: usize = 2048;
/// How many rounds of percent-decoding are tried before giving up.
const MAX_DECODE_ROUNDS: usize = 4;

/// Which cert URL rule was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertUrlError {
    /// Not a URL (or longer than 2048 bytes, before or after normalisation).
    #[error("not a valid URL")]
    Unparseable,
    /// Scheme other than `https`.
    #[error("scheme must be https")]
    Scheme,
    /// A user name or password in the URL.
    #[error("userinfo is not allowed")]
    Userinfo,
    /// An IPv4/IPv6 literal instead of a host name.
    #[error("IP address hosts are not allowed")]
    IpHost,
    /// Host other than `s3.amazonaws.com` (a trailing dot counts as other).
    #[error("host must be s3.amazonaws.com")]
    Host,
    /// Port other than 443.
    #[error("port must be 443")]
    Port,
    /// The normalised path does not start with `/echo.api/`.
    #[error("path must start with /echo.api/")]
    Path,
}

/// Check `raw` against Amazon's cert URL rules; on success return the
/// normalised URL (the cache key, and what is fetched).
///
/// Never panics, whatever the input (fuzzed and property-tested).
pub fn validate_cert_url(raw: &str) -> Result<Url, CertUrlError> {
    if raw.len() > MAX_URL_LEN {
        return Err(CertUrlError::Unparseable);
    }
    let mut url = Url::parse(raw).map_err(|_| CertUrlError::Unparseable)?;
    // Url lower-cases the scheme.
    if url.scheme() != "https" {
        return Err(CertUrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CertUrlError::Userinfo);
    }
    match url.host() {
        Some(Host::Domain(host)) if host == CERT_URL_HOST => {}
        Some(Host::Ipv4(_)) | Some(Host::Ipv6(_)) => return Err(CertUrlError::IpHost),
        _ => return Err(CertUrlError::Host),
    }
    // Url drops a default port (443 for https), so any port left is wrong.
    if url.port().is_some() {
        return Err(CertUrlError::Port);
    }
    if !url.path().starts_with(CERT_URL_PATH_PREFIX) || !decoded_path_allowed(url.path()) {
        return Err(CertUrlError::Path);
    }
    // The fragment is never sent to the server; keep it out of the cache key.
    url.set_fragment(None);
    // Percent-encoding can make the normalised form longer than the input;
    // the cap holds for the cache key too.
    if url.as_str().len() > MAX_URL_LEN {
        return Err(CertUrlError::Unparseable);
    }
    Ok(url)
}

/// The path read the way a lenient server might: percent-decoded until
/// stable, backslashes as separators, dot segments removed.
fn decoded_path_allowed(path: &str) -> bool {
    // Url has already removed plain and %2e dot segments and turned `\` into
    // `/`; with no percent sign left there is nothing more to decode.
    if !path.contains('%') {
        return true;
    }
    let mut current = path.as_bytes().to_vec();
    let mut stable = false;
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_decode(&current);
        if next == current {
            stable = true;
            break;
        }
        current = next;
    }
    if !stable {
        return false;
    }
    for b in current.iter_mut() {
        if *b == b'\\' {
            *b = b'/';
        }
    }
    remove_dot_segments(&current).starts_with(CERT_URL_PATH_PREFIX.as_bytes())
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 section 5.2.4 for an absolute path, segment by segment.
fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let mut out: Vec<&[u8]> = Vec::new();
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            b"." => trailing_slash = i == last,
            b".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = Vec::with_capacity(path.len());
    for seg in &out {
        result.push(b'/');
        result.extend_from_slice(seg);
    }
    if trailing_slash || result.is_empty() {
        result.push(b'/');
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        assert_eq!(remove_dot_segments(b"/a/b/../c"), b"/a/c");
        assert_eq!(remove_dot_segments(b"/a/./b/"), b"/a/b/");
        assert_eq!(remove_dot_segments(b"/a/.."), b"/");
        assert_eq!(remove_dot_segments(b"/../../a"), b"/a");
        assert_eq!(remove_dot_segments(b"/a/b/."), b"/a/b/");
        assert_eq!(remove_dot_segments(b"/"), b"/");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"%2e%2E%2f%zz%"), b"../%zz%");
        assert_eq!(percent_decode(b"%252e"), b"%2e");
        assert_eq!(percent_decode(b"ab%4"), b"ab%4");
    }
}
