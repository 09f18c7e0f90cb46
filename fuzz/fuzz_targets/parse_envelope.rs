//! Fuzzes `envelope::parse` with arbitrary request bodies: it must never
//! panic, and whatever it accepts must satisfy the parsing rules.
#![no_main]

use alexa_endpoint::envelope::{parse, Request, MAX_MESSAGE_BYTES, MAX_REQUEST_ID_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match parse(body) {
        Ok(envelope) => {
            // Every accepted request has the required fields, and the
            // accessors never panic.
            let request = &envelope.request;
            let _ = (request.request_type(), request.request_id(), request.timestamp());
            let _ = (envelope.skill_id(), envelope.user_id(), envelope.api_endpoint());
            let _ = format!("{envelope:?}");
            if let Request::MessageReceived(r) = request {
                let size = serde_json::to_vec(&r.message).map(|v| v.len()).unwrap_or(0);
                assert!(size <= MAX_MESSAGE_BYTES, "accepted a {size}-byte message");
            }
            assert!(request.request_id().len() <= MAX_REQUEST_ID_BYTES);
        }
        Err(e) => {
            assert!(matches!(
                e.reason(),
                "malformed_json"
                    | "missing_field"
                    | "invalid_field"
                    | "message_too_large"
                    | "duplicate_field"
                    | "request_id_too_long"
            ));
            let _ = e.to_string();
        }
    }
});
