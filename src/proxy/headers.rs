//! Header hygiene (SPEC section 5): remove before add. Strips hop-by-hop, Connection-named and
//! identity-alias headers, then sets identity and X-Forwarded-* headers. Runs per request:
//! no lock, no I/O; header names are `const` or precomputed once in `HeaderRules::new`.

use std::net::IpAddr;

use http::header::{
    AUTHORIZATION, CONNECTION, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::{Map, Value};

use crate::auth::Identity;
use crate::config::{AuthorizationForward, ForwardConfig};

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Removed from requests and responses (RFC 9110 section 7.6.1, plus the legacy ones).
const HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// The header map is full (http's limit is 32768 entries; hyper refuses requests with far
/// fewer headers, so this is a guard, not an expected path). Maps to 400 `invalid_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("too many headers")]
    TooManyHeaders,
}

impl HeaderError {
    pub fn description(&self) -> &'static str {
        match self {
            HeaderError::TooManyHeaders => "too many headers",
        }
    }
}

/// The identity header names, precomputed from `forward.header_prefix`.
#[derive(Debug, Clone)]
struct IdentityNames {
    sub: HeaderName,
    username: HeaderName,
    email: HeaderName,
    groups: HeaderName,
    scope: HeaderName,
    client_id: HeaderName,
    token_use: HeaderName,
    issuer: HeaderName,
}

/// What `forward` says, in the form each request needs. Built once per config.
#[derive(Debug, Clone)]
pub struct HeaderRules {
    /// `header_prefix`, folded (lower case, `_` and `.` read as `-`).
    prefix: String,
    /// `claims_header` and every `forward.headers` name, folded, removed whatever their prefix.
    reserved: Vec<String>,
    strip_authorization: bool,
    /// `None` only if the prefix cannot make header names (validation refuses that config).
    identity: Option<IdentityNames>,
    claims_header: Option<HeaderName>,
    extra: Vec<(HeaderName, String)>,
}

impl HeaderRules {
    pub fn new(forward: &ForwardConfig) -> HeaderRules {
        let prefix = fold(&forward.header_prefix);
        let name = |suffix: &str| HeaderName::from_bytes(format!("{prefix}{suffix}").as_bytes());
        let identity = (|| {
            Some(IdentityNames {
                sub: name("sub").ok()?,
                username: name("username").ok()?,
                email: name("email").ok()?,
                groups: name("groups").ok()?,
                scope: name("scope").ok()?,
                client_id: name("client-id").ok()?,
                token_use: name("token-use").ok()?,
                issuer: name("issuer").ok()?,
            })
        })();
        if identity.is_none() {
            tracing::warn!(
                header_prefix = %forward.header_prefix,
                "header_prefix does not form valid header names; identity headers are not set"
            );
        }
        let reserved = forward
            .claims_header
            .iter()
            .chain(forward.headers.iter().map(|(name, _)| name))
            .map(|name| fold(name.as_str()))
            .collect();
        HeaderRules {
            prefix,
            reserved,
            strip_authorization: forward.authorization == AuthorizationForward::Strip,
            identity,
            claims_header: forward.claims_header.clone(),
            extra: forward.headers.clone(),
        }
    }

    /// Request hygiene, in SPEC order: hop-by-hop and `Connection`-named headers (never
    /// `Host`; `te: trailers` survives for gRPC), then every header whose folded name starts
    /// with the prefix, then `claims_header` and `forward.headers` names (folded), then
    /// `Authorization` when `forward.authorization` is `strip`.
    ///
    /// Returns the client's `Upgrade` value when it asked for one (`Connection: upgrade` and
    /// exactly one `Upgrade`), so the caller can put it back with [`restore_upgrade`] after
    /// adding its own headers (WebSocket).
    pub fn strip_request(&self, headers: &mut HeaderMap) -> Option<HeaderValue> {
        let upgrade = strip_hop_by_hop(headers);
        let doomed: Vec<HeaderName> = headers
            .keys()
            .filter(|name| self.is_reserved(name.as_str()))
            .cloned()
            .collect();
        for name in doomed {
            headers.remove(name);
        }
        if self.strip_authorization {
            headers.remove(AUTHORIZATION);
        }
        upgrade
    }

    /// Whether a client-sent header of this name would be removed as a possible identity
    /// spoof: the folded name starts with the prefix, or is `claims_header` or a
    /// `forward.headers` name.
    pub fn is_reserved(&self, name: &str) -> bool {
        // An empty prefix (refused by validation) must not strip every header.
        (!self.prefix.is_empty() && folded_starts_with(name, &self.prefix))
            || self.reserved.iter().any(|r| folded_eq(name, r))
    }

    /// Sets (replacing) the identity headers of a verified token, `claims_header` and each
    /// `forward.headers` entry whose claim is present and representable (string as is,
    /// number or bool as JSON text, array of strings joined with `,`; anything else, or a
    /// value with control characters, is skipped). Call after [`HeaderRules::strip_request`].
    pub fn add_identity(
        &self,
        headers: &mut HeaderMap,
        identity: &Identity,
        claims: &Map<String, Value>,
    ) -> Result<(), HeaderError> {
        for (name, claim) in &self.extra {
            if let Some(value) = claims.get(claim).and_then(claim_value) {
                set(headers, name.clone(), value)?;
            }
        }
        if let Some(name) = &self.claims_header {
            set(headers, name.clone(), identity.claims.clone())?;
        }
        // Built-in identity headers last, so no configured extra can shadow them.
        let Some(names) = &self.identity else {
            return Ok(());
        };
        set(headers, names.sub.clone(), identity.sub.clone())?;
        set(headers, names.username.clone(), identity.username.clone())?;
        if let Some(email) = &identity.email {
            set(headers, names.email.clone(), email.clone())?;
        }
        set(headers, names.groups.clone(), identity.groups.clone())?;
        if let Some(scope) = &identity.scope {
            set(headers, names.scope.clone(), scope.clone())?;
        }
        set(headers, names.client_id.clone(), identity.client_id.clone())?;
        set(headers, names.token_use.clone(), identity.token_use.clone())?;
        set(headers, names.issuer.clone(), identity.issuer.clone())?;
        Ok(())
    }
}

/// Sets `X-Forwarded-For` (the client address appended to what came in, all incoming values
/// joined), and replaces `X-Forwarded-Proto` (`https` when `tls`, else `http`) and
/// `X-Forwarded-Host` (`host`, or removed when the request had none; see [`request_host`]).
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: IpAddr,
    tls: bool,
    host: Option<HeaderValue>,
) -> Result<(), HeaderError> {
    let ip = client.to_canonical().to_string();
    let mut xff: Vec<u8> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        xff.extend_from_slice(value);
        xff.extend_from_slice(b", ");
    }
    xff.extend_from_slice(ip.as_bytes());
    match HeaderValue::from_bytes(&xff) {
        Ok(xff) => set(headers, X_FORWARDED_FOR, xff)?,
        // Cannot happen (incoming values were valid header bytes, and so is an IP); if it
        // did, no client-written chain is better than one without the client's address.
        Err(_) => {
            headers.remove(X_FORWARDED_FOR);
        }
    }
    let proto = HeaderValue::from_static(if tls { "https" } else { "http" });
    set(headers, X_FORWARDED_PROTO, proto)?;
    match host {
        Some(host) => set(headers, X_FORWARDED_HOST, host)?,
        None => {
            headers.remove(X_FORWARDED_HOST);
        }
    }
    Ok(())
}

/// The host the client asked for: the `Host` header (HTTP/1.1; only when sent once), else
/// the URI's authority (HTTP/2 `:authority`).
pub fn request_host(uri: &Uri, headers: &HeaderMap) -> Option<HeaderValue> {
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => Some(host.clone()),
        (Some(_), Some(_)) => None,
        (None, _) => uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    }
}

/// Response hygiene: removes hop-by-hop and `Connection`-named headers from an upstream
/// response. Returns the `Upgrade` value of a response that switches protocols (101), for
/// [`restore_upgrade`].
pub fn strip_response(headers: &mut HeaderMap) -> Option<HeaderValue> {
    strip_hop_by_hop(headers)
}

/// Puts back `Connection: upgrade` and `Upgrade: <protocol>` removed by a strip function,
/// for a request or response that really upgrades (WebSocket).
pub fn restore_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) -> Result<(), HeaderError> {
    set(headers, CONNECTION, HeaderValue::from_static("upgrade"))?;
    set(headers, UPGRADE, upgrade)
}

/// Removes `Connection`-named headers (never `Host`) and the hop-by-hop list; keeps
/// `te: trailers`. Returns the `Upgrade` value when `Connection` named `upgrade`.
fn strip_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    let te_trailers = {
        let mut values = headers.get_all(TE).iter().peekable();
        values.peek().is_some()
            && values.all(|v| v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"trailers"))
    };
    let mut wants_upgrade = false;
    let mut named: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(CONNECTION) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let Ok(name) = HeaderName::from_bytes(token.trim_ascii()) else {
                continue;
            };
            if name == UPGRADE {
                wants_upgrade = true;
            }
            if name != HOST {
                named.push(name);
            }
        }
    }
    let upgrade = {
        let mut values = headers.get_all(UPGRADE).iter();
        match (values.next(), values.next()) {
            (Some(v), None) if wants_upgrade => Some(v.clone()),
            _ => None,
        }
    };
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if te_trailers {
        // Removing TE freed at least one slot, so this insert cannot hit the size limit.
        let _ = headers.try_insert(TE, HeaderValue::from_static("trailers"));
    }
    upgrade
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) -> Result<(), HeaderError> {
    headers
        .try_insert(name, value)
        .map(drop)
        .map_err(|_| HeaderError::TooManyHeaders)
}

/// A claim as a header value, or `None` when it has no header form.
fn claim_value(claim: &Value) -> Option<HeaderValue> {
    let text = match claim {
        Value::String(s) => return HeaderValue::from_bytes(s.as_bytes()).ok(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let mut joined = String::new();
            for (i, item) in items.iter().enumerate() {
                let Value::String(s) = item else {
                    return None;
                };
                if i > 0 {
                    joined.push(',');
                }
                joined.push_str(s);
            }
            joined
        }
        Value::Null | Value::Object(_) => return None,
    };
    HeaderValue::from_bytes(text.as_bytes()).ok()
}

/// Lower case, with `_` and `.` read as `-`: the name a CGI/WSGI/nginx backend would see.
fn fold_byte(b: u8) -> u8 {
    match b {
        b'_' | b'.' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

fn fold(s: &str) -> String {
    s.bytes().map(|b| char::from(fold_byte(b))).collect()
}

/// `folded` is already folded; `name` is folded on the fly.
fn folded_starts_with(name: &str, folded: &str) -> bool {
    name.len() >= folded.len()
        && name
            .bytes()
            .zip(folded.bytes())
            .all(|(a, b)| fold_byte(a) == b)
}

fn folded_eq(name: &str, folded: &str) -> bool {
    name.len() == folded.len() && folded_starts_with(name, folded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn forward(authorization: AuthorizationForward) -> ForwardConfig {
        ForwardConfig {
            header_prefix: "x-auth-".to_owned(),
            claims_header: Some(HeaderName::from_static("x-auth-claims")),
            authorization,
            headers: vec![
                (
                    HeaderName::from_static("tenant-id"),
                    "custom:tenant".to_owned(),
                ),
                (
                    HeaderName::from_static("x-level"),
                    "custom:level".to_owned(),
                ),
                (HeaderName::from_static("x-roles"), "roles".to_owned()),
                (HeaderName::from_static("x-admin"), "admin".to_owned()),
                (HeaderName::from_static("x-obj"), "obj".to_owned()),
                (HeaderName::from_static("x-missing"), "missing".to_owned()),
            ],
        }
    }

    fn rules() -> HeaderRules {
        HeaderRules::new(&forward(AuthorizationForward::Keep))
    }

    fn request(pairs: &[(&str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_static(value));
        }
        map
    }

    fn identity() -> Identity {
        Identity {
            sub: HeaderValue::from_static("user-1"),
            username: HeaderValue::from_static("alice"),
            email: Some(HeaderValue::from_static("alice@example.com")),
            groups: HeaderValue::from_static("admin,dev"),
            scope: None,
            client_id: HeaderValue::from_static("4example"),
            token_use: HeaderValue::from_static("access"),
            issuer: HeaderValue::from_static("main"),
            claims: HeaderValue::from_static("eyJzdWIiOiJ1c2VyLTEifQ"),
            sub_text: "user-1".to_owned(),
        }
    }

    fn claims() -> Map<String, Value> {
        let value = serde_json::json!({
            "sub": "user-1",
            "custom:tenant": "acme",
            "custom:level": 3,
            "roles": ["a", "b"],
            "admin": true,
            "obj": {"k": "v"},
        });
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// The header names left, sorted (a HeaderMap's order changes on removal).
    fn names(headers: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names
    }

    fn get<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a [u8]> {
        headers.get_all(name).iter().map(|v| v.as_bytes()).collect()
    }

    #[test]
    fn every_alias_of_the_prefix_is_stripped() {
        let mut headers = request(&[
            ("X-Auth-Sub", "evil"),
            ("x_auth_sub", "evil"),
            ("X.Auth.Sub", "evil"),
            ("X_AUTH.GROUPS", "admin"),
            ("x-auth-anything-else", "evil"),
            ("x-authority", "kept"),
            ("accept", "kept"),
        ]);
        rules().strip_request(&mut headers);
        let left = names(&headers);
        assert_eq!(left, ["accept", "x-authority"]);
    }

    #[test]
    fn claims_header_and_forward_header_names_are_stripped_with_aliases() {
        let mut headers = request(&[
            ("X-AUTH-CLAIMS", "forged"),
            ("tenant-id", "forged"),
            ("tenant_id", "forged"),
            ("Tenant.Id", "forged"),
            ("x-level", "forged"),
            ("tenant-idx", "kept"),
        ]);
        rules().strip_request(&mut headers);
        let left = names(&headers);
        assert_eq!(left, ["tenant-idx"]);
    }

    #[test]
    fn claims_header_outside_the_prefix_is_stripped() {
        let mut config = forward(AuthorizationForward::Keep);
        config.claims_header = Some(HeaderName::from_static("x-jwt-payload"));
        let mut headers = request(&[("x_jwt_payload", "forged"), ("x-jwt-payloads", "kept")]);
        HeaderRules::new(&config).strip_request(&mut headers);
        let left = names(&headers);
        assert_eq!(left, ["x-jwt-payloads"]);
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_stripped() {
        let mut headers = request(&[
            ("connection", "keep-alive, X-Custom"),
            ("connection", "other"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic x"),
            ("te", "gzip"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("x-custom", "gone"),
            ("other", "gone"),
            ("host", "example.com"),
            ("accept", "kept"),
        ]);
        let upgrade = rules().strip_request(&mut headers);
        assert_eq!(upgrade, None, "Connection did not name upgrade");
        let left = names(&headers);
        assert_eq!(left, ["accept", "host"]);
    }

    #[test]
    fn connection_host_does_not_remove_host() {
        let mut headers = request(&[("connection", "host, Host"), ("host", "example.com")]);
        rules().strip_request(&mut headers);
        assert_eq!(get(&headers, "host"), [b"example.com"]);
        assert!(headers.get(CONNECTION).is_none());
    }

    #[test]
    fn te_trailers_survives_for_grpc_but_other_te_does_not() {
        let mut headers = request(&[("te", "trailers")]);
        rules().strip_request(&mut headers);
        assert_eq!(get(&headers, "te"), [b"trailers"]);
        let mut headers = request(&[("te", "trailers"), ("te", "deflate")]);
        rules().strip_request(&mut headers);
        assert!(headers.get(TE).is_none());
    }

    #[test]
    fn connection_cannot_remove_or_alter_what_tokengate_sets() {
        let rules = rules();
        let mut headers = request(&[
            (
                "connection",
                "x-auth-sub, x-forwarded-host, x-forwarded-for, x-auth-claims",
            ),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-for", "10.0.0.1"),
            ("host", "api.example.com"),
        ]);
        let host = request_host(&Uri::from_static("/x"), &headers);
        rules.strip_request(&mut headers);
        rules
            .add_identity(&mut headers, &identity(), &claims())
            .unwrap();
        set_forwarded(
            &mut headers,
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            true,
            host,
        )
        .unwrap();
        assert!(headers.get(CONNECTION).is_none());
        assert_eq!(get(&headers, "x-auth-sub"), [b"user-1"]);
        assert_eq!(get(&headers, "x-auth-claims"), [b"eyJzdWIiOiJ1c2VyLTEifQ"]);
        assert_eq!(get(&headers, "x-forwarded-host"), [b"api.example.com"]);
        assert_eq!(get(&headers, "x-forwarded-for"), [b"192.0.2.7"]);
        assert_eq!(get(&headers, "x-forwarded-proto"), [b"https"]);
    }

    #[test]
    fn identity_headers_are_present_and_exact() {
        let rules = rules();
        let mut headers = request(&[("x-auth-sub", "forged"), ("x-auth-scope", "forged")]);
        rules.strip_request(&mut headers);
        rules
            .add_identity(&mut headers, &identity(), &claims())
            .unwrap();
        let expected: [(&str, &[u8]); 13] = [
            ("x-auth-sub", b"user-1"),
            ("x-auth-username", b"alice"),
            ("x-auth-email", b"alice@example.com"),
            ("x-auth-groups", b"admin,dev"),
            ("x-auth-client-id", b"4example"),
            ("x-auth-token-use", b"access"),
            ("x-auth-issuer", b"main"),
            ("x-auth-claims", b"eyJzdWIiOiJ1c2VyLTEifQ"),
            ("tenant-id", b"acme"),
            ("x-level", b"3"),
            ("x-roles", b"a,b"),
            ("x-admin", b"true"),
            ("x-auth-sub", b"user-1"),
        ];
        for (name, value) in expected {
            assert_eq!(get(&headers, name), [value], "{name}");
        }
        assert!(headers.get("x-auth-scope").is_none(), "scope absent");
        assert!(headers.get("x-obj").is_none(), "object claim skipped");
        assert!(headers.get("x-missing").is_none(), "missing claim skipped");
        assert_eq!(headers.len(), 12);
    }

    #[test]
    fn optional_identity_headers_appear_when_present() {
        let rules = rules();
        let mut identity = identity();
        identity.email = None;
        identity.scope = Some(HeaderValue::from_static("read write"));
        let mut headers = HeaderMap::new();
        rules
            .add_identity(&mut headers, &identity, &Map::new())
            .unwrap();
        assert!(headers.get("x-auth-email").is_none());
        assert_eq!(get(&headers, "x-auth-scope"), [b"read write"]);
    }

    #[test]
    fn disabled_claims_header_is_not_set() {
        let mut config = forward(AuthorizationForward::Keep);
        config.claims_header = None;
        let mut headers = HeaderMap::new();
        HeaderRules::new(&config)
            .add_identity(&mut headers, &identity(), &Map::new())
            .unwrap();
        assert!(headers.get("x-auth-claims").is_none());
        assert_eq!(get(&headers, "x-auth-sub"), [b"user-1"]);
    }

    #[test]
    fn claim_with_control_characters_is_skipped() {
        let mut claims = Map::new();
        claims.insert(
            "custom:tenant".into(),
            Value::String("a\r\nx-auth-sub: admin".into()),
        );
        claims.insert("roles".into(), serde_json::json!(["a", 1]));
        let mut headers = HeaderMap::new();
        rules()
            .add_identity(&mut headers, &identity(), &claims)
            .unwrap();
        assert!(headers.get("tenant-id").is_none());
        assert!(headers.get("x-roles").is_none(), "mixed array skipped");
    }

    #[test]
    fn authorization_is_stripped_or_kept_as_configured() {
        let mut headers = request(&[("authorization", "Bearer t")]);
        HeaderRules::new(&forward(AuthorizationForward::Strip)).strip_request(&mut headers);
        assert!(headers.get(AUTHORIZATION).is_none());
        let mut headers = request(&[("authorization", "Bearer t")]);
        rules().strip_request(&mut headers);
        assert_eq!(get(&headers, "authorization"), [b"Bearer t"]);
    }

    #[test]
    fn x_forwarded_for_is_appended_to_every_incoming_value() {
        let mut headers = request(&[("x-forwarded-for", "a, b"), ("x-forwarded-for", "c")]);
        set_forwarded(&mut headers, IpAddr::V4(Ipv4Addr::LOCALHOST), false, None).unwrap();
        assert_eq!(get(&headers, "x-forwarded-for"), [b"a, b, c, 127.0.0.1"]);
        assert_eq!(get(&headers, "x-forwarded-proto"), [b"http"]);
    }

    #[test]
    fn x_forwarded_for_is_set_when_absent_and_ipv4_mapped_addresses_are_unmapped() {
        let mut headers = HeaderMap::new();
        let mapped = IpAddr::V6(Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped());
        set_forwarded(&mut headers, mapped, false, None).unwrap();
        assert_eq!(get(&headers, "x-forwarded-for"), [b"198.51.100.1"]);
        let mut headers = HeaderMap::new();
        set_forwarded(&mut headers, IpAddr::V6(Ipv6Addr::LOCALHOST), false, None).unwrap();
        assert_eq!(get(&headers, "x-forwarded-for"), [b"::1"]);
    }

    #[test]
    fn client_forwarded_proto_and_host_are_replaced() {
        let mut headers = request(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-host", "evil2.example"),
        ]);
        let host = Some(HeaderValue::from_static("api.example.com"));
        set_forwarded(&mut headers, IpAddr::V4(Ipv4Addr::LOCALHOST), false, host).unwrap();
        assert_eq!(get(&headers, "x-forwarded-proto"), [b"http"]);
        assert_eq!(get(&headers, "x-forwarded-host"), [b"api.example.com"]);
        let mut headers = request(&[("x-forwarded-host", "evil.example")]);
        set_forwarded(&mut headers, IpAddr::V4(Ipv4Addr::LOCALHOST), false, None).unwrap();
        assert!(headers.get(X_FORWARDED_HOST).is_none());
    }

    #[test]
    fn request_host_prefers_the_host_header_then_the_authority() {
        let headers = request(&[("host", "a.example")]);
        let uri = Uri::from_static("https://b.example/x");
        assert_eq!(request_host(&uri, &headers).unwrap(), "a.example");
        assert_eq!(request_host(&uri, &HeaderMap::new()).unwrap(), "b.example");
        let two = request(&[("host", "a.example"), ("host", "c.example")]);
        assert_eq!(request_host(&uri, &two), None);
    }

    #[test]
    fn websocket_upgrade_is_returned_and_can_be_restored() {
        let mut headers = request(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        let upgrade = rules().strip_request(&mut headers).unwrap();
        assert!(headers.get(UPGRADE).is_none());
        restore_upgrade(&mut headers, upgrade).unwrap();
        assert_eq!(get(&headers, "connection"), [b"upgrade"]);
        assert_eq!(get(&headers, "upgrade"), [b"websocket"]);
    }

    #[test]
    fn response_hop_by_hop_and_connection_named_headers_are_stripped() {
        let mut headers = request(&[
            ("connection", "close, x-internal"),
            ("x-internal", "secret"),
            ("transfer-encoding", "chunked"),
            ("keep-alive", "timeout=5"),
            ("content-type", "text/plain"),
        ]);
        assert_eq!(strip_response(&mut headers), None);
        let left = names(&headers);
        assert_eq!(left, ["content-type"]);
    }

    #[test]
    fn header_error_has_a_description() {
        assert_eq!(
            HeaderError::TooManyHeaders.description(),
            "too many headers"
        );
    }
}
