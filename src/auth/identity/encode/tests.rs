//! The encoding of reference section 5, "Identity header values": its examples one by one, then
//! properties over arbitrary claims (valid header, exact round trip).

use bytes::BytesMut;
use http::HeaderValue;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn enc(claim: &Value) -> Vec<u8> {
    encode(claim).expect("not null").to_vec()
}

#[test]
fn plain_printable_text_is_unchanged() {
    for text in [
        "alice",
        "sub-1 x",
        "a@example.com",
        "openid orders/read",
        "~!\"#$&'()*+-./:;<=>?@[\\]^_`{|}",
    ] {
        assert_eq!(enc(&json!(text)), text.as_bytes(), "{text}");
    }
}

#[test]
fn percent_and_control_characters_are_escaped_in_upper_case_hex() {
    let cases: [(&str, &[u8]); 8] = [
        ("50%", b"50%25"),
        ("a\nb", b"a%0Ab"),
        ("a\r\nx-auth-sub: root", b"a%0D%0Ax-auth-sub: root"),
        ("\t", b"%09"),
        ("\0", b"%00"),
        ("\x1f", b"%1F"),
        ("\x7f", b"%7F"),
        ("%25", b"%2525"),
    ];
    for (text, encoded) in cases {
        assert_eq!(enc(&json!(text)), encoded, "{text:?}");
    }
}

#[test]
fn non_ascii_text_stays_raw_utf8() {
    assert_eq!(enc(&json!("Zoë")), "Zoë".as_bytes());
    assert_eq!(enc(&json!("Zoë")), b"Zo\xC3\xAB");
    assert_eq!(enc(&json!("東京\u{2028}")), "東京\u{2028}".as_bytes());
}

#[test]
fn a_comma_is_literal_in_a_single_value_and_escaped_in_a_list() {
    assert_eq!(enc(&json!("sales,emea")), b"sales,emea");
    assert_eq!(enc(&json!(["sales,emea", "users"])), b"sales%2Cemea,users");
    assert_eq!(enc(&json!(["a,b", "c"])), b"a%2Cb,c");
    assert_eq!(enc(&json!(["50%", "x\ny"])), b"50%25,x%0Ay");
    assert_eq!(enc(&json!([])), b"");
}

#[test]
fn numbers_and_booleans_are_their_json_text() {
    assert_eq!(enc(&json!(5)), b"5");
    assert_eq!(enc(&json!(-1.5)), b"-1.5");
    // serde_json's text for the number, as `verify` prints it.
    assert_eq!(enc(&json!(1e300)), b"1e+300");
    assert_eq!(enc(&json!(true)), b"true");
    assert_eq!(enc(&json!(false)), b"false");
}

#[test]
fn null_has_no_header() {
    assert!(encode(&Value::Null).is_none());
    assert!(header_value(&Value::Null).is_none());
    let mut out = BytesMut::new();
    assert!(!push_claim(&mut out, &Value::Null));
    assert!(out.is_empty());
}

#[test]
fn an_object_is_its_compact_json_escaped() {
    assert_eq!(
        enc(&json!({"a": [1, 2], "k": "v,w"})),
        br#"{"a":[1,2],"k":"v,w"}"#
    );
    // serde_json writes a newline inside a string as `\n` (two printable bytes); `%` and
    // 0x7F are left to the encoder.
    assert_eq!(
        enc(&json!({"k": "a\nb 5% \u{7f} Zoë"})),
        r#"{"k":"a\nb 5%25 %7F Zoë"}"#.as_bytes()
    );
}

#[test]
fn list_elements_that_are_not_strings_are_their_json_text_escaped() {
    assert_eq!(
        enc(&json!([1, true, null, {"a": [1, 2]}, ["x", "y"], "z"])),
        br#"1,true,null,{"a":[1%2C2]},["x"%2C"y"],z"#
    );
}

#[test]
fn header_values_carry_the_encoded_bytes() {
    let value = header_value(&json!(["sales,emea", "users"])).unwrap();
    assert_eq!(value.as_bytes(), b"sales%2Cemea,users");
    let value = header_value(&json!("Zoë\t1")).unwrap();
    assert_eq!(value.as_bytes(), "Zoë%091".as_bytes());
}

#[test]
fn decode_splits_a_list_and_percent_decodes_each_element() {
    assert_eq!(
        decode(b"sales%2Cemea,users").unwrap(),
        ["sales,emea", "users"]
    );
    assert_eq!(decode(b"a,,b").unwrap(), ["a", "", "b"]);
    assert_eq!(decode(b"").unwrap(), Vec::<String>::new());
    assert_eq!(
        decode(b"50%25,%0a").unwrap(),
        ["50%", "\n"],
        "lower-case hex"
    );
    assert_eq!(decode("Zo\u{eb}".as_bytes()).unwrap(), ["Zoë"]);
    assert_eq!(decode_text(b"sales,emea%0A").unwrap(), "sales,emea\n");
}

#[test]
fn decode_refuses_bad_escapes_and_bytes_that_are_not_utf8() {
    assert_eq!(decode_text(b"%"), Err(DecodeError::BadEscape { at: 0 }));
    assert_eq!(decode_text(b"ab%4"), Err(DecodeError::BadEscape { at: 2 }));
    assert_eq!(decode_text(b"%zz"), Err(DecodeError::BadEscape { at: 0 }));
    assert_eq!(decode(b"ok,x%g1"), Err(DecodeError::BadEscape { at: 4 }));
    assert_eq!(decode_text(b"%C3"), Err(DecodeError::NotUtf8));
}

// Properties. Characters are drawn so that the ones the rule is about (controls, DEL, `%`,
// `,`, non-ASCII) are frequent, not just possible.

fn claim_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec!['%', ',', '\t', '\n', '\r', '\0', '\x7f', '\x1b', 'ë', '"', '\\', ' ']),
        2 => prop::char::range('\0', '\x7f'),
    ]
}

fn claim_text() -> impl Strategy<Value = String> {
    prop::collection::vec(claim_char(), 0..16).prop_map(|chars| chars.into_iter().collect())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => claim_text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn claim() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(claim_text(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A claim that is a single value but not a string: its header is its JSON text.
fn number_bool_or_object() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => prop::collection::btree_map(claim_text(), claim(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ]
}

/// An element's text as the rule defines it: a string is itself, anything else its JSON.
fn element_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

proptest! {
    // About 6,000 cases in all: a few seconds in a debug build.
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_claim_encodes_to_a_valid_header(v in claim()) {
        match encode(&v) {
            None => prop_assert!(v.is_null()),
            Some(bytes) => {
                prop_assert!(HeaderValue::from_bytes(&bytes).is_ok(), "{:?}", bytes);
                prop_assert!(std::str::from_utf8(&bytes).is_ok());
                prop_assert!(!bytes.iter().any(|&b| b < 0x20 || b == 0x7f));
                let value = header_value(&v).unwrap();
                prop_assert_eq!(value.as_bytes(), &bytes[..]);
            }
        }
    }

    #[test]
    fn a_string_claim_round_trips_exactly(s in claim_text()) {
        let bytes = encode(&Value::String(s.clone())).unwrap();
        prop_assert_eq!(decode_text(&bytes).unwrap(), s);
    }

    #[test]
    fn a_list_round_trips_to_its_element_texts(items in prop::collection::vec(claim(), 0..5)) {
        let bytes = encode(&Value::Array(items.clone())).unwrap();
        let texts: Vec<String> = items.iter().map(element_text).collect();
        let decoded = decode(&bytes).unwrap();
        if texts == [""] {
            // The one documented ambiguity: `[""]` and `[]` are both the empty value.
            prop_assert!(decoded.is_empty());
        } else {
            prop_assert_eq!(decoded, texts);
        }
    }

    #[test]
    fn a_list_of_strings_round_trips(items in prop::collection::vec(claim_text(), 1..6)) {
        prop_assume!(items != [""]);
        let bytes = encode(&json!(items)).unwrap();
        prop_assert_eq!(decode(&bytes).unwrap(), items);
    }

    #[test]
    fn any_other_claim_decodes_to_its_json_text(v in number_bool_or_object()) {
        let bytes = encode(&v).unwrap();
        prop_assert_eq!(decode_text(&bytes).unwrap(), v.to_string());
    }

    #[test]
    fn plain_text_is_never_changed(s in "[ -$&-+\\--~]{0,32}") {
        prop_assert_eq!(&encode(&Value::String(s.clone())).unwrap()[..], s.as_bytes());
    }
}
