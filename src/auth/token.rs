//! Finding the token in a request (header, cookie, query), as a redacted newtype.
//! Runs per request on the request as received: no lock, no I/O, never logs a value.

use std::borrow::Cow;
use std::fmt;

use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;

use crate::config::TokenSource;

/// A raw token. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(len={})", self.0.len())
    }
}

/// Why the request is malformed as far as tokens go (400 `invalid_request`). `index` is the
/// index into `token.sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("more than one Authorization header")]
    DuplicateAuthorization,
    #[error("token cookie (source {index}) sent twice with different values")]
    AmbiguousCookie { index: usize },
    #[error("token query parameter (source {index}) sent more than once")]
    DuplicateQueryParameter { index: usize },
}

impl TokenError {
    /// The `error_description` of the 400 response.
    pub fn description(&self) -> &'static str {
        match self {
            TokenError::DuplicateAuthorization => "more than one Authorization header",
            TokenError::AmbiguousCookie { .. } => "token cookie sent twice with different values",
            TokenError::DuplicateQueryParameter { .. } => "token query parameter sent twice",
        }
    }
}

/// Looks for a token in `sources`, in order; the first source that is present decides, and
/// its index is returned with the token. Absent everywhere -> `Ok(None)`.
///
/// - header: `Authorization: Bearer <t>` (scheme case-insensitive). Another scheme, or
///   `Bearer` with nothing after it, counts as absent; two Authorization headers -> error
///   (checked when this source's turn comes).
/// - `cookie:NAME`: every `Cookie` header (HTTP/2 sends several) is read; an empty value
///   counts as absent; one surrounding pair of double quotes is removed; two different
///   non-empty values -> error (the same value twice is accepted).
/// - `query:NAME`: the raw query, names compared after percent-decoding (as
///   [`strip_query_param`] does, so an extracted token is always stripped); the value is
///   percent-decoded (`+` stays `+`, a bad escape stays as written); an empty value counts
///   as absent; two non-empty occurrences -> error.
///
/// A value that is not UTF-8 is passed on lossily: it is still "a token", and verification
/// refuses it as malformed (401) rather than the request silently counting as anonymous.
pub fn extract(
    headers: &HeaderMap,
    query: Option<&str>,
    sources: &[TokenSource],
) -> Result<Option<(Token, usize)>, TokenError> {
    for (index, source) in sources.iter().enumerate() {
        let found = match source {
            TokenSource::Header => from_authorization(headers)?,
            TokenSource::Cookie(name) => from_cookies(headers, name, index)?,
            TokenSource::Query(name) => match query {
                Some(query) => from_query(query, name, index)?,
                None => None,
            },
        };
        if let Some(token) = found {
            return Ok(Some((token, index)));
        }
    }
    Ok(None)
}

fn from_authorization(headers: &HeaderMap) -> Result<Option<Token>, TokenError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::DuplicateAuthorization);
    }
    let value = trim_ows(value.as_bytes());
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let credentials = trim_ows(rest);
    if credentials.is_empty() {
        return Ok(None);
    }
    Ok(Some(Token::new(text(credentials))))
}

/// Token bytes as text without copying (std's validation has an ASCII fast path that
/// `from_utf8_lossy` lacks); invalid UTF-8 is kept lossily and fails verification later.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn from_cookies(
    headers: &HeaderMap,
    name: &str,
    index: usize,
) -> Result<Option<Token>, TokenError> {
    let mut found: Option<&[u8]> = None;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let pair = trim_ows(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
            if key != name.as_bytes() {
                continue;
            }
            let value = unquote(value);
            if value.is_empty() {
                continue;
            }
            match found {
                Some(previous) if previous != value => {
                    return Err(TokenError::AmbiguousCookie { index });
                }
                _ => found = Some(value),
            }
        }
    }
    Ok(found.map(|v| Token::new(text(v))))
}

fn from_query(query: &str, name: &str, index: usize) -> Result<Option<Token>, TokenError> {
    let mut found: Option<&str> = None;
    for param in query.split('&') {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if value.is_empty() || !decoded_eq(key, name) {
            continue;
        }
        if found.is_some() {
            return Err(TokenError::DuplicateQueryParameter { index });
        }
        found = Some(value);
    }
    Ok(found.map(|v| match percent_decode(v) {
        Cow::Borrowed(b) => Token::new(text(b)),
        Cow::Owned(b) => Token::new(String::from_utf8_lossy(&b).into_owned()),
    }))
}

/// `query` without any `name` parameter (names compared after percent-decoding, as
/// [`extract`] does), every other parameter kept byte-for-byte and in order. `None` when
/// nothing remains.
pub fn strip_query_param(query: &str, name: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut first = true;
    for param in query.split('&') {
        let key = param.split_once('=').map_or(param, |(k, _)| k);
        if decoded_eq(key, name) {
            continue;
        }
        if !first {
            out.push('&');
        }
        out.push_str(param);
        first = false;
    }
    (!out.is_empty()).then_some(out)
}

/// Whether the percent-decoding of `raw` equals `expected`, without allocating.
fn decoded_eq(raw: &str, expected: &str) -> bool {
    let mut expected = expected.bytes();
    let raw = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let (byte, width) = decode_at(raw, i);
        if expected.next() != Some(byte) {
            return false;
        }
        i += width;
    }
    expected.next().is_none()
}

/// Percent-decodes leniently: a bad escape is kept as written.
fn percent_decode(raw: &str) -> Cow<'_, [u8]> {
    let bytes = raw.as_bytes();
    if !bytes.contains(&b'%') {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, width) = decode_at(bytes, i);
        out.push(byte);
        i += width;
    }
    Cow::Owned(out)
}

/// The byte at `i` after decoding, and how many input bytes it took (1 or 3).
fn decode_at(bytes: &[u8], i: usize) -> (u8, usize) {
    if bytes.get(i) == Some(&b'%') {
        let hi = bytes.get(i + 1).and_then(|&b| char::from(b).to_digit(16));
        let lo = bytes.get(i + 2).and_then(|&b| char::from(b).to_digit(16));
        if let (Some(hi), Some(lo)) = (hi, lo) {
            // Both are < 16, so the value fits a byte.
            return (u8::try_from(hi * 16 + lo).unwrap_or(b'%'), 3);
        }
    }
    (bytes.get(i).copied().unwrap_or(0), 1)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
    fn query_token_twice_is_rejected() {
        let map = HeaderMap::new();
        assert_eq!(
            extract(&map, Some("t=a&t=a"), &[query("t")]).unwrap_err(),
            TokenError::DuplicateQueryParameter { index: 0 }
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
            TokenError::DuplicateQueryParameter { index: 0 },
        ] {
            assert!(!e.description().is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
}
