//! Revocation (reference section 8) with the real binary: entries of every kind through the
//! admin API refuse the tokens they name (cached verdicts included) and nothing else; the
//! API's guard; logout routes in proxy mode, authz mode and ext_authz gRPC; persistence
//! across a restart; expiry; `tokengate revoke`; readiness and metrics.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

pub const API_TOKEN: &str = "admin-secret-4711";

/// tokengate with issuer `main`, a logout route, a catch-all route and a revocation section.
#[allow(dead_code)] // `jwks` and `dir` are kept alive (and read by later scenarios).
pub struct Rv {
    pub key: Signer,
    pub jwks: JwksServer,
    pub iss: String,
    pub tg: Tokengate,
    pub token_file: PathBuf,
    pub dir: PathBuf,
}

/// A private directory for one scenario's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tg-rv-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The scenario's config: `mode` (proxy or authz, with `authz_extra`), and `revocation`
/// keys besides `api_token_file`.
pub fn config(
    iss: &str,
    mode: &str,
    authz_extra: &str,
    revocation: &str,
    token_file: Option<&Path>,
    cache_dir: Option<&Path>,
) -> String {
    let head = if mode == "authz" {
        format!("mode: authz\n{authz_extra}")
    } else {
        format!("upstream: {{ url: 'http://{}' }}\n", start_echo())
    };
    let token = token_file.map_or(String::new(), |f| {
        format!("  api_token_file: '{}'\n", f.display())
    });
    let jwks = cache_dir.map_or(String::new(), |d| {
        format!("jwks: {{ cache_dir: '{}' }}\n", d.display())
    });
    format!(
        "{head}server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}, m2m-client]\n    token_use: [access, id]\n  - name: other\n    cognito: {{ issuer: '{iss}-other' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - {{ name: logout, match: {{ path: /logout }}, action: logout }}\n  - {{ name: public, match: {{ path_prefix: /public }}, auth: none }}\n  - {{ name: api, match: {{ path_prefix: / }} }}\nrevocation:\n{token}{revocation}{jwks}"
    )
}

impl Rv {
    pub fn start() -> Rv {
        Rv::with("proxy", "", "  store: memory\n", None)
    }

    /// `revocation` holds the section's keys besides `api_token_file` (each line indented).
    pub fn with(mode: &str, authz_extra: &str, revocation: &str, cache_dir: Option<&Path>) -> Rv {
        let rv = Rv::starting(mode, authz_extra, revocation, cache_dir);
        wait_ready(&rv.tg);
        rv
    }

    /// [`Rv::with`] without waiting for `/readyz`.
    pub fn starting(
        mode: &str,
        authz_extra: &str,
        revocation: &str,
        cache_dir: Option<&Path>,
    ) -> Rv {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let iss = jwks.issuer("us-east-1_Rv");
        let dir = scratch("scene");
        let token_file = dir.join("api-token");
        std::fs::write(&token_file, format!("\n  {API_TOKEN}  \n")).unwrap();
        let text = config(
            &iss,
            mode,
            authz_extra,
            revocation,
            Some(&token_file),
            cache_dir,
        );
        let tg = Tokengate::start(&text, false);
        Rv {
            key,
            jwks,
            iss,
            tg,
            token_file,
            dir,
        }
    }

    /// An access token of `user` with this session (`origin_jti`) and token id (`jti`).
    pub fn access(&self, user: &str, session: &str, jti: &str) -> String {
        let mut c = access_claims(&self.iss, user, &[]);
        c["origin_jti"] = json!(session);
        c["jti"] = json!(jti);
        self.key.sign(&c)
    }

    /// An ID token of `user` with this session and token id.
    pub fn id(&self, user: &str, session: &str, jti: &str) -> String {
        let mut c = id_claims(&self.iss, user);
        c["origin_jti"] = json!(session);
        c["jti"] = json!(jti);
        self.key.sign(&c)
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.tg.send(&get_with(path, &[&bearer(token)]))
    }

    /// One admin API call with the right token.
    pub fn api(&self, method: &str, body: Option<&Value>) -> Reply {
        admin_call(
            &self.tg,
            method,
            body.map(Value::to_string).as_deref(),
            Some(API_TOKEN),
        )
    }

    /// POSTs an entry and expects 201.
    pub fn revoke(&self, body: Value) -> Value {
        let r = self.api("POST", Some(&body));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }
}

/// Waits until `/readyz` is 200 (keys fetched, revocation list loaded), at most 5 s.
pub fn wait_ready(tg: &Tokengate) {
    wait_ready_within(tg, Duration::from_secs(5));
}

/// Waits until `/readyz` is 200, for `limit` of wall-clock time (a hung admin listener's
/// slow answers count); panics with its body and the log after.
pub fn wait_ready_within(tg: &Tokengate, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if tg.admin_get("/readyz").status == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "not ready after {limit:?}: {} / {}",
        String::from_utf8_lossy(&tg.admin_get("/readyz").body),
        tg.output()
    );
}

/// `method /revocations` on the admin listener with an optional JSON body and bearer token.
pub fn admin_call(tg: &Tokengate, method: &str, body: Option<&str>, token: Option<&str>) -> Reply {
    let mut raw = format!("{method} /revocations HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n");
    if let Some(t) = token {
        raw.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        raw.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        raw.push_str("\r\n");
    }
    try_request(tg.admin, &raw).unwrap()
}

/// Asserts a 401 `token revoked`.
pub fn assert_revoked(r: &Reply, what: &str) {
    assert_eq!(
        r.status,
        401,
        "{what}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["error"], "invalid_token", "{what}");
    assert_eq!(r.json()["error_description"], "token revoked", "{what}");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error_description="token revoked""#));
}

#[test]
fn an_origin_jti_entry_refuses_both_tokens_of_that_session_cached_verdicts_included() {
    let s = Rv::start();
    let a_access = s.access("alice", "session-a", "a-1");
    let a_id = s.id("alice", "session-a", "a-2");
    let a_refreshed = s.access("alice", "session-a", "a-3");
    let b_access = s.access("alice", "session-b", "b-1");
    // Verdicts cached first.
    for t in [&a_access, &a_id, &a_refreshed, &b_access] {
        assert_eq!(s.get("/api/x", t).status, 200);
        assert_eq!(s.get("/api/x", t).status, 200);
    }
    let stored = s.revoke(json!({"issuer": "main", "origin_jti": "session-a"}));
    assert_eq!(stored["origin_jti"], "session-a");
    assert_eq!(stored["issuer"], "main");
    let created = stored["created_at"].as_u64().unwrap();
    assert_eq!(stored["expires_at"].as_u64().unwrap(), created + 86_400);
    for (t, what) in [
        (&a_access, "access"),
        (&a_id, "id"),
        (&a_refreshed, "refreshed"),
    ] {
        assert_revoked(&s.get("/api/x", t), what);
    }
    assert_eq!(s.get("/api/x", &b_access).status, 200, "session B passes");
    assert_eq!(
        s.get("/public/x", &a_access).status,
        200,
        "auth: none never looks"
    );
    let metrics = String::from_utf8(s.tg.admin_get("/metrics").body).unwrap();
    assert!(
        metrics
            .contains(r#"tokengate_token_verifications_total{issuer="main",result="revoked"} 3"#),
        "{metrics}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let out = s.tg.output();
    assert!(
        out.contains("token revoked"),
        "the access log gives the reason"
    );
}

#[test]
fn a_sub_cut_off_refuses_tokens_issued_up_to_before_and_not_later_ones() {
    let s = Rv::start();
    let at = |iat: u64| {
        let mut c = access_claims(&s.iss, "bob", &[]);
        c["iat"] = json!(iat);
        c["auth_time"] = json!(iat);
        s.key.sign(&c)
    };
    let before = now() - 100;
    let old = at(before - 10);
    let same_second = at(before);
    let newer = at(before + 1);
    let stored = s.revoke(json!({"issuer": "main", "sub": "sub-bob", "before": before}));
    assert_eq!(stored["before"], before);
    assert_revoked(&s.get("/api/x", &old), "older");
    assert_revoked(&s.get("/api/x", &same_second), "same second");
    assert_eq!(s.get("/api/x", &newer).status, 200);
    assert_eq!(s.get("/api/x", &s.access("carol", "c", "c")).status, 200);
}

#[test]
fn a_client_id_cut_off_refuses_machine_tokens_without_user_claims() {
    let s = Rv::start();
    let t = now();
    let m2m = |iat: u64| {
        s.key.sign(
            &json!({"sub": "m2m-client", "iss": s.iss, "token_use": "access",
            "client_id": "m2m-client", "scope": "orders/read", "iat": iat, "exp": t + 3600,
            "jti": format!("m2m-{iat}")}),
        )
    };
    let old = m2m(t - 60);
    assert_eq!(s.get("/api/x", &old).status, 200);
    s.revoke(json!({"issuer": "main", "client_id": "m2m-client", "before": t - 30}));
    assert_revoked(&s.get("/api/x", &old), "m2m before the cut-off");
    assert_eq!(s.get("/api/x", &m2m(t - 10)).status, 200);
    assert_eq!(
        s.get("/api/x", &s.access("alice", "a", "a")).status,
        200,
        "user tokens of another client"
    );
}

#[test]
fn a_jti_entry_refuses_one_token_and_delete_undoes_it() {
    let s = Rv::start();
    let one = s.access("alice", "s", "jti-one");
    let two = s.access("alice", "s", "jti-two");
    let entry = json!({"issuer": "main", "jti": "jti-one"});
    s.revoke(entry.clone());
    assert_revoked(&s.get("/api/x", &one), "jti");
    assert_eq!(s.get("/api/x", &two).status, 200);
    let listed = s.api("GET", None);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["entries"][0]["jti"], "jti-one");
    assert_eq!(s.api("DELETE", Some(&entry)).status, 204);
    assert_eq!(s.api("DELETE", Some(&entry)).status, 404);
    assert_eq!(s.get("/api/x", &one).status, 200);
    assert_eq!(s.api("GET", None).json(), json!({"entries": []}));
}

#[test]
fn the_admin_api_needs_the_token_and_names_bad_requests() {
    let s = Rv::start();
    let body = json!({"issuer": "main", "jti": "x"}).to_string();
    for token in [None, Some("wrong"), Some("admin-secret-471")] {
        let r = admin_call(&s.tg, "POST", Some(&body), token);
        assert_eq!(r.status, 401, "{token:?}");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
        assert_eq!(admin_call(&s.tg, "GET", None, token).status, 401);
    }
    assert_eq!(s.api("GET", None).json()["entries"], json!([]));
    for (body, description) in [
        ("{not json", "body is not JSON"),
        (r#"{"issuer": "nope", "jti": "x"}"#, "unknown issuer"),
        (
            r#"{"issuer": "main", "jti": "x", "sub": "y"}"#,
            "only one of origin_jti, jti, sub, client_id may be given",
        ),
        (
            r#"{"issuer": "main", "jti": "x", "colour": "red"}"#,
            "unknown field \"colour\"",
        ),
        (
            r#"{"issuer": "main"}"#,
            "one of origin_jti, jti, sub, client_id is required",
        ),
    ] {
        let r = admin_call(&s.tg, "POST", Some(body), Some(API_TOKEN));
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error_description"], description, "{body}");
    }
    let huge = format!(r#"{{"issuer": "main", "jti": "{}"}}"#, "x".repeat(10_000));
    assert_eq!(
        admin_call(&s.tg, "POST", Some(&huge), Some(API_TOKEN)).status,
        413
    );
    assert_eq!(admin_call(&s.tg, "PUT", None, Some(API_TOKEN)).status, 405);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !s.tg.output().contains(API_TOKEN),
        "the API token is never logged"
    );
}

#[test]
fn without_an_api_token_file_revocations_is_404() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let text = config(
        &jwks.issuer("p"),
        "proxy",
        "",
        "  store: memory\n",
        None,
        None,
    );
    let tg = Tokengate::start(&text, true);
    assert_eq!(admin_call(&tg, "GET", None, Some(API_TOKEN)).status, 404);
    let body = json!({"issuer": "main", "jti": "x"}).to_string();
    assert_eq!(
        admin_call(&tg, "POST", Some(&body), Some(API_TOKEN)).status,
        404
    );
}

#[test]
fn the_api_token_file_is_read_again_on_reload() {
    let s = Rv::start();
    std::fs::write(&s.token_file, "rotated-secret\n").unwrap();
    s.tg.signal("-HUP");
    let mut status = 0;
    for _ in 0..100 {
        status = admin_call(&s.tg, "GET", None, Some("rotated-secret")).status;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(status, 200, "{}", s.tg.output());
    assert_eq!(
        admin_call(&s.tg, "GET", None, Some(API_TOKEN)).status,
        401,
        "the old token no longer works"
    );
}

/// `POST /logout` with a token.
pub fn logout_request(token: &str) -> String {
    format!(
        "POST /logout HTTP/1.1\r\nHost: test.local\r\n{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        bearer(token)
    )
}

#[test]
fn a_logout_route_answers_204_itself_and_the_session_is_refused_from_then_on() {
    let s = Rv::start();
    let a_access = s.access("alice", "session-a", "a-1");
    let a_id = s.id("alice", "session-a", "a-2");
    let b_access = s.access("alice", "session-b", "b-1");
    assert_eq!(s.get("/api/x", &a_id).status, 200, "cached before logout");
    let r = s.tg.send(&logout_request(&a_access));
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.body.is_empty(), "answered by tokengate, not the upstream");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_revoked(&s.get("/api/x", &a_access), "access token of the session");
    assert_revoked(&s.get("/api/x", &a_id), "ID token of the session");
    assert_revoked(&s.tg.send(&logout_request(&a_access)), "logout again");
    assert_eq!(s.get("/api/x", &b_access).status, 200);
    let listed = s.api("GET", None).json();
    assert_eq!(listed["entries"][0]["origin_jti"], "session-a");
    assert_eq!(listed["entries"][0]["issuer"], "main");

    // A token with only a jti lists that token.
    let mut c = access_claims(&s.iss, "dave", &[]);
    c.as_object_mut().unwrap().remove("origin_jti");
    c["jti"] = json!("only-jti");
    let only_jti = s.key.sign(&c);
    assert_eq!(s.tg.send(&logout_request(&only_jti)).status, 204);
    assert_revoked(&s.get("/api/x", &only_jti), "jti only");

    // Nothing to list: 400; no token: 401; a bad token: 401, and nothing is listed.
    c.as_object_mut().unwrap().remove("jti");
    let r = s.tg.send(&logout_request(&s.key.sign(&c)));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "token has no origin_jti or jti to revoke"
    );
    let r = s.tg.send(&get("/logout"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "missing_token");
    let forged = Signer::attacker_key().sign(&access_claims(&s.iss, "eve", &[]));
    assert_eq!(s.tg.send(&logout_request(&forged)).status, 401);
    assert_eq!(
        s.api("GET", None).json()["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        s.tg.output().contains("logged out"),
        "the access log says why"
    );
}

#[test]
fn in_authz_mode_a_logout_check_is_answered_204_and_the_session_refused_after() {
    let s = Rv::with("authz", "", "  store: memory\n", None);
    let a = s.access("alice", "session-a", "a-1");
    let b = s.access("alice", "session-b", "b-1");
    let check = |uri: &str, method: &str, token: &str| {
        s.tg.send(&get_with(
            "/",
            &[
                &format!("X-Forwarded-Method: {method}"),
                &format!("X-Forwarded-Uri: {uri}"),
                &bearer(token),
            ],
        ))
    };
    assert_eq!(check("/api/x", "GET", &a).status, 200);
    let r = check("/logout", "POST", &a);
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        !r.headers.contains_key("x-auth-sub"),
        "no identity for a logout"
    );
    assert_revoked(&check("/api/x", "GET", &a), "after logout");
    assert_eq!(check("/api/x", "GET", &b).status, 200);
}

#[test]
fn over_ext_authz_grpc_a_logout_is_a_204_envoy_answers_itself() {
    use crate::ext_authz::{check, code, request};
    use envoy_types::ext_authz::v3::pb::HttpResponse;
    let grpc: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let s = Rv::with(
        "authz",
        &format!("authz: {{ grpc_listen: '{grpc}' }}\n"),
        "  store: memory\n",
        None,
    );
    let a = format!("Bearer {}", s.access("alice", "session-a", "a-1"));
    let b = format!("Bearer {}", s.access("alice", "session-b", "b-1"));
    let ok = check(grpc, request("GET", "/api/x", &[("authorization", &a)]));
    assert_eq!(code(&ok), 0);
    let r = check(grpc, request("POST", "/logout", &[("authorization", &a)]));
    assert_ne!(code(&r), 0, "not forwarded");
    match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            assert_eq!(d.status.as_ref().map(|s| s.code), Some(204));
            assert!(d.body.is_empty());
        }
        other => panic!("not a denied response: {other:?}"),
    }
    let r = check(grpc, request("GET", "/api/x", &[("authorization", &a)]));
    assert_eq!(code(&r), 16, "UNAUTHENTICATED");
    match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            assert_eq!(d.status.as_ref().map(|s| s.code), Some(401));
            let body: Value = serde_json::from_str(&d.body).unwrap();
            assert_eq!(body["error_description"], "token revoked");
        }
        other => panic!("not a denied response: {other:?}"),
    }
    let ok = check(grpc, request("GET", "/api/x", &[("authorization", &b)]));
    assert_eq!(code(&ok), 0, "session B passes");
}

/// `tokengate revoke` with these arguments: (exit code, stdout, stderr).
fn revoke_cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).arg("revoke").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tokengate_revoke_exits_0_when_stored_1_when_refused_2_when_unreachable() {
    let s = Rv::start();
    let admin = format!("http://{}", s.tg.admin);
    let file = s.token_file.to_str().unwrap();
    let (code, out, err) = revoke_cli(&[
        "--admin",
        &admin,
        "--token-file",
        file,
        "--issuer",
        "main",
        "--sub",
        "sub-alice",
        "--before",
        "2026-01-01T01:00:00+01:00",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let stored: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(stored["sub"], "sub-alice");
    assert_eq!(stored["before"], 1_767_225_600u64);
    assert!(stored["expires_at"].as_u64().is_some());

    let (code, out, err) = revoke_cli(&[
        "--admin",
        &admin,
        "--token-file",
        file,
        "--issuer",
        "main",
        "--origin-jti",
        "sess-1",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap()["origin_jti"],
        "sess-1"
    );
    assert_revoked(
        &s.get("/api/x", &s.access("alice", "sess-1", "x")),
        "revoked by the CLI",
    );

    let (code, _, err) = revoke_cli(&[
        "--admin",
        &admin,
        "--token-file",
        file,
        "--issuer",
        "nope",
        "--jti",
        "j",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown issuer"), "{err}");
    let wrong = s.dir.join("wrong-token");
    std::fs::write(&wrong, "not-the-token").unwrap();
    let (code, _, err) = revoke_cli(&[
        "--admin",
        &admin,
        "--token-file",
        wrong.to_str().unwrap(),
        "--issuer",
        "main",
        "--jti",
        "j",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("401"), "{err}");

    let closed = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = revoke_cli(&[
        "--admin",
        &closed,
        "--token-file",
        file,
        "--issuer",
        "main",
        "--jti",
        "j",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert_eq!(
        s.api("GET", None).json()["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn with_cache_dir_entries_survive_a_restart() {
    let cache = scratch("persist");
    let s = Rv::with("proxy", "", "  store: memory\n", Some(&cache));
    let a = s.access("alice", "session-a", "a-1");
    assert_eq!(s.tg.send(&logout_request(&a)).status, 204);
    s.revoke(json!({"issuer": "main", "sub": "sub-bob"}));
    let file = cache.join("revocations.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["entries"].as_array().unwrap().len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(&s.tg.config)
        .unwrap()
        .replace(&s.tg.addr.to_string(), "LISTEN")
        .replace(&s.tg.admin.to_string(), "ADMIN");
    drop(s.tg);

    let tg = Tokengate::start(&config, false);
    wait_ready(&tg);
    assert_revoked(
        &tg.send(&get_with("/api/x", &[&bearer(&a)])),
        "after restart",
    );
    let listed = admin_call(&tg, "GET", None, Some(API_TOKEN)).json();
    assert_eq!(listed["entries"].as_array().unwrap().len(), 2, "{listed}");
}

#[test]
fn a_persisted_list_of_100000_entries_loads_without_holding_the_process() {
    // Found while measuring RSS with a large list: each entry read was compared with every
    // entry kept so far, so 100,000 persisted entries kept the runtime busy for minutes and
    // `/readyz` unanswered. Loading is one hash set of the targets now (linear): ready within
    // seconds (the test profile, a loaded machine), every entry in force.
    let cache = scratch("large");
    let now = now();
    let entries: Vec<Value> = (0..100_000)
        .map(|i| {
            json!({"issuer": "main", "origin_jti": format!("session-{i}"),
                   "created_at": now, "expires_at": now + 3600})
        })
        .collect();
    std::fs::write(
        cache.join("revocations.json"),
        json!({"version": 1, "entries": entries}).to_string(),
    )
    .unwrap();
    let s = Rv::starting("proxy", "", "  store: memory\n", Some(&cache));
    wait_ready_within(&s.tg, Duration::from_secs(60));
    assert_eq!(
        s.tg.metric(r#"tokengate_revocations{kind="origin_jti"}"#),
        100_000.0
    );
    for session in ["session-0", "session-54321", "session-99999"] {
        assert_revoked(
            &s.get("/api/x", &s.access("alice", session, "a-1")),
            session,
        );
    }
    let kept = s.access("alice", "session-100000", "a-2");
    assert_eq!(s.get("/api/x", &kept).status, 200);
}

#[test]
fn entries_expire_after_max_token_lifetime() {
    let s = Rv::with("proxy", "", "  max_token_lifetime: 2s\n", None);
    let t = s.access("alice", "short-session", "s-1");
    let stored = s.revoke(json!({"issuer": "main", "origin_jti": "short-session"}));
    assert_eq!(
        stored["expires_at"].as_u64().unwrap(),
        stored["created_at"].as_u64().unwrap() + 2
    );
    assert_revoked(&s.get("/api/x", &t), "within its lifetime");
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(s.get("/api/x", &t).status, 200, "{}", s.tg.output());
    assert_eq!(s.api("GET", None).json(), json!({"entries": []}));
    assert_eq!(
        s.tg.metric(r#"tokengate_revocations{kind="origin_jti"}"#),
        0.0
    );
}

#[test]
fn metrics_count_entries_by_kind_and_the_sync_age() {
    let s = Rv::start();
    let text = String::from_utf8(s.tg.admin_get("/metrics").body).unwrap();
    assert!(
        text.contains("tokengate_revocation_sync_age_seconds 0"),
        "{text}"
    );
    assert!(
        text.contains(r#"tokengate_revocations{kind="jti"} 0"#),
        "{text}"
    );
    s.revoke(json!({"issuer": "main", "origin_jti": "o-1"}));
    s.revoke(json!({"issuer": "main", "origin_jti": "o-2"}));
    s.revoke(json!({"issuer": "other", "client_id": "c"}));
    assert_eq!(
        s.tg.metric(r#"tokengate_revocations{kind="origin_jti"}"#),
        2.0
    );
    assert_eq!(
        s.tg.metric(r#"tokengate_revocations{kind="client_id"}"#),
        1.0
    );
    assert_eq!(s.tg.metric(r#"tokengate_revocations{kind="sub"}"#), 0.0);

    // Without a revocation section neither family is exported.
    let plain = crate::setup::Scene::start();
    let text = String::from_utf8(plain.tg.admin_get("/metrics").body).unwrap();
    assert!(!text.contains("tokengate_revocation"), "{text}");
}

#[test]
fn readyz_waits_for_the_list_and_token_routes_answer_503_until_it_loads() {
    let cache = scratch("unready");
    let file = cache.join("revocations.json");
    std::fs::write(&file, "{ half a file").unwrap();
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("p");
    let text = config(&iss, "proxy", "", "  store: memory\n", None, Some(&cache));
    let tg = Tokengate::start(&text, false);
    std::thread::sleep(Duration::from_millis(500));
    let ready = tg.admin_get("/readyz");
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.json()["revocation"],
        json!({"store": "memory", "loaded": false})
    );
    assert_eq!(ready.json()["issuers_without_keys"], json!([]));
    let token = key.sign(&access_claims(&iss, "alice", &[]));
    let r = tg.send(&get_with("/api/x", &[&bearer(&token)]));
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "keys_unavailable");
    assert_eq!(r.json()["error_description"], "revocation list unavailable");
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        tg.send(&get("/public/x")).status,
        200,
        "auth: none routes work"
    );
    assert!(
        tg.metric(r#"tokengate_revocation_sync_age_seconds"#)
            .is_infinite(),
        "+Inf before the first load"
    );
    assert!(tg.output().contains("is not a tokengate revocation list"));

    // The operator removes the broken file: the next attempt loads an empty list.
    std::fs::remove_file(&file).unwrap();
    wait_ready(&tg);
    let ready = tg.admin_get("/readyz").json();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["revocation"]["loaded"], true);
    assert_eq!(tg.send(&get_with("/api/x", &[&bearer(&token)])).status, 200);
}

#[test]
fn a_reload_keeps_the_list_and_refuses_to_drop_the_section() {
    let s = Rv::start();
    let a = s.access("alice", "session-a", "a-1");
    s.revoke(json!({"issuer": "main", "origin_jti": "session-a"}));
    let template = std::fs::read_to_string(&s.tg.config)
        .unwrap()
        .replace(&s.tg.addr.to_string(), "LISTEN")
        .replace(&s.tg.admin.to_string(), "ADMIN");
    let reloaded = |ok: f64, error: f64| {
        for _ in 0..100 {
            if s.tg
                .metric(r#"tokengate_config_reloads_total{result="ok"}"#)
                == ok
                && s.tg
                    .metric(r#"tokengate_config_reloads_total{result="error"}"#)
                    == error
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("reload not counted: {}", s.tg.output());
    };

    // A change inside the section: applied, the entries kept, the store settings noted.
    s.tg.rewrite_config(
        &template.replace("  store: memory\n", "  store: memory\n  max_lag: 30s\n"),
    );
    s.tg.signal("-HUP");
    reloaded(1.0, 0.0);
    assert_revoked(&s.get("/api/x", &a), "after a reload");

    // Without the section: refused, so revoked tokens stay refused.
    let without = template.split("revocation:\n").next().unwrap().replace(
        "  - { name: logout, match: { path: /logout }, action: logout }\n",
        "",
    );
    s.tg.rewrite_config(&without);
    s.tg.signal("-HUP");
    reloaded(1.0, 1.0);
    assert_revoked(&s.get("/api/x", &a), "after a refused reload");
    assert!(s
        .tg
        .output()
        .contains("adding or removing the revocation section needs a restart"));
}
