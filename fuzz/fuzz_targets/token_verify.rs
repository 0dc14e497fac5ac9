//! Token parsing and verification against a fixed key set: never panics, and a token the
//! verifier accepts always carries a valid RS256 signature by the fixture key (checked with
//! aws-lc directly), whatever the mutation did to its header, payload or encoding.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tokengate::auth::Verifier;

static VERIFIER: OnceLock<Verifier> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = VERIFIER.get_or_init(tokengate_fuzz::verifier);
    // A fixed "now" inside the seed tokens' lifetime, so valid seeds stay valid.
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if verifier.verify(token, now).is_ok() {
        assert!(
            tokengate_fuzz::signature_is_valid(token),
            "accepted a token without a valid signature"
        );
    }
});
