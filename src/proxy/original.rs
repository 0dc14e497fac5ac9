//! The original request of an authz-mode check: its method and origin-form URI, recovered
//! from `X-Forwarded-Method`, `X-Forwarded-Uri` / `X-Original-URI` or the check's own path
//! (reference section 5). Pure and synchronous: the caller turns an `OriginalError` into a refusal.

use std::str::FromStr;

use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderName, Method};

/// The original method (Traefik ForwardAuth, Caddy `forward_auth`).
pub const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
/// The original URI (Traefik ForwardAuth, Caddy `forward_auth`); wins over `X-Original-URI`.
pub const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
/// The original URI (nginx `auth_request`).
pub const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");

/// Why the original request could not be recovered from a check request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OriginalError {
    #[error("forwarded method header repeated or not a method")]
    Method,
    #[error("forwarded URI header repeated or not an origin-form URI")]
    Uri,
    /// `X-Forwarded-Uri` and `X-Original-URI` both present and different: which one the
    /// gateway meant cannot be known (a client may have added one).
    #[error("conflicting original URI headers")]
    ConflictingUri,
    /// A `#` in the original URI: a fragment never reaches a server, so one that does was
    /// put there to make the path tokengate judges differ from the one the upstream serves.
    #[error("original URI holds a fragment")]
    Fragment,
    #[error("check path outside authz.path_prefix")]
    OutsidePrefix,
    #[error("more headers than a request may carry")]
    TooManyHeaders,
}

impl OriginalError {
    /// The refusal's `error_description`: a fixed text naming the header at fault.
    pub fn description(self) -> &'static str {
        match self {
            OriginalError::Method => "bad X-Forwarded-Method",
            OriginalError::Uri => "bad X-Forwarded-Uri or X-Original-URI",
            OriginalError::ConflictingUri => "conflicting original URI headers",
            OriginalError::Fragment => "original URI holds a fragment (#)",
            OriginalError::OutsidePrefix => "check path outside authz.path_prefix",
            OriginalError::TooManyHeaders => "too many headers",
        }
    }
}

/// The request the gateway is asking about.
#[derive(Debug, PartialEq, Eq)]
pub struct Original {
    pub method: Method,
    /// Origin form: path and optional query, never scheme or authority.
    pub uri: PathAndQuery,
}

/// At most one value; two values of a header that decides access are an attack or a bug.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a [u8]>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v.as_bytes())),
        (Some(_), Some(_)) => Err(()),
    }
}

/// Origin-form only (`/path?query`): an absolute URI or `*` could route differently, and a
/// `#` (which `PathAndQuery` would silently cut off with what follows it) is refused.
pub fn origin_form(bytes: &[u8]) -> Result<PathAndQuery, OriginalError> {
    if !bytes.starts_with(b"/") {
        return Err(OriginalError::Uri);
    }
    if bytes.contains(&b'#') {
        return Err(OriginalError::Fragment);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OriginalError::Uri)?;
    PathAndQuery::from_str(text).map_err(|_| OriginalError::Uri)
}

/// Reference section 5: the method from `X-Forwarded-Method`, else the request's; the URI
/// from `X-Forwarded-Uri`, else `X-Original-URI`, else the request's path and query with
/// `path_prefix` removed (whole segments only). Both URI headers present with different
/// bytes -> [`OriginalError::ConflictingUri`]; a `#` -> [`OriginalError::Fragment`].
pub fn original(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    path_prefix: &str,
) -> Result<Original, OriginalError> {
    let method = match single(headers, &X_FORWARDED_METHOD).map_err(|()| OriginalError::Method)? {
        Some(bytes) => Method::from_bytes(bytes).map_err(|_| OriginalError::Method)?,
        None => method.clone(),
    };
    let forwarded = single(headers, &X_FORWARDED_URI).map_err(|()| OriginalError::Uri)?;
    let original = single(headers, &X_ORIGINAL_URI).map_err(|()| OriginalError::Uri)?;
    if let (Some(a), Some(b)) = (forwarded, original) {
        if a != b {
            return Err(OriginalError::ConflictingUri);
        }
    }
    let uri = match forwarded.or(original) {
        Some(bytes) => origin_form(bytes)?,
        None => {
            let path = uri.path();
            let rest = path
                .strip_prefix(path_prefix)
                .filter(|rest| path_prefix.is_empty() || rest.is_empty() || rest.starts_with('/'))
                .ok_or(OriginalError::OutsidePrefix)?;
            let rest = if rest.is_empty() { "/" } else { rest };
            let text = match uri.query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            origin_form(text.as_bytes())?
        }
    };
    Ok(Original { method, uri })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), v.parse()) {
                map.append(k, v);
            }
        }
        map
    }

    fn run(
        uri: &str,
        pairs: &[(&str, &str)],
        prefix: &str,
    ) -> Result<(String, String), OriginalError> {
        let uri: http::Uri = uri.parse().map_err(|_| OriginalError::Uri)?;
        original(&Method::GET, &uri, &headers(pairs), prefix)
            .map(|o| (o.method.to_string(), o.uri.to_string()))
    }

    fn ok(method: &str, uri: &str) -> Result<(String, String), OriginalError> {
        Ok((method.to_owned(), uri.to_owned()))
    }

    #[test]
    fn forwarded_headers_win_in_spec_order() {
        let same = [("x-forwarded-uri", "/a?x=1"), ("x-original-uri", "/a?x=1")];
        assert_eq!(run("/auth", &same, ""), ok("GET", "/a?x=1"));
        assert_eq!(
            run("/auth", &[("x-original-uri", "/b/c?d")], ""),
            ok("GET", "/b/c?d")
        );
        let traefik = [
            ("x-forwarded-method", "DELETE"),
            ("x-forwarded-uri", "/admin/1"),
        ];
        assert_eq!(run("/", &traefik, ""), ok("DELETE", "/admin/1"));
    }

    #[test]
    fn without_headers_the_path_minus_the_prefix_is_the_original() {
        assert_eq!(
            run("/ext/admin/x?q=1", &[], "/ext"),
            ok("GET", "/admin/x?q=1")
        );
        assert_eq!(run("/ext", &[], "/ext"), ok("GET", "/"));
        assert_eq!(run("/admin/x", &[], ""), ok("GET", "/admin/x"));
        assert_eq!(
            run("/extra/admin", &[], "/ext"),
            Err(OriginalError::OutsidePrefix)
        );
        assert_eq!(
            run("/other", &[], "/ext"),
            Err(OriginalError::OutsidePrefix)
        );
    }

    #[test]
    fn conflicting_uri_headers_and_fragments_are_refused() {
        // oauth2-proxy CVE-2026-40575's class: a client-added header must not pick the path.
        let both = [
            ("x-forwarded-uri", "/public"),
            ("x-original-uri", "/admin/secret"),
        ];
        assert_eq!(run("/auth", &both, ""), Err(OriginalError::ConflictingUri));
        let case = [("x-forwarded-uri", "/Admin"), ("x-original-uri", "/admin")];
        assert_eq!(run("/auth", &case, ""), Err(OriginalError::ConflictingUri));
        for header in ["x-forwarded-uri", "x-original-uri"] {
            for bad in ["/public#/../admin", "/admin#", "/a?x=1#frag"] {
                assert_eq!(
                    run("/", &[(header, bad)], ""),
                    Err(OriginalError::Fragment),
                    "{header}: {bad}"
                );
            }
        }
    }

    #[test]
    fn repeated_or_malformed_forwarded_values_are_refused() {
        let two = [
            ("x-forwarded-uri", "/public"),
            ("x-forwarded-uri", "/admin"),
        ];
        assert_eq!(run("/", &two, ""), Err(OriginalError::Uri));
        let two = [
            ("x-forwarded-method", "GET"),
            ("x-forwarded-method", "POST"),
        ];
        assert_eq!(run("/", &two, ""), Err(OriginalError::Method));
        for bad in ["http://evil/admin", "*", "admin", ""] {
            assert_eq!(
                run("/", &[("x-forwarded-uri", bad)], ""),
                Err(OriginalError::Uri),
                "{bad}"
            );
        }
        assert_eq!(
            run("/", &[("x-forwarded-method", "GE T")], ""),
            Err(OriginalError::Method)
        );
    }
}
