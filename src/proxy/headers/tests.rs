//! Tests of header hygiene through the facade (reference section 5): identity aliases,
//! hop-by-hop and Connection-named headers, identity values, X-Forwarded-*, upgrades.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{AUTHORIZATION, CONNECTION, TE, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::{Map, Value};

use super::*;
use crate::auth::Identity;
use crate::config::{AuthorizationForward, ForwardConfig};

fn forward(authorization: AuthorizationForward) -> ForwardConfig {
    ForwardConfig {
        header_prefix: "x-auth-".to_owned(),
        claims_header: Some(HeaderName::from_static("x-auth-claims")),
        authorization,
        headers: vec![
            (
                HeaderName::from_static("tenant-id"),
                "custom:tenant".parse().unwrap(),
            ),
            (
                HeaderName::from_static("x-level"),
                "custom:level".parse().unwrap(),
            ),
            (HeaderName::from_static("x-roles"), "roles".parse().unwrap()),
            (HeaderName::from_static("x-admin"), "admin".parse().unwrap()),
            (HeaderName::from_static("x-obj"), "obj".parse().unwrap()),
            (
                HeaderName::from_static("x-missing"),
                "missing".parse().unwrap(),
            ),
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
    let host = request_host(&Uri::from_static("/x"), &headers).unwrap();
    rules.strip_request(&mut headers);
    rules
        .add_identity(&mut headers, &identity(), &claims())
        .unwrap();
    set_forwarded(
        &mut headers,
        &client_address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
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
    let expected: [(&str, &[u8]); 14] = [
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
        ("x-obj", br#"{"k":"v"}"#),
        ("x-auth-sub", b"user-1"),
    ];
    for (name, value) in expected {
        assert_eq!(get(&headers, name), [value], "{name}");
    }
    assert!(headers.get("x-auth-scope").is_none(), "scope absent");
    assert!(headers.get("x-missing").is_none(), "missing claim skipped");
    assert_eq!(headers.len(), 13);
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
fn forward_headers_escape_every_claim_and_skip_only_null_or_absent() {
    let claims = serde_json::json!({
        "custom:tenant": "a\r\nx-auth-sub: admin",
        "custom:level": null,
        "roles": ["a,b", "c", 1],
        "admin": "50%",
    });
    let Value::Object(claims) = claims else {
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    rules()
        .add_identity(&mut headers, &identity(), &claims)
        .unwrap();
    assert_eq!(get(&headers, "tenant-id"), [b"a%0D%0Ax-auth-sub: admin"]);
    assert!(headers.get("x-auth-sub").is_some_and(|v| v == "user-1"));
    assert_eq!(get(&headers, "x-roles"), [b"a%2Cb,c,1"], "mixed array kept");
    assert_eq!(get(&headers, "x-admin"), [b"50%25"]);
    assert!(headers.get("x-level").is_none(), "null claim skipped");
}

#[test]
fn a_forward_header_can_name_a_claim_by_json_pointer() {
    let mut config = forward(AuthorizationForward::Keep);
    config.headers = vec![
        (
            HeaderName::from_static("x-idp"),
            "/identities/0/providerName".parse().unwrap(),
        ),
        (HeaderName::from_static("x-slash"), "/a~1b".parse().unwrap()),
        (
            HeaderName::from_static("x-none"),
            "/identities/1/providerName".parse().unwrap(),
        ),
    ];
    let claims = serde_json::json!({
        "identities": [{"providerName": "Google", "primary": "true"}],
        "a/b": "escaped",
    });
    let mut headers = HeaderMap::new();
    HeaderRules::new(&config)
        .add_identity(&mut headers, &identity(), claims.as_object().unwrap())
        .unwrap();
    assert_eq!(get(&headers, "x-idp"), [b"Google"]);
    assert_eq!(get(&headers, "x-slash"), [b"escaped"]);
    assert!(headers.get("x-none").is_none());
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
fn a_named_token_header_goes_with_authorization_when_it_is_stripped() {
    let sources = [
        crate::config::TokenSource::NamedHeader(HeaderName::from_static("x-api-token")),
        crate::config::TokenSource::Header,
    ];
    let sent = [
        ("authorization", "Bearer t"),
        ("x-api-token", "t"),
        ("x-other", "o"),
    ];
    let mut headers = request(&sent);
    HeaderRules::new(&forward(AuthorizationForward::Strip))
        .with_token_sources(&sources)
        .strip_request(&mut headers);
    assert_eq!(names(&headers), ["x-other"]);
    let mut headers = request(&sent);
    rules()
        .with_token_sources(&sources)
        .strip_request(&mut headers);
    assert_eq!(get(&headers, "x-api-token"), [b"t"]);
    assert_eq!(get(&headers, "authorization"), [b"Bearer t"]);
}

#[test]
fn x_forwarded_for_is_appended_to_every_incoming_value() {
    let mut headers = request(&[("x-forwarded-for", "a, b"), ("x-forwarded-for", "c")]);
    forwarded_from_localhost(&mut headers, None);
    assert_eq!(get(&headers, "x-forwarded-for"), [b"a, b, c, 127.0.0.1"]);
    assert_eq!(get(&headers, "x-forwarded-proto"), [b"http"]);
}

#[test]
fn x_forwarded_for_is_set_when_absent_and_ipv4_mapped_addresses_are_unmapped() {
    let mut headers = HeaderMap::new();
    let mapped = IpAddr::V6(Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped());
    set_forwarded(&mut headers, &client_address(mapped), false, None).unwrap();
    assert_eq!(get(&headers, "x-forwarded-for"), [b"198.51.100.1"]);
    let mut headers = HeaderMap::new();
    set_forwarded(
        &mut headers,
        &client_address(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        false,
        None,
    )
    .unwrap();
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
    forwarded_from_localhost(&mut headers, host);
    assert_eq!(get(&headers, "x-forwarded-proto"), [b"http"]);
    assert_eq!(get(&headers, "x-forwarded-host"), [b"api.example.com"]);
    let mut headers = request(&[("x-forwarded-host", "evil.example")]);
    forwarded_from_localhost(&mut headers, None);
    assert!(headers.get(X_FORWARDED_HOST).is_none());
}

#[test]
fn request_host_is_the_authority_else_the_one_host_header() {
    let uri = Uri::from_static("https://b.example/x");
    let origin = Uri::from_static("/x");
    let host = request(&[("host", "a.example")]);
    assert_eq!(request_host(&origin, &host).unwrap().unwrap(), "a.example");
    assert_eq!(
        request_host(&uri, &HeaderMap::new()).unwrap().unwrap(),
        "b.example"
    );
    let same = request(&[("host", "B.Example")]);
    assert_eq!(request_host(&uri, &same).unwrap().unwrap(), "b.example");
    assert_eq!(request_host(&origin, &HeaderMap::new()).unwrap(), None);
}

#[test]
fn request_host_refuses_two_hosts_a_conflict_and_userinfo() {
    let uri = Uri::from_static("https://b.example/x");
    let origin = Uri::from_static("/x");
    let two = request(&[("host", "a.example"), ("host", "a.example")]);
    assert_eq!(request_host(&origin, &two), Err(HeaderError::DuplicateHost));
    let other = request(&[("host", "a.example")]);
    assert_eq!(
        request_host(&uri, &other),
        Err(HeaderError::ConflictingHost)
    );
    let userinfo = Uri::from_static("https://user@b.example/x");
    assert_eq!(
        request_host(&userinfo, &HeaderMap::new()),
        Err(HeaderError::HostUserinfo)
    );
    let userinfo = request(&[("host", "user:pw@a.example")]);
    assert_eq!(
        request_host(&origin, &userinfo),
        Err(HeaderError::HostUserinfo)
    );
}

#[test]
fn cookie_fields_are_joined_into_one_header_in_order() {
    let mut headers = request(&[
        ("cookie", "session=abc"),
        ("x-other", "1"),
        ("cookie", " "),
        ("cookie", "csrf=xyz; theme=dark"),
    ]);
    join_cookies(&mut headers).unwrap();
    assert_eq!(
        get(&headers, "cookie"),
        [b"session=abc; csrf=xyz; theme=dark"]
    );
    let mut one = request(&[("cookie", "a=1;b=2")]);
    join_cookies(&mut one).unwrap();
    assert_eq!(
        get(&one, "cookie"),
        [b"a=1;b=2"],
        "one field is left as sent"
    );
    let mut none = request(&[("x-other", "1")]);
    join_cookies(&mut none).unwrap();
    assert!(get(&none, "cookie").is_empty());
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

/// `set_forwarded` for a plain-http request from 127.0.0.1.
fn forwarded_from_localhost(headers: &mut HeaderMap, host: Option<HeaderValue>) {
    set_forwarded(
        headers,
        &client_address(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        false,
        host,
    )
    .unwrap();
}
