//! Reading a request body into one bounded buffer, within a deadline.
//!
//! The body is copied frame by frame into a single buffer sized from
//! `Content-Length` (capped by the limit). Keeping the frames instead would
//! keep alive the whole read buffer each small frame was cut from: a body
//! trickled one byte per segment would then cost kilobytes per byte.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderMap};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;

use crate::error::EndpointError;

/// First capacity of the buffer of a body without `Content-Length`
/// (chunked); it doubles up to the limit.
const CHUNKED_INITIAL_CAPACITY: usize = 4096;

/// Bounds of one request body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Largest accepted body (`server.body_limit_bytes`).
    pub limit: usize,
    /// Time the whole body may take to arrive (`server.body_read_timeout_ms`).
    pub timeout: Duration,
}

/// The declared `Content-Length`, if any. hyper has already rejected
/// malformed or conflicting values; an unparsable one here is "unreadable".
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, EndpointError> {
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or(EndpointError::BodyUnreadable),
    }
}

/// Read the whole body.
///
/// - a declared length over the limit answers [`EndpointError::BodyTooLarge`]
///   before a single body byte is read (so no `100 Continue` is sent);
/// - a body that grows past the limit answers the same;
/// - not complete within the timeout: [`EndpointError::BodyTimeout`];
/// - `draining` cancelled while reading: [`EndpointError::ShuttingDown`].
pub(crate) async fn read(
    headers: &HeaderMap,
    mut body: Body,
    limits: BodyLimits,
    draining: &CancellationToken,
) -> Result<Bytes, EndpointError> {
    let declared = declared_length(headers)?;
    let capacity = match declared {
        Some(n) if n > limits.limit as u64 => return Err(EndpointError::BodyTooLarge),
        Some(n) => n as usize,
        None => CHUNKED_INITIAL_CAPACITY.min(limits.limit),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(capacity);
    let collect = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| EndpointError::BodyUnreadable)?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limits.limit {
                    return Err(EndpointError::BodyTooLarge);
                }
                // Copy: `data` (and the read buffer behind it) is freed now.
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    tokio::select! {
        biased;
        () = draining.cancelled() => Err(EndpointError::ShuttingDown),
        read = tokio::time::timeout(limits.timeout, collect) => match read {
            Ok(Ok(())) => Ok(Bytes::from(buf)),
            Ok(Err(e)) => Err(e),
            Err(_elapsed) => Err(EndpointError::BodyTimeout),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(limit: usize) -> BodyLimits {
        BodyLimits {
            limit,
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_unread() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "2000".parse().unwrap());
        let err = read(
            &headers,
            Body::from(vec![0u8; 10]),
            limits(1024),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, EndpointError::BodyTooLarge));
    }

    #[tokio::test]
    async fn an_undeclared_body_over_the_limit_is_refused() {
        let err = read(
            &HeaderMap::new(),
            Body::from(vec![0u8; 1025]),
            limits(1024),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, EndpointError::BodyTooLarge));
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read(
            &HeaderMap::new(),
            Body::from(vec![7u8; 1024]),
            limits(1024),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(body.len(), 1024);
    }
}
