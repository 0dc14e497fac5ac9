//! Property tests of the authz original-URI parsing (`X-Forwarded-Uri` / `X-Original-URI`,
//! `proxy::original`) and of the path normalization that routing then judges: no input
//! makes either panic; an accepted value's path is byte for byte the path part the gateway
//! sent (its query the query part), and the normalized path is that path's own segments,
//! in order, with only unreserved escapes decoded and dot segments resolved: no decoding
//! that could merge, split or invent a segment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use tokengate::proxy::original::{origin_form, original, X_FORWARDED_URI, X_ORIGINAL_URI};
use tokengate::proxy::path::normalize;

/// Pieces that hit the interesting cases: dot segments, escapes of `/`, `\`, NUL, `.`,
/// unreserved and reserved characters, bad escapes, delimiters, non-ASCII.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        Just("//".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%2f".to_owned()),
        Just("%5C".to_owned()),
        Just("%00".to_owned()),
        Just("%41".to_owned()),
        Just("%7e".to_owned()),
        Just("%3a".to_owned()),
        Just("%25".to_owned()),
        Just("%".to_owned()),
        Just("%g1".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(";".to_owned()),
        Just("\\".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("é".to_owned()),
        "[a-zA-Z0-9_~-]{1,4}",
    ]
}

/// A URI-ish value: usually starting with `/`, built from [`piece`]s.
fn uri_like() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.9),
        prop::collection::vec(piece(), 0..16),
    )
        .prop_map(|(slash, pieces)| {
            let mut s = if slash { "/".to_owned() } else { String::new() };
            s.extend(pieces);
            s
        })
}

/// Where the path part of a value ends: its first `?` or `#`.
fn path_end(v: &str) -> usize {
    v.find(['?', '#']).unwrap_or(v.len())
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// One raw segment as routing must see it: unreserved escapes decoded, other escapes
/// upper-cased; `None` when the segment must be refused (escaped `/`, `\` or NUL, a bad
/// escape, `;`, `\`, a control, space, non-ASCII, `?`, `#`).
fn canonical_segment(raw: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex)?;
                let lo = raw.get(i + 2).copied().and_then(hex)?;
                let d = hi * 16 + lo;
                if d == b'/' || d == b'\\' || d == 0 {
                    return None;
                }
                if d.is_ascii_alphanumeric() || matches!(d, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(d));
                } else {
                    out.push_str(&format!("%{d:02X}"));
                }
                i += 3;
            }
            b';' | b'\\' | b'?' | b'#' => return None,
            b if b <= 0x20 || b >= 0x7f => return None,
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    Some(out)
}

/// The normalized path, computed the plain way: each raw segment canonicalized on its own,
/// then RFC 3986 `remove_dot_segments` with empty segments merged and a trailing slash kept.
fn reference(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let mut stack: Vec<String> = Vec::new();
    let mut trailing = false;
    for raw in rest.split('/') {
        let seg = canonical_segment(raw.as_bytes())?;
        match seg.as_str() {
            "" | "." => trailing = true,
            ".." => {
                stack.pop();
                trailing = true;
            }
            _ => {
                stack.push(seg);
                trailing = false;
            }
        }
    }
    let mut out = String::new();
    for seg in &stack {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() || trailing {
        out.push('/');
    }
    Some(out)
}

fn headers(name: HeaderName, value: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut map = HeaderMap::new();
    map.insert(name, value);
    Some(map)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn origin_form_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = origin_form(&bytes);
    }

    #[test]
    fn original_never_panics_on_arbitrary_header_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        forwarded in any::<bool>(),
        prefix in "(/[a-z]{0,3}){0,2}",
    ) {
        let name = if forwarded { X_FORWARDED_URI } else { X_ORIGINAL_URI };
        if let Some(map) = headers(name, &bytes) {
            let _ = original(&Method::GET, &Uri::from_static("/auth"), &map, &prefix);
        }
    }

    #[test]
    fn an_accepted_value_keeps_the_path_and_query_the_gateway_sent(v in uri_like()) {
        let Ok(pq) = origin_form(v.as_bytes()) else { return Ok(()) };
        let end = path_end(&v);
        prop_assert_eq!(pq.path(), &v[..end], "path of {:?}", v);
        if !v.contains('#') {
            let query = v.find('?').map(|q| &v[q + 1..]);
            prop_assert_eq!(pq.query(), query, "query of {:?}", v);
        }
        // Both headers lead to the same original URI.
        for name in [X_FORWARDED_URI, X_ORIGINAL_URI] {
            let map = headers(name, v.as_bytes()).unwrap();
            let o = original(&Method::GET, &Uri::from_static("/auth"), &map, "").unwrap();
            prop_assert_eq!(o.uri.path(), pq.path());
        }
    }

    #[test]
    fn the_judged_path_is_the_sent_segments_with_no_other_decoding(v in uri_like()) {
        let Ok(pq) = origin_form(v.as_bytes()) else { return Ok(()) };
        let judged = normalize(pq.path());
        let expected = reference(pq.path());
        match (&judged, &expected) {
            (Ok(n), Some(e)) => {
                prop_assert_eq!(n, e, "normalize({:?})", pq.path());
                let again = normalize(n);
                prop_assert_eq!(again.as_ref(), Ok(n), "idempotent");
            }
            (Err(_), None) => {}
            _ => prop_assert!(false, "normalize({:?}) = {:?}, expected {:?}", pq.path(), judged, expected),
        }
    }

    #[test]
    fn normalize_never_panics_and_refuses_or_yields_a_clean_path(s in "\\PC{0,64}") {
        if let Ok(n) = normalize(&s) {
            prop_assert!(n.starts_with('/'));
            prop_assert!(!n.contains("//"), "{:?} -> {:?}", s, n);
            prop_assert!(n.split('/').all(|seg| seg != "." && seg != ".."), "{:?} -> {:?}", s, n);
            prop_assert!(!n.to_ascii_uppercase().contains("%2F"), "{:?} -> {:?}", s, n);
            let expected = reference(&s);
            prop_assert_eq!(expected.as_ref(), Some(&n));
        }
    }
}
