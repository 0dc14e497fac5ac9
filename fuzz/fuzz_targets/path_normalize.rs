//! Path normalization (reference section 5): never panics; what it accepts is idempotent and
//! holds no `..` or `.` segment, no `//`, no encoded slash or backslash, no `;`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate::proxy::path::normalize;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(normalized) = normalize(path) else {
        return;
    };
    assert_eq!(normalize(&normalized).as_deref(), Ok(normalized.as_str()), "not idempotent");
    assert!(normalized.starts_with('/'), "{normalized:?}");
    assert!(!normalized.contains("//"), "{normalized:?}");
    for segment in normalized.split('/') {
        assert!(segment != "." && segment != "..", "{normalized:?}");
    }
    let upper = normalized.to_ascii_uppercase();
    for banned in ["%2F", "%5C", "%00", "\\", ";"] {
        assert!(!upper.contains(banned), "{normalized:?} holds {banned}");
    }
});
