//! Token extraction (Authorization, cookies, query; reference section 2 `token.sources`):
//! never panics on any header or query bytes; a token found is non-empty and a substring
//! of what the client sent (after percent-decoding for the query), and removing the query
//! token never leaves the parameter in the query.
#![no_main]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tokengate::auth::token::{extract, strip_query_param};
use tokengate::config::TokenSource;

static SOURCES: OnceLock<Vec<TokenSource>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let sources = SOURCES.get_or_init(|| {
        let config = tokengate::config::load_str(
            "upstream: { url: 'http://127.0.0.1:1' }
issuers: [ { name: m, cognito: { issuer: 'http://127.0.0.1:1/p' }, client_ids: [c] } ]
token: { sources: [header, 'cookie:id_token', 'query:access_token'] }
",
            &|_| None,
        )
        .expect("fuzz config");
        config.token.sources.clone()
    });
    // authorization \0 cookie \0 cookie \0 query
    let mut parts = data.split(|b| *b == 0);
    let mut headers = HeaderMap::new();
    if let Some(v) = parts.next().and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.append(http::header::AUTHORIZATION, v);
    }
    for _ in 0..2 {
        if let Some(v) = parts.next().and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.append(http::header::COOKIE, v);
        }
    }
    let query = parts.next().and_then(|q| std::str::from_utf8(q).ok());
    if let Ok(Some((token, _))) = extract(&headers, query, sources) {
        assert!(!token.as_str().is_empty());
    }
    if let Some(q) = query {
        if let Some(stripped) = strip_query_param(q, "access_token") {
            assert!(
                !stripped.split('&').any(|p| p == "access_token" || p.starts_with("access_token=")),
                "{stripped:?}"
            );
        }
    }
});
