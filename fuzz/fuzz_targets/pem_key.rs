//! ALB key server answers (reference section 9): `parse_alb_key` never panics on any body,
//! and accepts only one PEM `PUBLIC KEY` block holding a P-256 key, which then verifies
//! nothing it did not sign (a fixed message and a zero signature are refused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::jwks::pem::parse_alb_key;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = parse_alb_key("2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", data) {
        let text = std::str::from_utf8(data).expect("an accepted key is text");
        assert_eq!(text.matches("-----BEGIN PUBLIC KEY-----").count(), 1);
        let parsed = key.parsed.as_ref().expect("an ALB key is parsed once");
        assert!(parsed.verify_sig(b"fuzz", &[0u8; 64]).is_err());
    }
});
