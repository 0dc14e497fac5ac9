//! The authz original-request parser (reference section 5): never panics on any header
//! bytes; when it accepts a forwarded URI, the URI it judges is byte for byte the one the
//! gateway sent (no decoding, no fragment cut off).
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use tokengate::proxy::original::original;

fuzz_target!(|data: &[u8]| {
    // method \0 forwarded-uri \0 original-uri \0 request-path \0 prefix
    let mut parts = data.split(|b| *b == 0);
    let method = parts.next().unwrap_or_default();
    let forwarded = parts.next();
    let original_uri = parts.next();
    let path = parts.next().unwrap_or(b"/");
    let prefix = parts.next().and_then(|p| std::str::from_utf8(p).ok()).unwrap_or("");
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: Option<&[u8]>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(HeaderName::from_static(name), v);
            }
        }
    };
    put("x-forwarded-method", Some(method));
    put("x-forwarded-uri", forwarded);
    put("x-original-uri", original_uri);
    let Ok(uri) = Uri::try_from(path) else {
        return;
    };
    let sent = headers
        .get("x-forwarded-uri")
        .or_else(|| headers.get("x-original-uri"))
        .map(|v| v.as_bytes().to_vec());
    if let Ok(o) = original(&Method::GET, &uri, &headers, prefix) {
        if let Some(sent) = sent {
            assert_eq!(o.uri.as_str().as_bytes(), sent.as_slice(), "URI reinterpreted");
            assert!(!sent.contains(&b'#'));
        }
    }
});
