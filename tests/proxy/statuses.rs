//! Every row of the reference's status table, with the exact challenge and JSON body, and every
//! identity header as the upstream receives it.

use serde_json::json;

use crate::harness::*;
use crate::setup::Scene;

fn assert_refusal(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["error"], error);
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert!(
        r.json().get("headers").is_none(),
        "an echo answer: the upstream was reached"
    );
}

fn assert_invalid_token(r: &Reply, description: &str) {
    assert_refusal(r, 401, "invalid_token");
    assert_eq!(r.json()["error_description"], description);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="tokengate", error="invalid_token", error_description="{description}""#
            )
            .as_str()
        )
    );
}

#[test]
fn an_access_token_reaches_the_upstream_with_every_identity_header() {
    let s = Scene::start();
    let token = s.access("alice", &["admin", "dev"]);
    let r = s.get("/api/orders?x=1", &token);
    assert_eq!(r.status, 200, "{}", s.tg.output());
    assert_eq!(r.json()["path"], "/api/orders?x=1");
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice")
    );
    assert_eq!(
        r.upstream_header("x-auth-username").as_deref(),
        Some("alice")
    );
    assert_eq!(
        r.upstream_header("x-auth-groups").as_deref(),
        Some("admin,dev")
    );
    assert_eq!(
        r.upstream_header("x-auth-scope").as_deref(),
        Some("openid orders/read")
    );
    assert_eq!(
        r.upstream_header("x-auth-client-id").as_deref(),
        Some(CLIENT)
    );
    assert_eq!(
        r.upstream_header("x-auth-token-use").as_deref(),
        Some("access")
    );
    assert_eq!(r.upstream_header("x-auth-issuer").as_deref(), Some("main"));
    assert!(!r.upstream_saw("x-auth-email"));
    let payload = token.split('.').nth(1).unwrap();
    assert_eq!(r.upstream_header("x-auth-claims").as_deref(), Some(payload));
}

#[test]
fn an_id_token_carries_cognito_username_email_and_aud() {
    let s = Scene::start();
    let r = s.get("/api/me", &s.id("bob"));
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream_header("x-auth-username").as_deref(), Some("bob"));
    assert_eq!(
        r.upstream_header("x-auth-email").as_deref(),
        Some("bob@example.com")
    );
    assert_eq!(
        r.upstream_header("x-auth-client-id").as_deref(),
        Some(CLIENT)
    );
    assert_eq!(r.upstream_header("x-auth-token-use").as_deref(), Some("id"));
    assert_eq!(r.upstream_header("x-auth-groups").as_deref(), Some(""));
    assert!(!r.upstream_saw("x-auth-scope"));
}

#[test]
fn no_token_on_a_required_route_is_401_missing_token() {
    let s = Scene::start();
    let r = s.tg.send(&get("/api/x"));
    assert_refusal(&r, 401, "missing_token");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="tokengate""#)
    );
    for header in [
        "Authorization: Basic YTpi",
        "Authorization: Bearer ",
        "Authorization: Bearer",
    ] {
        let r = s.tg.send(&get_with("/api/x", &[header]));
        assert_refusal(&r, 401, "missing_token");
    }
}

#[test]
fn an_expired_token_is_401_token_expired() {
    let s = Scene::start();
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["exp"] = json!(now() - 1);
    let r = s.get("/api/x", &s.key.sign(&claims));
    assert_invalid_token(&r, "token expired");
}

#[test]
fn a_token_signed_by_another_key_is_401_bad_signature() {
    let s = Scene::start();
    let forged = Signer::attacker_key().sign(&access_claims(&s.iss, "mallory", &["admin"]));
    assert_invalid_token(&s.get("/admin/x", &forged), "bad signature");
}

#[test]
fn wrong_audience_client_id_and_token_use_are_401() {
    let s = Scene::start();
    let mut claims = id_claims(&s.iss, "bob");
    claims["aud"] = json!("another-client");
    assert_invalid_token(&s.get("/api/x", &s.key.sign(&claims)), "aud not allowed");
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["client_id"] = json!("another-client");
    assert_invalid_token(
        &s.get("/api/x", &s.key.sign(&claims)),
        "client_id not allowed",
    );
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["token_use"] = json!("refresh");
    assert_invalid_token(&s.get("/api/x", &s.key.sign(&claims)), "wrong token_use");
}

#[test]
fn garbage_unknown_issuer_and_unknown_kid_are_401() {
    let s = Scene::start();
    assert_invalid_token(&s.get("/api/x", "not-a-jwt"), "malformed token");
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other");
    assert_invalid_token(&s.get("/api/x", &s.key.sign(&claims)), "unknown issuer");
    let other_kid = Signer::from_pem("k2", include_str!("../fixtures/keys/issuer-rsa2048.pem"));
    let token = other_kid.sign(&access_claims(&s.iss, "alice", &[]));
    assert_invalid_token(&s.get("/api/x", &token), "unknown kid");
    let huge = "a".repeat(9000);
    assert_invalid_token(&s.get("/api/x", &huge), "token too large");
}

#[test]
fn a_valid_token_without_the_required_group_scope_claim_or_use_is_403() {
    let s = Scene::start();
    let cases = [
        ("/admin/x", s.access("bob", &["dev"]), "missing group"),
        ("/both/x", s.access("bob", &["admin"]), "missing group"),
        ("/orders/1", s.access("bob", &["admin"]), "missing scope"),
        (
            "/tenant/1",
            s.access("bob", &["admin"]),
            "claim not allowed",
        ),
        ("/access-only", s.id("bob"), "wrong token_use"),
    ];
    for (path, token, description) in cases {
        let r = s.get(path, &token);
        assert_refusal(&r, 403, "insufficient_scope");
        assert_eq!(r.json()["error_description"], description, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                format!(
                    r#"Bearer realm="tokengate", error="insufficient_scope", error_description="{description}""#
                )
                .as_str()
            )
        );
    }
    let mut claims = access_claims(&s.iss, "carol", &[]);
    claims["custom:tenant"] = json!("acme");
    claims["scope"] = json!("orders/write openid");
    let token = s.key.sign(&claims);
    assert_eq!(s.get("/tenant/1", &token).status, 200);
    assert_eq!(s.get("/orders/1", &token).status, 200);
    assert_eq!(
        s.get("/both/x", &s.access("d", &["dev", "admin"])).status,
        200
    );
    assert_eq!(s.get("/access-only", &s.access("d", &[])).status, 200);
}

#[test]
fn two_authorization_headers_are_400_invalid_request() {
    let s = Scene::start();
    let t = s.access("alice", &[]);
    let r = s.tg.send(&get_with("/api/x", &[&bearer(&t), &bearer(&t)]));
    assert_refusal(&r, 400, "invalid_request");
    assert!(r.header("www-authenticate").is_none());
}

#[test]
fn a_path_matching_no_route_is_404_no_route() {
    let s = Scene::start();
    let r = s.get("/elsewhere", &s.access("alice", &[]));
    assert_refusal(&r, 404, "no_route");
    // Method restrictions are part of the match.
    let r = s.get("/exact", &s.access("alice", &[]));
    assert_refusal(&r, 404, "no_route");
}

#[test]
fn an_issuer_without_keys_is_503_with_retry_after_and_others_still_work() {
    let s = Scene::start();
    let token = s.key.sign(&access_claims(&s.down_iss, "alice", &[]));
    let r = s.get("/api/x", &token);
    assert_refusal(&r, 503, "keys_unavailable");
    assert!(r.header("retry-after").is_some());
    assert_eq!(s.get("/api/x", &s.access("alice", &[])).status, 200);
}

fn single_issuer_config(upstream: &str, extra: &str, jwks: &JwksServer) -> String {
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: '{upstream}'{extra} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
        jwks.issuer("us-east-1_Main")
    )
}

#[test]
fn an_unreachable_upstream_is_502_bad_gateway() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let tg = Tokengate::start(
        &single_issuer_config(&closed, ", connect_timeout: 1s", &jwks),
        true,
    );
    let token = key.sign(&access_claims(&jwks.issuer("us-east-1_Main"), "a", &[]));
    let r = tg.send(&get_with("/x", &[&bearer(&token)]));
    assert_refusal(&r, 502, "bad_gateway");
}

#[test]
fn a_slow_upstream_is_504_gateway_timeout() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let slow = start_slow_upstream(std::time::Duration::from_secs(5));
    let config = single_issuer_config(&format!("http://{slow}"), ", timeout: 300ms", &jwks);
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&jwks.issuer("us-east-1_Main"), "a", &[]));
    let r = tg.send(&get_with("/x", &[&bearer(&token)]));
    assert_refusal(&r, 504, "gateway_timeout");
}

#[test]
fn request_bodies_stream_to_the_upstream() {
    let s = Scene::start();
    let body = "x".repeat(3 * 1024 * 1024);
    let raw = format!(
        "POST /api/upload HTTP/1.1\r\nHost: t\r\n{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        bearer(&s.access("alice", &[])),
        body.len()
    );
    let r = s.tg.send(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["method"], "POST");
    assert_eq!(r.json()["body_bytes"], body.len());
}

#[test]
fn a_chunked_request_body_streams_to_the_upstream() {
    let s = Scene::start();
    let raw = format!(
        "POST /api/upload HTTP/1.1\r\nHost: t\r\n{}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        bearer(&s.access("alice", &[]))
    );
    let r = s.tg.send(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body_bytes"], 11);
}

#[test]
fn upstream_http2_speaks_h2c_to_the_upstream() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let config = single_issuer_config(&format!("http://{upstream}"), ", http2: true", &jwks);
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&jwks.issuer("us-east-1_Main"), "a", &[]));
    let r = tg.send(&get_with("/h2?x=1", &[&bearer(&token)]));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], "HTTP/2.0");
    assert_eq!(r.json()["path"], "/h2?x=1");
    assert_eq!(r.upstream_header("x-auth-sub").as_deref(), Some("sub-a"));
    let plain = Tokengate::start(
        &single_issuer_config(&format!("http://{upstream}"), "", &jwks),
        true,
    );
    let r = plain.send(&get_with("/h1", &[&bearer(&token)]));
    assert_eq!(r.json()["version"], "HTTP/1.1");
}

#[test]
fn grpc_requests_are_refused_in_a_shape_grpc_clients_read() {
    let s = Scene::start();
    let grpc = |path: &str, auth: Option<String>| {
        let mut headers = vec![
            "Content-Type: application/grpc+proto".to_owned(),
            "TE: trailers".to_owned(),
        ];
        headers.extend(auth);
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        s.tg.send(&format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\n{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            refs.join("\r\n")
        ))
    };
    let r = grpc("/api/pkg.Service/Method", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("grpc-status"), Some("16"));
    assert_eq!(r.header("content-type"), Some("application/grpc"));
    let r = grpc(
        "/admin/pkg.Service/Method",
        Some(bearer(&s.access("bob", &["dev"]))),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.header("grpc-status"), Some("7"));
    assert_eq!(r.header("grpc-message"), Some("missing group"));
}
