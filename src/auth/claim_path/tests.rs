//! Tests of claim naming (top-level names, RFC 6901 pointers) and matching (reference
//! section 3.7).

use serde_json::json;

use super::*;

fn payload() -> Map<String, Value> {
    json!({
        "custom:tenant": "acme",
        "cognito:groups": ["admin", "us-east-1_Abc_Google"],
        "a/b": "slash", "m~n": "tilde", "": "empty name",
        "level": 5, "ratio": 2.5, "big": 18446744073709551615u64, "neg": -3,
        "beta": true, "off": false, "gone": null,
        "mixed": ["x", 7, false, null, {"k": "v"}, ["nested"]],
        "obj": {"k": "v", "0": "zero-key", "x/y": "xy", "p~q": "pq"},
        "identities": [{"userId": "1026", "providerName": "Google", "providerType": "Google",
                        "issuer": null, "primary": "true", "dateCreated": "1682704282933"}],
    })
    .as_object()
    .unwrap()
    .clone()
}

fn path(text: &str) -> ClaimPath {
    ClaimPath::parse(text).unwrap()
}

fn accepted(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn is_match(name: &str, values: &[&str]) -> bool {
    let p = payload();
    matches(path(name).lookup(&p), &accepted(values))
}

#[test]
fn a_name_without_a_leading_slash_is_a_top_level_claim_taken_literally() {
    let p = payload();
    assert_eq!(path("custom:tenant").lookup(&p), Some(&json!("acme")));
    assert!(!path("custom:tenant").is_pointer());
    // `~` and `/` inside a plain name are not escapes.
    assert_eq!(path("m~n").lookup(&p), Some(&json!("tilde")));
    assert_eq!(path("a/b").lookup(&p), Some(&json!("slash")));
    assert_eq!(path("nope").lookup(&p), None);
}

#[test]
fn a_pointer_walks_objects_and_arrays() {
    let p = payload();
    assert!(path("/identities/0/providerName").is_pointer());
    assert_eq!(
        path("/identities/0/providerName").lookup(&p),
        Some(&json!("Google"))
    );
    assert_eq!(path("/identities/0/issuer").lookup(&p), Some(&Value::Null));
    assert_eq!(path("/obj/k").lookup(&p), Some(&json!("v")));
    assert_eq!(path("/custom:tenant").lookup(&p), Some(&json!("acme")));
    assert_eq!(
        path("/cognito:groups/1").lookup(&p),
        Some(&json!("us-east-1_Abc_Google"))
    );
    // A digit token on an object is a member name.
    assert_eq!(path("/obj/0").lookup(&p), Some(&json!("zero-key")));
    // "/" names the member "" (RFC 6901 section 5).
    assert_eq!(path("/").lookup(&p), Some(&json!("empty name")));
}

#[test]
fn pointer_escapes_are_unescaped_once_tilde_one_first_then_tilde_zero() {
    let p = payload();
    assert_eq!(path("/a~1b").lookup(&p), Some(&json!("slash")));
    assert_eq!(path("/m~0n").lookup(&p), Some(&json!("tilde")));
    assert_eq!(path("/obj/x~1y").lookup(&p), Some(&json!("xy")));
    assert_eq!(path("/obj/p~0q").lookup(&p), Some(&json!("pq")));
    // `~01` is `~1` as text, not `/`.
    let mut p = p;
    p.insert("~1".into(), json!("literal"));
    assert_eq!(path("/~01").lookup(&p), Some(&json!("literal")));
}

#[test]
fn array_steps_need_a_canonical_index_within_the_array() {
    let p = payload();
    for absent in [
        "/identities/1/providerName",
        "/identities/-/providerName",
        "/identities/00/providerName",
        "/identities/01/providerName",
        "/identities/+0/providerName",
        "/identities/providerName",
        "/identities/99999999999999999999999/providerName",
        "/custom:tenant/0",
        "/level/0",
        "/identities/0/providerName/x",
        "/missing/0",
    ] {
        assert_eq!(path(absent).lookup(&p), None, "{absent}");
    }
}

#[test]
fn a_bad_escape_is_refused_with_its_offset() {
    assert_eq!(
        ClaimPath::parse("/a~2b"),
        Err(ClaimPathError::BadEscape { at: 2 })
    );
    assert_eq!(
        ClaimPath::parse("/ok/tail~"),
        Err(ClaimPathError::BadEscape { at: 8 })
    );
    assert_eq!(ClaimPath::parse(""), Err(ClaimPathError::Empty));
    // Outside a pointer, `~` is just a character.
    assert!(ClaimPath::parse("a~2b").is_ok());
}

#[test]
fn strings_match_by_equal_text_only() {
    assert!(is_match("custom:tenant", &["globex", "acme"]));
    assert!(!is_match("custom:tenant", &["Acme"]));
    assert!(!is_match("custom:tenant", &["acme "]));
}

#[test]
fn numbers_and_booleans_match_their_json_text() {
    assert!(is_match("level", &["5"]));
    assert!(!is_match("level", &["5.0"]));
    assert!(is_match("ratio", &["2.5"]));
    assert!(is_match("neg", &["-3"]));
    assert!(is_match("big", &["18446744073709551615"]));
    assert!(is_match("beta", &["true"]));
    assert!(!is_match("beta", &["false"]));
    assert!(is_match("off", &["false"]));
    // A string claim "true" matches the configured text true, as a boolean would.
    assert!(is_match("/identities/0/primary", &["true"]));
}

#[test]
fn an_array_matches_when_any_scalar_element_does() {
    assert!(is_match("cognito:groups", &["admin"]));
    assert!(!is_match("cognito:groups", &["dev"]));
    assert!(is_match("mixed", &["7"]));
    assert!(is_match("mixed", &["false"]));
    assert!(is_match("mixed", &["x"]));
    // Nested arrays and objects inside an array are not searched.
    assert!(!is_match("mixed", &["nested"]));
    assert!(!is_match("mixed", &["v"]));
    assert!(!is_match("mixed", &["null"]));
}

#[test]
fn objects_null_and_absent_claims_never_match() {
    assert!(!is_match("obj", &["v", "{\"k\":\"v\"}"]));
    assert!(!is_match("gone", &["null", ""]));
    assert!(!is_match("/identities/0/issuer", &["null"]));
    assert!(!is_match("absent", &["", "null"]));
    assert!(!is_match("identities", &["Google"]));
}

#[test]
fn every_number_serde_json_prints_fits_the_stack_buffer() {
    for n in [
        json!(f64::MIN_POSITIVE),
        json!(-f64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(-1.234_567_890_123_456_7e-300),
    ] {
        let text = n.to_string();
        assert!(matches(Some(&n), std::slice::from_ref(&text)), "{text}");
    }
}
