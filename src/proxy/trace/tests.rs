//! Request ids kept or replaced, and `traceparent` parsing and the child it makes.

use super::*;

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn a_sane_client_request_id_is_kept() {
    let t = RequestTrace::from_request(&headers(&[("x-request-id", b"abc-123_XYZ.9")]));
    assert_eq!(t.request_id, "abc-123_XYZ.9");
    let long = "a".repeat(MAX_REQUEST_ID);
    let t = RequestTrace::from_request(&headers(&[("x-request-id", long.as_bytes())]));
    assert_eq!(t.request_id, long.as_str());
}

#[test]
fn a_missing_or_unsane_request_id_is_replaced_by_32_hex_digits() {
    let too_long = "a".repeat(MAX_REQUEST_ID + 1);
    for bad in [
        headers(&[]),
        headers(&[("x-request-id", b"")]),
        headers(&[("x-request-id", b"has space")]),
        headers(&[("x-request-id", b"tab\there")]),
        headers(&[("x-request-id", "caf\u{e9}".as_bytes())]),
        headers(&[("x-request-id", too_long.as_bytes())]),
        headers(&[("x-request-id", b"one"), ("x-request-id", b"two")]),
    ] {
        let t = RequestTrace::from_request(&bad);
        let id = t.request_id_str();
        assert_eq!(id.len(), 32, "{bad:?}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    let a = RequestTrace::from_request(&headers(&[]));
    let b = RequestTrace::from_request(&headers(&[]));
    assert_ne!(a.request_id, b.request_id);
}

#[test]
fn a_valid_traceparent_is_continued_as_a_child() {
    let t = RequestTrace::from_request(&headers(&[("traceparent", PARENT.as_bytes())]));
    assert!(t.continued);
    assert_eq!(
        t.trace_id_hex().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(t.flags, 0x01);
    let sent = t.traceparent();
    let sent = sent.to_str().unwrap_or_default();
    assert_eq!(sent.len(), 55);
    assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(sent.ends_with("-01"));
    assert_ne!(&sent[36..52], "00f067aa0ba902b7", "a new parent-id");
    assert_eq!(&sent[36..52], t.span_id_hex().to_string());
    // Flags are kept, whatever they are.
    let unsampled = PARENT.replace("-01", "-00");
    let t = RequestTrace::from_request(&headers(&[("traceparent", unsampled.as_bytes())]));
    assert!(t
        .traceparent()
        .to_str()
        .unwrap_or_default()
        .ends_with("-00"));
}

#[test]
fn a_later_version_is_read_by_its_first_55_bytes() {
    let future = format!("{}-extra", PARENT.replacen("00", "01", 1));
    let p = parse_traceparent(future.as_bytes());
    assert_eq!(p.map(|p| p.flags), Some(0x01));
    let glued = format!("{}x", PARENT.replacen("00", "01", 1));
    assert_eq!(parse_traceparent(glued.as_bytes()), None);
}

#[test]
fn invalid_traceparents_start_a_new_trace() {
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ] {
        assert_eq!(parse_traceparent(bad.as_bytes()), None, "{bad}");
        let t = RequestTrace::from_request(&headers(&[("traceparent", bad.as_bytes())]));
        assert!(!t.continued, "{bad}");
        assert_ne!(t.trace_id, [0; 16]);
        assert_eq!(t.flags, 0x01);
    }
    let twice = headers(&[
        ("traceparent", PARENT.as_bytes()),
        ("traceparent", PARENT.as_bytes()),
    ]);
    assert!(!RequestTrace::from_request(&twice).continued);
}

#[test]
fn upstream_headers_replace_the_clients_and_tracestate_follows_only_a_continued_trace() {
    let mut map = headers(&[
        ("x-request-id", b"mine"),
        ("traceparent", PARENT.as_bytes()),
        ("tracestate", b"vendor=abc"),
    ]);
    let t = RequestTrace::from_request(&map);
    t.set_upstream(&mut map).unwrap();
    assert_eq!(map.get_all("x-request-id").iter().count(), 1);
    assert_eq!(map["x-request-id"], "mine");
    assert_eq!(map["traceparent"], t.traceparent());
    assert_eq!(map["tracestate"], "vendor=abc");

    let mut map = headers(&[("traceparent", b"garbage"), ("tracestate", b"vendor=abc")]);
    let t = RequestTrace::from_request(&map);
    t.set_upstream(&mut map).unwrap();
    assert!(!map.contains_key("tracestate"), "state of another trace");
    assert_eq!(map["traceparent"], t.traceparent());
}
