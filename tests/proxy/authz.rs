//! `mode: authz` over HTTP, with check requests shaped as each gateway sends them: Traefik
//! ForwardAuth (X-Forwarded-Method/-Uri), nginx auth_request (X-Original-URI), Envoy HTTP
//! ext_authz (path_prefix + original path). Identity headers are always tokengate's own.

use serde_json::json;

use crate::harness::*;

pub struct Authz {
    pub tg: Tokengate,
    pub jwks: JwksServer,
    pub key: Signer,
}

impl Authz {
    pub fn start(extra: &str) -> Authz {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let config = format!(
            "mode: authz\nserver: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - {{ match: {{ path_prefix: /public }}, auth: none }}\n  - {{ match: {{ path_prefix: /admin }}, require: {{ groups_any: [admin] }} }}\n  - {{ match: {{ path_prefix: / }} }}\n{extra}",
            jwks.issuer("p")
        );
        Authz {
            tg: Tokengate::start(&config, true),
            jwks,
            key,
        }
    }

    pub fn token(&self, user: &str, groups: &[&str]) -> String {
        self.key
            .sign(&access_claims(&self.jwks.issuer("p"), user, groups))
    }

    /// A check request: `GET path` with header lines.
    pub fn check(&self, path: &str, headers: &[&str]) -> Reply {
        self.tg.send(&get_with(path, headers))
    }
}

fn traefik(uri: &str, method: &str) -> [String; 4] {
    [
        format!("X-Forwarded-Method: {method}"),
        format!("X-Forwarded-Uri: {uri}"),
        "X-Forwarded-Proto: https".to_owned(),
        "X-Forwarded-Host: app.example.com".to_owned(),
    ]
}

fn with<'a>(lines: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    lines
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect()
}

#[test]
fn traefik_shaped_checks_get_200_with_identity_or_the_spec_refusal() {
    let a = Authz::start("");
    let alice = a.token("alice", &["admin"]);
    let bob = a.token("bob", &[]);
    let alice_auth = bearer(&alice);
    let bob_auth = bearer(&bob);

    let lines = traefik("/admin/reports?x=1", "DELETE");
    let ok = a.check("/", &with(&lines, &[&alice_auth]));
    assert_eq!(ok.status, 200);
    assert!(ok.body.is_empty(), "allowed checks have an empty body");
    assert_eq!(ok.header("x-auth-sub"), Some("sub-alice"));
    assert_eq!(ok.header("x-auth-groups"), Some("admin"));
    assert_eq!(ok.header("x-auth-issuer"), Some("main"));
    assert_eq!(ok.header("x-auth-token-use"), Some("access"));

    let denied = a.check("/", &with(&lines, &[&bob_auth]));
    assert_eq!(denied.status, 403);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="insufficient_scope""#));
    assert_eq!(denied.json()["error"], "insufficient_scope");
    assert!(denied.header("x-auth-sub").is_none());

    let missing = a.check("/", &with(&lines, &[]));
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some(r#"Bearer realm="tokengate""#)
    );

    let invalid = a.check("/", &with(&lines, &["Authorization: Bearer a.b.c"]));
    assert_eq!(invalid.status, 401);
    assert_eq!(invalid.json()["error"], "invalid_token");

    // The original method decides a method-bound route: the check's own GET does not.
    let public = a.check("/admin", &with(&traefik("/public/page", "POST"), &[]));
    assert_eq!(public.status, 200, "a public original URI needs no token");
    assert!(public.header("x-auth-sub").is_none());
}

#[test]
fn identity_headers_in_the_answer_are_always_tokengates_own() {
    let a = Authz::start("");
    let bob = bearer(&a.token("bob", &[]));
    let lines = traefik("/app", "GET");
    let spoof = [
        "X-Auth-Sub: admin-sub",
        "X-Auth-Groups: admin",
        "X_Auth_Email: boss@example.com",
        "X-Auth-Claims: e30",
    ];
    let ok = a.check(
        "/",
        &with(&lines, &[&bob, spoof[0], spoof[1], spoof[2], spoof[3]]),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.headers["x-auth-sub"],
        ["sub-bob"],
        "one value, tokengate's"
    );
    assert_eq!(ok.headers["x-auth-groups"], [""]);
    assert!(ok.header("x-auth-email").is_none());
    assert_ne!(ok.header("x-auth-claims"), Some("e30"));

    // Spoofed groups do not open an admin route, and a public answer carries no identity.
    let denied = a.check("/", &with(&traefik("/admin", "GET"), &[&bob, spoof[1]]));
    assert_eq!(denied.status, 403);
    let public = a.check("/", &with(&traefik("/public", "GET"), &[spoof[0]]));
    assert_eq!(public.status, 200);
    assert!(public.header("x-auth-sub").is_none());
}

#[test]
fn nginx_and_envoy_shaped_checks_find_the_original_uri() {
    let a = Authz::start("authz: { path_prefix: /ext }\n");
    let bob = bearer(&a.token("bob", &[]));
    // nginx auth_request: X-Original-URI (no X-Forwarded-Uri).
    let r = a.check("/ext/whatever", &["X-Original-URI: /admin/x", &bob]);
    assert_eq!(r.status, 403);
    let r = a.check("/ext/whatever", &["X-Original-URI: /public/x"]);
    assert_eq!(r.status, 200);
    // Envoy HTTP ext_authz: path_prefix + the original path, original method.
    assert_eq!(a.check("/ext/admin/x?y=1", &[&bob]).status, 403);
    assert_eq!(a.check("/ext/public/x", &[]).status, 200);
    assert_eq!(
        a.check("/ext", &[]).status,
        401,
        "/ext alone is the original /"
    );
    let outside = a.check("/extra/public", &[]);
    assert_eq!(outside.status, 400);
    assert_eq!(outside.json()["error"], "invalid_request");
}

#[test]
fn conflicting_original_uri_headers_and_fragments_are_400() {
    let a = Authz::start("");
    let bob = bearer(&a.token("bob", &[]));
    // The nginx bypass of issue 12: the gateway sets X-Original-URI, the client adds its own
    // X-Forwarded-Uri pointing at a public path. Both present and different -> 400.
    let r = a.check(
        "/",
        &["X-Original-URI: /admin/secret", "X-Forwarded-Uri: /public"],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "conflicting original URI headers"
    );
    let r = a.check(
        "/",
        &["X-Original-URI: /admin/x", "X-Forwarded-Uri: /x", &bob],
    );
    assert_eq!(r.status, 400, "a token does not make a conflict pass");
    // The same value in both (what every shipped gateway example sends) is one URI.
    let r = a.check(
        "/",
        &[
            "X-Original-URI: /admin/x",
            "X-Forwarded-Uri: /admin/x",
            &bob,
        ],
    );
    assert_eq!(r.status, 403);
    for header in ["X-Forwarded-Uri", "X-Original-URI"] {
        let r = a.check("/", &[&format!("{header}: /public#/../admin/secret")]);
        assert_eq!(r.status, 400, "{header}");
        assert_eq!(
            r.json()["error_description"],
            "original URI holds a fragment (#)"
        );
    }
}

#[test]
fn hostile_original_uris_get_the_proxy_mode_path_rules() {
    let a = Authz::start("");
    for (uri, status) in [
        ("/public/../admin", 401),
        ("/public/%2e%2e/admin", 401),
        ("//public/./x", 200),
        ("/public%2Fadmin", 400),
        ("/public/x;jsessionid=1", 400),
        ("http://evil/public", 400),
        ("public", 400),
    ] {
        let r = a.check("/", &with(&traefik(uri, "GET"), &[]));
        assert_eq!(r.status, status, "{uri}");
    }
    let two = a.check(
        "/",
        &["X-Forwarded-Uri: /public", "X-Forwarded-Uri: /admin"],
    );
    assert_eq!(two.status, 400, "two X-Forwarded-Uri values are refused");
    let bad_method = a.check(
        "/",
        &["X-Forwarded-Method: G(T", "X-Forwarded-Uri: /public"],
    );
    assert_eq!(bad_method.status, 400);
}

#[test]
fn a_query_token_in_the_original_uri_is_accepted_when_configured() {
    let a = Authz::start("token: { sources: [header, 'query:access_token'] }\n");
    let token = a.token("carol", &[]);
    let r = a.check(
        "/",
        &with(&traefik(&format!("/app?access_token={token}"), "GET"), &[]),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-auth-sub"), Some("sub-carol"));
}

#[test]
fn decisions_are_counted_and_logged_with_the_original_request() {
    let a = Authz::start("");
    let alice = bearer(&a.token("alice", &["admin"]));
    assert_eq!(
        a.check("/", &with(&traefik("/admin/a", "PUT"), &[&alice]))
            .status,
        200
    );
    assert_eq!(a.check("/", &with(&traefik("/x", "GET"), &[])).status, 401);
    assert_eq!(
        a.tg.metric("tokengate_authz_decisions_total{api=\"http\",outcome=\"allowed\"}"),
        1.0
    );
    assert_eq!(
        a.tg.metric("tokengate_authz_decisions_total{api=\"http\",outcome=\"missing_token\"}"),
        1.0
    );
    let metrics = String::from_utf8(a.tg.admin_get("/metrics").body).unwrap();
    assert!(metrics.contains("tokengate_requests_total{outcome=\"allowed\",route=\"1\"} 1"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = a.tg.output();
    let line = out
        .lines()
        .find(|l| l.contains("\"path\":\"/admin/a\""))
        .unwrap_or_else(|| panic!("no access line for the original path: {out}"));
    assert!(line.contains("\"api\":\"http\""), "{line}");
    assert!(line.contains("\"method\":\"PUT\""), "{line}");
    assert!(!out.contains(&alice[22..]), "the token is never logged");
}

#[test]
fn authz_configs_refuse_an_upstream_and_proxy_configs_refuse_authz() {
    let dir = std::env::temp_dir().join(format!("tg-authz-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(BIN)
            .args(["check-config"])
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let issuers = "issuers:\n  - name: m\n    cognito: { region: us-east-1, user_pool_id: us-east-1_A }\n    client_ids: [c]\n";
    let (code, _) = check(
        "ok.yaml",
        &format!(
            "mode: authz\nauthz: {{ path_prefix: /ext, grpc_listen: '127.0.0.1:9191' }}\n{issuers}"
        ),
    );
    assert_eq!(code, Some(0));
    let (code, err) = check(
        "up.yaml",
        &format!("mode: authz\nupstream: {{ url: 'http://127.0.0.1:1' }}\n{issuers}"),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("upstream"), "{err}");
    let (code, err) = check(
        "mix.yaml",
        &format!(
            "upstream: {{ url: 'http://127.0.0.1:1' }}\nauthz: {{ path_prefix: /x }}\n{issuers}"
        ),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("authz"), "{err}");
    let (code, err) = check(
        "prefix.yaml",
        &format!("mode: authz\nauthz: {{ path_prefix: ext/ }}\n{issuers}"),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("authz.path_prefix"), "{err}");
}
