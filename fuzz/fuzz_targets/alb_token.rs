//! ALB `x-amzn-oidc-data` parsing and verification (reference section 9) against a fixed
//! P-256 key: never panics; a token the parser accepts has header and payload objects; a
//! token the verifier accepts always carries a valid ES256 signature by the fixture key
//! over its first two segments exactly as received (checked with aws-lc directly), and its
//! `x-auth-claims` value is unpadded base64url.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tokengate::auth::{alb, Verifier};

static VERIFIER: OnceLock<Verifier> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = alb::parse(token) {
        assert!(token.starts_with(parsed.signing_input));
    }
    let verifier = VERIFIER.get_or_init(tokengate_fuzz::alb_verifier);
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if let Ok(verified) = verifier.verify_alb(token, now) {
        assert!(
            tokengate_fuzz::alb_signature_is_valid(token),
            "accepted an ALB token without a valid signature"
        );
        let claims = verified.identity.claims.as_bytes();
        assert!(!claims.contains(&b'='), "x-auth-claims kept the padding");
    }
});
