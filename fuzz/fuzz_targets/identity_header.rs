//! Identity header encoding (reference section 5, "Identity header values";
//! src/auth/identity/encode.rs): any claim a token can carry encodes to a valid
//! `http::HeaderValue` (no byte 0x00-0x1F or 0x7F, UTF-8 kept), and decoding gives the claim
//! back: a string exactly (`decode_text`), a list as its element texts (`decode`, where `[""]`
//! and `[]` are the one documented ambiguity), anything else as its compact JSON text.
//! The decoders never panic on any header bytes.
//!
//! Input: one mode byte, then the payload. Even mode: the payload (UTF-8, invalid sequences
//! replaced) is a string claim. Odd mode: the payload is a JSON claim of any type.
#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokengate::auth::identity::encode::{decode, decode_text, encode, header_value};

/// Encodes `claim` and checks the bytes make a valid header value, the same one
/// `header_value` gives (so its unreachable fallback to "" was not taken). `None` for `null`.
fn encoded(claim: &Value) -> Option<Vec<u8>> {
    let Some(bytes) = encode(claim) else {
        assert!(claim.is_null(), "only null has no header: {claim}");
        assert!(header_value(claim).is_none());
        return None;
    };
    assert!(HeaderValue::from_bytes(&bytes).is_ok(), "invalid header value {bytes:?}");
    assert!(
        !bytes.iter().any(|&b| b < 0x20 || b == 0x7F),
        "control byte in {bytes:?}"
    );
    assert!(std::str::from_utf8(&bytes).is_ok(), "not UTF-8: {bytes:?}");
    let value = header_value(claim).expect("not null");
    assert_eq!(value.as_bytes(), &bytes[..], "header_value differs from encode");
    Some(bytes.to_vec())
}

/// An element's text as the rule defines it: a string is itself, anything else its JSON.
fn element_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check(claim: &Value) {
    let Some(bytes) = encoded(claim) else {
        return;
    };
    match claim {
        Value::String(s) => assert_eq!(&decode_text(&bytes).expect("decodes"), s),
        Value::Array(items) => {
            let texts: Vec<String> = items.iter().map(element_text).collect();
            let decoded = decode(&bytes).expect("decodes");
            if texts == [""] {
                assert!(decoded.is_empty());
            } else {
                assert_eq!(decoded, texts);
            }
        }
        other => assert_eq!(decode_text(&bytes).expect("decodes"), other.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    // The decoders take any header bytes; what decodes re-encodes to a value that decodes
    // to the same text.
    let _ = decode(payload);
    if let Ok(text) = decode_text(payload) {
        check(&Value::String(text));
    }
    if mode % 2 == 0 {
        let text = String::from_utf8_lossy(payload).into_owned();
        check(&Value::String(text.clone()));
        check(&Value::Array(vec![Value::String(text.clone()), Value::String(text)]));
    } else if let Ok(claim) = serde_json::from_slice::<Value>(payload) {
        check(&claim);
        // The same claim as one element of a list, and a list's elements as a list.
        check(&Value::Array(vec![claim.clone(), Value::from("x")]));
    }
});
