//! JWKS documents from a hostile endpoint: never panics; every key kept has a kid, and
//! kids are unique.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::jwks::parse_jwks;

fuzz_target!(|data: &[u8]| {
    if let Ok((keys, _skipped)) = parse_jwks(data) {
        let mut kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        let n = kids.len();
        kids.sort_unstable();
        kids.dedup();
        assert_eq!(kids.len(), n, "duplicate kid kept");
    }
});
