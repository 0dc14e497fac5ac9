//! The admin listener, metrics, JWKS fetch counts, access logs (and that no secret is ever
//! logged), and the command line.

use std::process::Command;

use serde_json::json;

use crate::harness::*;
use crate::setup::Scene;

#[test]
fn healthz_readyz_and_keys_report_each_issuer() {
    let s = Scene::start();
    assert_eq!(s.tg.admin_get("/healthz").status, 200);
    let ready = s.tg.admin_get("/readyz");
    assert_eq!(ready.status, 503, "issuer `down` has no keys");
    assert_eq!(ready.json()["issuers_without_keys"], json!(["down"]));
    let keys = s.tg.admin_get("/keys").json();
    let main = &keys["issuers"][0];
    assert_eq!(main["name"], "main");
    assert_eq!(main["kids"], json!(["k1"]));
    assert_eq!(main["source"], "fetch");
    assert!(main["fetched_at"].as_str().unwrap().ends_with('Z'));
    assert!(main["last_error"].is_null());
    assert!(main["next_refresh"].as_str().is_some());
    let down = &keys["issuers"][1];
    assert_eq!(down["kids"], json!([]));
    assert!(down["source"].is_null());
    assert!(down["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(s.jwks.fetch_count(), 1);
    assert!(s.down.fetch_count() >= 1);
}

#[test]
fn readyz_is_200_once_every_issuer_has_keys() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: a\n    cognito: {{ issuer: '{}' }}\n    client_ids: [c]\n  - name: b\n    cognito: {{ issuer: '{}' }}\n    client_ids: [c]\n",
        jwks.issuer("us-east-1_A"),
        jwks.issuer("us-east-1_B")
    );
    let tg = Tokengate::start(&config, true);
    assert_eq!(tg.admin_get("/readyz").json()["ready"], true);
    assert_eq!(jwks.fetch_count(), 2, "one fetch per issuer at start-up");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let token = key.sign(&access_claims(&jwks.issuer("us-east-1_A"), "x", &[]));
    for _ in 0..20 {
        tg.send(&get_with("/", &[&bearer(&token)]));
    }
    assert_eq!(jwks.fetch_count(), 2, "requests never fetch keys");
}

#[test]
fn metrics_expose_every_family_with_bounded_labels() {
    let s = Scene::start();
    s.get("/api/x", &s.access("alice", &[]));
    s.get("/api/x", "garbage");
    s.tg.send(&get("/nowhere"));
    let text = String::from_utf8(s.tg.admin_get("/metrics").body).unwrap();
    for family in [
        "tokengate_requests_total",
        "tokengate_request_duration_seconds",
        "tokengate_token_verifications_total",
        "tokengate_verify_cache_total",
        "tokengate_jwks_fetches_total",
        "tokengate_jwks_keys",
        "tokengate_jwks_last_success_timestamp_seconds",
        "tokengate_upstream_duration_seconds",
        "tokengate_inflight_requests",
        "tokengate_config_reloads_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    assert!(
        text.contains(r#"tokengate_requests_total{outcome="allowed",route="api"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"tokengate_requests_total{outcome="invalid_token",route="api"} 1"#));
    assert!(text.contains(r#"tokengate_requests_total{outcome="no_route",route="-"} 1"#));
    assert!(text.contains(r#"tokengate_token_verifications_total{issuer="main",result="valid"} 1"#));
    assert!(text
        .contains(r#"tokengate_token_verifications_total{issuer="unknown",result="invalid"} 1"#));
    assert!(text
        .contains(r#"tokengate_jwks_fetches_total{issuer="main",result="ok",trigger="start"} 1"#));
    assert!(text.contains(
        r#"tokengate_jwks_fetches_total{issuer="down",result="http_status",trigger="start"} 1"#
    ));
    assert!(text.contains(r#"tokengate_jwks_keys{issuer="main"} 1"#));
    assert!(!text.contains("garbage"));
}

#[test]
fn logs_never_contain_a_token_an_authorization_value_or_a_cookie() {
    let s = Scene::with(
        "token:\n  sources: [header, 'cookie:tg', 'query:access_token']\nlog:\n  level: debug\n",
    );
    let good = s.access("alice", &[]);
    let expired = {
        let mut c = access_claims(&s.iss, "alice", &[]);
        c["exp"] = json!(now() - 5);
        s.key.sign(&c)
    };
    let forged = Signer::attacker_key().sign(&access_claims(&s.iss, "mallory", &[]));
    let cookie_secret = "session-secret-value-4711";
    for t in [&good, &expired, &forged] {
        s.get("/api/x", t);
        s.tg.send(&get_with(
            "/api/y",
            &[&format!("Cookie: tg={t}; other={cookie_secret}")],
        ));
        s.tg.send(&get(&format!("/api/z?access_token={t}")));
    }
    s.tg.send(&get_with(
        "/api/x",
        &["Authorization: Basic dXNlcjpwYXNzd29yZA=="],
    ));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = s.tg.output();
    for secret in [&good, &expired, &forged] {
        assert!(!out.contains(secret.as_str()), "a token reached the logs");
        for part in secret.split('.') {
            assert!(!out.contains(part), "a token segment reached the logs");
        }
    }
    assert!(!out.contains(cookie_secret));
    assert!(!out.contains("dXNlcjpwYXNzd29yZA"));
    // One JSON access-log line per request, with every field.
    let access: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "access")
        .collect();
    assert_eq!(access.len(), 10, "{out}");
    for line in &access {
        for field in [
            "method",
            "path",
            "status",
            "outcome",
            "reason",
            "sub",
            "issuer",
            "route",
            "duration_ms",
            "request_id",
            "trace_id",
            "span_id",
            "client_ip",
            "user_agent",
            "upstream_status",
            "bytes_in",
            "bytes_out",
            "tls",
            "http_version",
        ] {
            assert!(!line[field].is_null(), "{field} missing in {line}");
        }
        assert!(!line["path"].as_str().unwrap().contains('?'));
    }
    let ok = access.iter().find(|l| l["status"] == 200).unwrap();
    assert_eq!(ok["sub"], "sub-alice");
    assert_eq!(ok["issuer"], "main");
    assert_eq!(ok["route"], "api");
    assert_eq!(ok["outcome"], "allowed");
    assert!(access.iter().any(|l| l["reason"] == "token expired"));
}

fn tokengate(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TOKENGATE_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn help_and_version_exit_zero() {
    let help = tokengate(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for cmd in ["run", "check-config", "verify", "decode", "revoke", "demo"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    let version = tokengate(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn check_config_prints_ok_or_every_problem_with_its_path() {
    let ok = tokengate(&["check-config", "config/tokengate.yaml"]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "ok");
    let dir = std::env::temp_dir().join(format!("tg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "upstream: { url: http://127.0.0.1:1 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_A1 }\n    client_ids: []\nserver: { listn: x }\n").unwrap();
    let out = tokengate(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("issuers[0].client_ids: must not be empty"),
        "{text}"
    );
    assert!(text.contains("server.listn: unknown field"), "{text}");
    // `run` with the same file: exit 1 and one clear line.
    let run = tokengate(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("client_ids"));
}

#[test]
fn decode_prints_header_and_payload_without_verifying() {
    let token = Signer::attacker_key().sign(&json!({"sub": "x", "iss": "y"}));
    let out = tokengate(&["decode", &token]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["payload"]["sub"], "x");
    assert_eq!(v["header"]["kid"], "k1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT verified"));
    assert_eq!(tokengate(&["decode", "garbage"]).status.code(), Some(1));
}

#[test]
fn verify_answers_valid_invalid_or_could_not_check() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("us-east-1_Main");
    let dir = std::env::temp_dir().join(format!("tg-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("c.yaml");
    std::fs::write(&config, format!("upstream: {{ url: http://127.0.0.1:1 }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n  - name: gone\n    cognito: {{ issuer: 'http://127.0.0.1:{}/p' }}\n    client_ids: [{CLIENT}]\njwks: {{ fetch_timeout: 1s }}\n", free_port())).unwrap();
    let cfg = config.to_str().unwrap();
    let good = key.sign(&access_claims(&iss, "alice", &[]));
    let out = tokengate(&["verify", "--config", cfg, &good]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["issuer"], "main");
    assert_eq!(v["claims"]["username"], "alice");
    let forged = Signer::attacker_key().sign(&access_claims(&iss, "alice", &[]));
    let out = tokengate(&["verify", "--config", cfg, &forged]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["reason"], "bad signature");
    let gone_iss = std::fs::read_to_string(&config).unwrap();
    let gone_iss = gone_iss.lines().find(|l| l.contains("/p'")).unwrap();
    let gone_iss = gone_iss.split('\'').nth(1).unwrap().to_owned();
    let token = key.sign(&access_claims(&gone_iss, "a", &[]));
    let out = tokengate(&["verify", "--config", cfg, &token]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// How a command ended when its output could not be delivered: `closed`, stdout (and with
/// `stderr_too` stderr as well) is a pipe whose reader is already gone, as after `| head -1`;
/// otherwise stdout is `/dev/full` (every write fails with ENOSPC).
fn with_broken_output(args: &[&str], closed: bool, stderr_too: bool) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("TOKENGATE_CONFIG");
    if closed {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        if stderr_too {
            cmd.stderr(writer.try_clone().unwrap());
        }
        cmd.stdout(writer);
    } else {
        cmd.stdout(std::fs::File::create("/dev/full").unwrap());
    }
    cmd.output().unwrap()
}

#[test]
fn a_reader_that_goes_away_leaves_every_commands_exit_status_and_a_full_disk_is_an_error() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("us-east-1_Main");
    let dir = std::env::temp_dir().join(format!("tg-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("c.yaml");
    std::fs::write(&config, format!("upstream: {{ url: http://127.0.0.1:1 }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n")).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "upstream: { url: http://127.0.0.1:1 }\nissuers: []\n").unwrap();
    let cfg = config.to_str().unwrap();
    let good = key.sign(&access_claims(&iss, "alice", &[]));
    let forged = Signer::attacker_key().sign(&access_claims(&iss, "alice", &[]));

    // Each command with its usual status: a closed pipe changes none of them (before, every
    // one that printed with `println!` panicked: exit 101).
    let cases: [(&[&str], i32); 11] = [
        (&["--version"], 0),
        (&["--help"], 0),
        (&["version"], 0),
        (&["version", "--json"], 0),
        (&["config-schema"], 0),
        (&["check-config", cfg], 0),
        (&["check-config", bad.to_str().unwrap()], 1),
        (&["decode", &good], 0),
        (&["decode", "garbage"], 1),
        (&["verify", "--config", cfg, &good], 0),
        (&["verify", "--config", cfg, &forged], 1),
    ];
    for (args, code) in cases {
        for stderr_too in [false, true] {
            let out = with_broken_output(args, true, stderr_too);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?} (stderr closed too: {stderr_too}): {err}"
            );
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(!err.contains("cannot write"), "{args:?}: {err}");
        }
    }

    // Any other write error is one: the output is cut, so a command whose output is its
    // product fails with one line on stderr; verify's status still answers for the token.
    for args in [
        &["version"][..],
        &["config-schema"],
        &["check-config", cfg],
        &["decode", &good],
    ] {
        let out = with_broken_output(args, false, false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot write the output: No space left on device"),
            "{args:?}: {err}"
        );
    }
    let out = with_broken_output(&["verify", "--config", cfg, &good], false, false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("cannot write the output"), "{err}");
}

#[test]
fn demo_prints_curl_lines_that_give_200_403_401_then_logout_204_and_token_revoked() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let mut curls = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("curl") {
            curls.push(line.clone());
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    assert_eq!(curls.len(), 6, "{curls:?}");
    let mut replies = Vec::new();
    // Run in the printed order: the logout line revokes alice's session for the next one.
    for curl in &curls[..5] {
        let method = if curl.contains("-X POST") {
            "POST"
        } else {
            "GET"
        };
        let url = curl
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap();
        let rest = url.trim_start_matches("http://");
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        let headers: Vec<String> = curl
            .split("-H '")
            .skip(1)
            .map(|h| h.trim_end().trim_end_matches('\'').to_owned())
            .collect();
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let raw = get_with(path, &refs).replacen("GET ", &format!("{method} "), 1);
        let raw = if method == "POST" {
            raw.replacen("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1)
        } else {
            raw
        };
        let mut reply = None;
        for _ in 0..100 {
            if let Ok(r) = try_request(addr.parse().unwrap(), &raw) {
                if r.status != 503 {
                    reply = Some(r);
                    break;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let r = reply.expect("the demo proxy answered");
        if r.status == 200 {
            assert_eq!(
                r.upstream_header("x-auth-username").as_deref(),
                Some("alice")
            );
        }
        replies.push(r);
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 403, 401, 204, 401]);
    assert_eq!(replies[4].json()["error_description"], "token revoked");
}

/// Starts tokengate against a JWKS server answering `status` with `body`; returns what
/// `/keys` says about the issuer once its first fetch has failed or succeeded.
fn first_fetch(status: u16, body: &str, extra: &str) -> (serde_json::Value, Tokengate) {
    let jwks = JwksServer::start(&json!({}));
    jwks.body
        .store(std::sync::Arc::new(bytes::Bytes::from(body.to_owned())));
    jwks.status
        .store(status, std::sync::atomic::Ordering::SeqCst);
    let upstream = start_echo();
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [c]\njwks: {{ fetch_timeout: 1s{extra} }}\n",
        jwks.issuer("p")
    );
    let tg = Tokengate::start(&config, false);
    for _ in 0..100 {
        let keys = tg.admin_get("/keys").json();
        let issuer = keys["issuers"][0].clone();
        if !issuer["last_error"].is_null() || !issuer["source"].is_null() {
            return (issuer, tg);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no fetch outcome: {}", tg.output());
}

#[test]
fn a_jwks_endpoint_that_lies_leaves_the_issuer_without_keys() {
    let key = Signer::issuer_key();
    let good = json!({"keys": [key.jwk()]}).to_string();
    let cases = [
        (302, good.as_str(), "", "302"),
        (404, good.as_str(), "", "404"),
        (200, "not json", "", "not a JWKS"),
        (200, r#"{"keys": {}}"#, "", "not a JWKS"),
        (
            200,
            r#"{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}"#,
            "",
            "no usable key",
        ),
        (200, good.as_str(), ", max_bytes: 100", "larger than 100"),
    ];
    for (status, body, extra, expected) in cases {
        let (issuer, tg) = first_fetch(status, body, extra);
        assert!(issuer["source"].is_null(), "{expected}: {issuer}");
        let error = issuer["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{expected}: {error}");
        assert_eq!(tg.admin_get("/readyz").status, 503);
    }
    let (issuer, _tg) = first_fetch(200, &good, ", max_bytes: 100000");
    assert_eq!(issuer["source"], "fetch");
}

#[test]
fn h2c_prior_knowledge_requests_are_proxied() {
    let s = Scene::start();
    let token = s.access("alice", &[]);
    let addr = s.tg.addr;
    let reply = runtime().block_on(async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let request = hyper::Request::get(format!("http://{addr}/api/h2"))
            .header("authorization", format!("Bearer {token}"))
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = client.request(request).await.unwrap();
        let version = response.version();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (version, status, body)
    });
    assert_eq!(reply.0, hyper::Version::HTTP_2);
    assert_eq!(reply.1, 200);
    let echo: serde_json::Value = serde_json::from_slice(&reply.2).unwrap();
    assert_eq!(echo["headers"]["x-auth-sub"][0], "sub-alice");
    assert_eq!(
        echo["headers"]["host"][0],
        addr.to_string(),
        "Host from :authority"
    );
}

#[test]
fn a_hanging_jwks_endpoint_times_out_and_never_blocks_requests() {
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_addr = hang.local_addr().unwrap();
    // Accept and hold connections without ever answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hang.incoming().take(16) {
            held.push(stream);
        }
    });
    let upstream = start_echo();
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: 'http://{hang_addr}/p' }}\n    client_ids: [c]\njwks: {{ fetch_timeout: 500ms }}\nroutes:\n  - {{ match: {{ path_prefix: /public }}, auth: none }}\n  - {{ match: {{ path_prefix: / }} }}\n"
    );
    let tg = Tokengate::start(&config, false);
    // Requests that need no key are answered while the fetch hangs.
    assert_eq!(tg.send(&get("/public/x")).status, 200);
    let token =
        Signer::issuer_key().sign(&access_claims(&format!("http://{hang_addr}/p"), "a", &[]));
    assert_eq!(tg.send(&get_with("/x", &[&bearer(&token)])).status, 503);
    let mut error = String::new();
    for _ in 0..100 {
        let keys = tg.admin_get("/keys").json();
        if let Some(e) = keys["issuers"][0]["last_error"].as_str() {
            error = e.to_owned();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(error.contains("500ms"), "{error}");
}

#[test]
fn sighup_reloads_and_sigterm_exits_zero_after_readiness_turns_off() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let config = format!(
        "server: {{ listen: LISTEN, shutdown_grace: 2s }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [c]\n",
        jwks.issuer("p")
    );
    let mut tg = Tokengate::start(&config, true);
    let signal = |name: &str, pid: u32| {
        let ok = Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    signal("-HUP", tg.pid());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        tg.admin_get("/healthz").status,
        200,
        "SIGHUP must not stop tokengate"
    );
    assert!(tg.output().contains("SIGHUP received: reloading"));
    signal("-TERM", tg.pid());
    assert_eq!(
        tg.wait(std::time::Duration::from_secs(10)),
        Some(0),
        "{}",
        tg.output()
    );
    assert!(tg.output().contains("shutdown signal received"));
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let slow = start_slow_upstream(std::time::Duration::from_millis(1500));
    let config = format!(
        "server: {{ listen: LISTEN, shutdown_grace: 10s }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{slow}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
        jwks.issuer("p")
    );
    let mut tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "a", &[]));
    let addr = tg.addr;
    let in_flight =
        std::thread::spawn(move || try_request(addr, &get_with("/slow", &[&bearer(&token)])));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ok = Command::new("kill")
        .args(["-TERM", &tg.pid().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        tg.admin_get("/readyz").status,
        503,
        "readiness turns off at once"
    );
    assert!(
        try_request(addr, &get("/new")).is_err(),
        "new connections are refused"
    );
    let reply = in_flight.join().unwrap().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"late");
    assert_eq!(tg.wait(std::time::Duration::from_secs(10)), Some(0));
}
