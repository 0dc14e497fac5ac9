//! Tests of token extraction (header, cookie, query), query stripping and the redacted
//! `Debug`.

use http::{HeaderMap, HeaderValue};

use super::*;
use crate::config::TokenSource;

const HEADER: &[TokenSource] = &[TokenSource::Header];

fn cookie(name: &str) -> TokenSource {
    TokenSource::Cookie(name.to_owned())
}

fn query(name: &str) -> TokenSource {
    TokenSource::Query(name.to_owned())
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

fn token(result: Result<Option<(Token, usize)>, TokenError>) -> Option<(String, usize)> {
    result
        .unwrap()
        .map(|(token, index)| (token.as_str().to_owned(), index))
}

#[test]
fn bearer_header_is_extracted_with_any_scheme_case() {
    for value in [
        "Bearer abc.def.ghi",
        "bearer abc.def.ghi",
        "BEARER   abc.def.ghi  ",
    ] {
        let map = headers(&[("authorization", value)]);
        assert_eq!(
            token(extract(&map, None, HEADER)),
            Some(("abc.def.ghi".to_owned(), 0)),
            "{value}"
        );
    }
}

#[test]
fn other_scheme_or_empty_bearer_counts_as_absent() {
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Bearerabc", ""] {
        let map = headers(&[("authorization", value)]);
        assert_eq!(token(extract(&map, None, HEADER)), None, "{value:?}");
    }
}

#[test]
fn absent_header_falls_through_to_the_next_source() {
    let map = headers(&[("authorization", "Basic x"), ("cookie", "session=tok")]);
    let sources = [TokenSource::Header, cookie("session")];
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("tok".to_owned(), 1))
    );
}

#[test]
fn two_authorization_headers_are_rejected() {
    let map = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
    assert_eq!(
        extract(&map, None, HEADER).unwrap_err(),
        TokenError::DuplicateAuthorization
    );
}

#[test]
fn first_present_source_decides() {
    let map = headers(&[
        ("authorization", "Bearer from-header"),
        ("cookie", "t=from-cookie"),
    ]);
    let sources = [cookie("t"), TokenSource::Header];
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("from-cookie".to_owned(), 0))
    );
    let sources = [TokenSource::Header, cookie("t")];
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("from-header".to_owned(), 0))
    );
}

#[test]
fn cookie_is_found_across_several_cookie_headers() {
    let map = headers(&[("cookie", "a=1; b=2"), ("cookie", "id_token=tok;c=3")]);
    assert_eq!(
        token(extract(&map, None, &[cookie("id_token")])),
        Some(("tok".to_owned(), 0))
    );
}

#[test]
fn cookie_name_must_match_exactly() {
    let map = headers(&[("cookie", "xid_token=a; ID_TOKEN=b; id_token2=c")]);
    assert_eq!(token(extract(&map, None, &[cookie("id_token")])), None);
}

#[test]
fn same_cookie_with_different_values_is_rejected() {
    let map = headers(&[("cookie", "t=one"), ("cookie", "t=two")]);
    assert_eq!(
        extract(&map, None, &[TokenSource::Header, cookie("t")]).unwrap_err(),
        TokenError::AmbiguousCookie { index: 1 }
    );
}

#[test]
fn same_cookie_with_the_same_value_is_accepted() {
    let map = headers(&[("cookie", "t=one; t=one")]);
    assert_eq!(
        token(extract(&map, None, &[cookie("t")])),
        Some(("one".to_owned(), 0))
    );
}

#[test]
fn empty_cookie_counts_as_absent() {
    let map = headers(&[("cookie", "t=; other=x")]);
    assert_eq!(token(extract(&map, None, &[cookie("t")])), None);
    let map = headers(&[("cookie", "t=\"\"; t=real")]);
    assert_eq!(
        token(extract(&map, None, &[cookie("t")])),
        Some(("real".to_owned(), 0))
    );
}

#[test]
fn quoted_cookie_value_is_unquoted() {
    let map = headers(&[("cookie", "t=\"abc\"")]);
    assert_eq!(
        token(extract(&map, None, &[cookie("t")])),
        Some(("abc".to_owned(), 0))
    );
}

#[test]
fn query_token_is_found_and_percent_decoded() {
    let map = HeaderMap::new();
    let sources = [query("access_token")];
    assert_eq!(
        token(extract(
            &map,
            Some("a=1&access_token=ab%2Ecd&b=2"),
            &sources
        )),
        Some(("ab.cd".to_owned(), 0))
    );
    assert_eq!(
        token(extract(&map, Some("%61ccess_token=x"), &sources)),
        Some(("x".to_owned(), 0))
    );
    assert_eq!(
        token(extract(&map, Some("access_token=a%zz+b"), &sources)),
        Some(("a%zz+b".to_owned(), 0))
    );
}

#[test]
fn query_token_twice_with_different_values_is_rejected() {
    let map = HeaderMap::new();
    for q in ["t=a&t=b", "t=a&x=1&%74=b", "t=a&t=a&t=b"] {
        assert_eq!(
            extract(&map, Some(q), &[query("t")]).unwrap_err(),
            TokenError::AmbiguousQueryParameter { index: 0 },
            "{q}"
        );
    }
}

#[test]
fn query_token_twice_with_the_same_value_counts_once() {
    let map = HeaderMap::new();
    // Compared after decoding: `a.b` and `a%2Eb` are the same token.
    for q in ["t=a.b&t=a.b", "t=a.b&x=1&t=a%2Eb", "t=&t=a.b&t=a.b"] {
        assert_eq!(
            token(extract(&map, Some(q), &[query("t")])),
            Some(("a.b".to_owned(), 0)),
            "{q}"
        );
    }
}

#[test]
fn cookie_token_twice_counts_once_across_fields_and_quoting() {
    let map = headers(&[("cookie", "t=one"), ("cookie", "x=1; t=\"one\"")]);
    assert_eq!(
        token(extract(&map, None, &[cookie("t")])),
        Some(("one".to_owned(), 0))
    );
}

#[test]
fn empty_or_missing_query_token_counts_as_absent() {
    let map = HeaderMap::new();
    for q in ["t=", "t", "x=1", "tt=1", ""] {
        assert_eq!(token(extract(&map, Some(q), &[query("t")])), None, "{q}");
    }
    assert_eq!(token(extract(&map, None, &[query("t")])), None);
}

#[test]
fn no_sources_means_no_token() {
    let map = headers(&[("authorization", "Bearer a")]);
    assert_eq!(token(extract(&map, None, &[])), None);
}

#[test]
fn strip_query_param_removes_every_occurrence_and_keeps_the_rest_as_sent() {
    assert_eq!(
        strip_query_param("a=1&t=x&b=%2f+2&t=y", "t").as_deref(),
        Some("a=1&b=%2f+2")
    );
    assert_eq!(
        strip_query_param("%74=x&keep", "t").as_deref(),
        Some("keep")
    );
    assert_eq!(strip_query_param("a=1&&b", "t").as_deref(), Some("a=1&&b"));
    assert_eq!(strip_query_param("tt=1&t", "t").as_deref(), Some("tt=1"));
}

#[test]
fn strip_query_param_returns_none_when_nothing_remains() {
    assert_eq!(strip_query_param("t=x", "t"), None);
    assert_eq!(strip_query_param("t=x&t=", "t"), None);
    assert_eq!(strip_query_param("", "t"), None);
}

#[test]
fn token_debug_shows_only_the_length() {
    let token = Token::new("eyJhbGciOiJSUzI1NiJ9.secret.sig");
    let shown = format!("{token:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(!shown.contains("eyJ"), "{shown}");
    assert_eq!(shown, "Token(len=31)");
}

#[test]
fn every_error_has_a_description() {
    for e in [
        TokenError::DuplicateAuthorization,
        TokenError::AmbiguousCookie { index: 0 },
        TokenError::AmbiguousQueryParameter { index: 0 },
    ] {
        assert!(!e.description().is_empty());
        assert!(!e.to_string().is_empty());
    }
}

fn named(name: &'static str) -> TokenSource {
    TokenSource::NamedHeader(http::HeaderName::from_static(name))
}

#[test]
fn a_named_header_carries_the_raw_token_trimmed() {
    for value in ["abc.def.ghi", "  abc.def.ghi\t", "\tabc.def.ghi"] {
        let map = headers(&[("x-api-token", value)]);
        assert_eq!(
            token(extract(&map, None, &[named("x-api-token")])),
            Some(("abc.def.ghi".to_owned(), 0)),
            "{value:?}"
        );
    }
    // The whole value is the token: a scheme is not removed (verification refuses it).
    let map = headers(&[("x-api-token", "Bearer abc.def.ghi")]);
    assert_eq!(
        token(extract(&map, None, &[named("x-api-token")])),
        Some(("Bearer abc.def.ghi".to_owned(), 0))
    );
}

#[test]
fn an_empty_or_absent_named_header_falls_through_to_the_next_source() {
    let sources = [named("x-api-token"), TokenSource::Header];
    for map in [
        headers(&[("authorization", "Bearer t2")]),
        headers(&[("x-api-token", ""), ("authorization", "Bearer t2")]),
        headers(&[("x-api-token", "   "), ("authorization", "Bearer t2")]),
    ] {
        assert_eq!(
            token(extract(&map, None, &sources)),
            Some(("t2".to_owned(), 1))
        );
    }
    // Present: it decides, whatever follows.
    let map = headers(&[("x-api-token", "t1"), ("authorization", "Bearer t2")]);
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("t1".to_owned(), 0))
    );
}

#[test]
fn a_named_header_sent_twice_counts_once_when_equal_and_is_refused_when_different() {
    let sources = [TokenSource::Header, named("x-api-token")];
    let map = headers(&[("x-api-token", "t1"), ("x-api-token", " t1 ")]);
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("t1".to_owned(), 1))
    );
    let map = headers(&[
        ("x-api-token", "t1"),
        ("x-api-token", ""),
        ("x-api-token", "t1"),
    ]);
    assert_eq!(
        token(extract(&map, None, &sources)),
        Some(("t1".to_owned(), 1))
    );
    let map = headers(&[("x-api-token", "t1"), ("x-api-token", "t2")]);
    let e = extract(&map, None, &sources).unwrap_err();
    assert_eq!(e, TokenError::AmbiguousHeader { index: 1 });
    assert_eq!(
        e.description(),
        "token header sent twice with different values"
    );
}
