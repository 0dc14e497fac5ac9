//! `tokengate decode [TOKEN]`: print header and payload JSON WITHOUT verifying, and say so.

use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::say;

pub fn run(token: Option<String>) -> ExitCode {
    let token = match super::token_arg(token) {
        Ok(t) => t,
        Err(e) => {
            say!("tokengate: cannot read the token: {e}");
            return ExitCode::from(1);
        }
    };
    match decode(&token) {
        Some((header, payload)) => {
            let out = json!({ "verified": false, "header": header, "payload": payload });
            if let Err(e) = super::stdout_line(&out.to_string()) {
                return super::write_failed("decode", &e);
            }
            say!("note: decoded only; the signature and claims were NOT verified (use `tokengate verify`)");
            ExitCode::SUCCESS
        }
        None => {
            say!("tokengate: not a JWT (expected three base64url segments with JSON header and payload)");
            ExitCode::from(1)
        }
    }
}

/// Header and payload of a compact JWS, if it is one.
fn decode(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let segment = |s: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        value.is_object().then_some(value)
    };
    Some((segment(header)?, segment(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_decodes_to_header_and_payload() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let (header, payload) = decode(&format!("{h}.{p}.sig")).unwrap();
        assert_eq!(header["kid"], "k");
        assert_eq!(payload["sub"], "alice");
    }

    #[test]
    fn garbage_is_not_a_jwt() {
        assert!(decode("garbage").is_none());
        assert!(decode("a.b").is_none());
        assert!(decode("a.b.c.d").is_none());
        let h = URL_SAFE_NO_PAD.encode(b"[1]");
        assert!(decode(&format!("{h}.{h}.x")).is_none());
    }
}
