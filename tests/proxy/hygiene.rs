//! Routes of every kind, hostile paths, spoofed identity headers in every alias form, the
//! `Connection` trick, forwarded headers, token sources.

use crate::harness::*;
use crate::setup::Scene;

const SPOOFS: [&str; 8] = [
    "X-Auth-Sub: root",
    "x_auth_sub: root",
    "X.Auth.Sub: root",
    "X-AUTH-GROUPS: admin",
    "x-auth-claims: e30",
    "x-auth-issuer: main",
    "tenant-id: acme",
    "X_Auth_Username: root",
];

/// None of the spoofed names (in any alias) reached the upstream, except tokengate's own.
fn assert_no_spoof(r: &Reply, verified_sub: Option<&str>) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let headers = r.json()["headers"].as_object().unwrap().clone();
    for (name, values) in &headers {
        let folded = name.replace(['_', '.'], "-");
        if folded.starts_with("x-auth-") || name == "tenant-id" {
            let vals: Vec<&str> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(
                verified_sub.is_some(),
                "{name} reached the upstream without a token: {vals:?}"
            );
            assert!(
                !vals.contains(&"root") && !vals.contains(&"e30"),
                "{name}: {vals:?}"
            );
            assert_eq!(vals.len(), 1, "{name} appended to a client value: {vals:?}");
        }
    }
    assert_eq!(r.upstream_header("x-auth-sub").as_deref(), verified_sub);
}

#[test]
fn spoofed_identity_headers_never_reach_the_upstream_on_any_kind_of_route() {
    let s = Scene::start();
    let token = s.access("alice", &["dev"]);
    let auth = bearer(&token);
    let mut with_token: Vec<&str> = SPOOFS.to_vec();
    with_token.push(&auth);
    // auth: none (even with a token present), optional without a token, required with one.
    assert_no_spoof(&s.tg.send(&get_with("/public/x", &with_token)), None);
    assert_no_spoof(&s.tg.send(&get_with("/public/x", &SPOOFS)), None);
    assert_no_spoof(&s.tg.send(&get_with("/maybe/x", &SPOOFS)), None);
    assert_no_spoof(
        &s.tg.send(&get_with("/maybe/x", &with_token)),
        Some("sub-alice"),
    );
    assert_no_spoof(
        &s.tg.send(&get_with("/api/x", &with_token)),
        Some("sub-alice"),
    );
}

#[test]
fn connection_cannot_remove_or_alter_what_tokengate_sets() {
    let s = Scene::start();
    let auth = bearer(&s.access("alice", &[]));
    let r = s.tg.send(&get_with(
        "/api/x",
        &[
            &auth,
            "Connection: x-auth-sub, X-Forwarded-For, x-forwarded-host, host",
            "X-Forwarded-Host: evil.example",
            "X-Forwarded-Proto: https",
        ],
    ));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice")
    );
    assert_eq!(
        r.upstream_header("x-forwarded-host").as_deref(),
        Some("test.local")
    );
    assert_eq!(
        r.upstream_header("x-forwarded-proto").as_deref(),
        Some("http")
    );
    assert_eq!(r.upstream_header("host").as_deref(), Some("test.local"));
    assert!(
        !r.upstream_saw("connection")
            || r.upstream_header("connection").as_deref() != Some("x-auth-sub")
    );
}

#[test]
fn x_forwarded_for_gets_the_client_address_appended() {
    let s = Scene::start();
    let auth = bearer(&s.access("alice", &[]));
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&auth, "X-Forwarded-For: 203.0.113.7"],
    ));
    assert_eq!(
        r.upstream_header("x-forwarded-for").as_deref(),
        Some("203.0.113.7, 127.0.0.1")
    );
    let r = s.tg.send(&get_with("/api/x", &[&auth]));
    assert_eq!(
        r.upstream_header("x-forwarded-for").as_deref(),
        Some("127.0.0.1")
    );
}

#[test]
fn auth_none_never_looks_at_the_token() {
    let s = Scene::start();
    let r = s.get("/public/page", "garbage");
    assert_eq!(r.status, 200);
    assert!(!r.upstream_saw("x-auth-sub"));
}

#[test]
fn auth_optional_forwards_anonymous_requests_but_refuses_bad_tokens() {
    let s = Scene::start();
    let r = s.tg.send(&get("/maybe/page"));
    assert_eq!(r.status, 200);
    assert!(!r.upstream_saw("x-auth-sub"));
    let r = s.get("/maybe/page", "garbage");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");
    let r = s.get("/maybe/page", &s.access("alice", &[]));
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice")
    );
}

#[test]
fn hostile_paths_are_normalized_before_routing() {
    let s = Scene::start();
    let dev = s.access("bob", &["dev"]);
    // Each of these is really /admin: bob (no admin group) must get 403, not a pass.
    for path in [
        "/public/../admin",
        "//admin",
        "/%61dmin",
        "/public/%2e%2e/admin",
        "/./admin/",
        "/public/..//admin/x",
    ] {
        let r = s.get(path, &dev);
        assert_eq!(
            r.status,
            403,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // /administrator is not under /admin (segment-aware), and no route matches it.
    assert_eq!(s.get("/administrator", &dev).status, 404);
    // The upstream receives the normalized path and the query as sent.
    let r = s.get("/api//a/./b/../c?q=%2F..%2F&x=1", &dev);
    assert_eq!(r.json()["path"], "/api/a/c?q=%2F..%2F&x=1");
    let r = s.get("/api/x%3ay%20z", &dev);
    assert_eq!(r.json()["path"], "/api/x%3Ay%20z");
}

#[test]
fn encoded_separators_nul_params_and_bad_escapes_are_400() {
    let s = Scene::start();
    let dev = s.access("bob", &["admin"]);
    for path in [
        "/public%2F..%2Fadmin",
        "/public%2f..%2fadmin",
        "/public/..%5Cadmin",
        "/admin;jsessionid=1",
        "/public/..;/admin",
        "/api/a%00b",
        "/api/bad%zz",
        "/api/bad%4",
        "/api/%",
    ] {
        let r = s.get(path, &dev);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.json()["error"], "invalid_request", "{path}");
    }
}

#[test]
fn cookie_and_query_tokens_work_and_the_query_token_is_removed() {
    let s = Scene::with("token:\n  sources: ['cookie:tg', 'query:access_token', header]\n");
    let token = s.access("alice", &[]);
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&format!("Cookie: theme=dark; tg={token}")],
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice")
    );
    let r =
        s.tg.send(&get(&format!("/api/x?a=1&access_token={token}&b=2")));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["path"], "/api/x?a=1&b=2");
    let r = s.tg.send(&get(&format!("/public/x?access_token={token}")));
    assert_eq!(
        r.json()["path"],
        "/public/x",
        "a query token never reaches the upstream"
    );
    // Two different cookie tokens are ambiguous.
    let other = s.access("bob", &[]);
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&format!("Cookie: tg={token}; tg={other}")],
    ));
    assert_eq!(r.status, 400);
    // The same token twice counts once, in a cookie and in the query (every occurrence of
    // the query token is removed); different values are a 400 in both.
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&format!("Cookie: tg={token}; tg=\"{token}\"")],
    ));
    assert_eq!(r.status, 200);
    let r = s.tg.send(&get(&format!(
        "/api/x?access_token={token}&a=1&access_token={token}"
    )));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["path"], "/api/x?a=1");
    let r = s.tg.send(&get(&format!(
        "/api/x?access_token={token}&access_token={other}"
    )));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error_description"],
        "token query parameter sent twice with different values"
    );
}

#[test]
fn authorization_strip_keeps_the_token_from_the_upstream() {
    let s = Scene::with("forward:\n  authorization: strip\n  claims_header: ''\n");
    let r = s.get("/api/x", &s.access("alice", &[]));
    assert_eq!(r.status, 200);
    assert!(!r.upstream_saw("authorization"));
    assert!(!r.upstream_saw("x-auth-claims"));
    let kept = Scene::start();
    let r = kept.get("/api/x", &kept.access("alice", &[]));
    assert!(r.upstream_saw("authorization"));
}

#[test]
fn forward_headers_carry_claims_and_are_never_spoofable() {
    let s = Scene::start();
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["custom:tenant"] = serde_json::json!("acme");
    let token = s.key.sign(&claims);
    let r =
        s.tg.send(&get_with("/api/x", &[&bearer(&token), "Tenant-Id: globex"]));
    assert_eq!(r.upstream_header("tenant-id").as_deref(), Some("acme"));
    assert_eq!(
        r.json()["headers"]["tenant-id"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn a_request_head_over_max_header_bytes_is_431() {
    let s = Scene::start();
    let big = format!("X-Big: {}", "a".repeat(20_000));
    let r = s.tg.send(&get_with("/public/x", &[&big]));
    assert_eq!(r.status, 431);
    let fits = format!("X-Big: {}", "a".repeat(8_000));
    assert_eq!(s.tg.send(&get_with("/public/x", &[&fits])).status, 200);
}
