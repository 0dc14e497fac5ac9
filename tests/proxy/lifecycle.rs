//! The key lifecycle as a user sees it: periodic refresh, withdrawal, outages before and
//! after start-up, `max_stale`, `cache_dir` restarts, a hanging issuer beside a healthy one,
//! and a burst of random kids.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::harness::*;

fn config(jwks: &JwksServer, upstream: std::net::SocketAddr, jwks_section: &str) -> String {
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\njwks: {{ {jwks_section} }}\n",
        jwks.issuer("us-east-1_Life")
    )
}

/// Issuer `main` (key k1) on a JWKS server, an echo upstream, tokengate with `jwks_section`.
fn life(jwks_section: &str, ready: bool) -> (Signer, JwksServer, String, Tokengate) {
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let tg = Tokengate::start(&config(&jwks, upstream, jwks_section), ready);
    (k1, jwks, iss, tg)
}

fn serve(jwks: &JwksServer, keys: &[&Signer]) {
    let doc = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
    jwks.body
        .store(Arc::new(bytes::Bytes::from(doc.to_string())));
}

fn k2() -> Signer {
    Signer::from_pem("k2", include_str!("../fixtures/keys/attacker-rsa2048.pem"))
}

/// Polls `/keys` until `check` holds for issuer 0 (at most ~`limit`).
fn wait_keys(
    tg: &Tokengate,
    limit: Duration,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..(limit.as_millis() / 50) {
        last = tg.admin_get("/keys").json()["issuers"][0].clone();
        if check(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("condition not reached; last /keys: {last}");
}

#[test]
fn periodic_refresh_picks_up_a_rotation_and_a_withdrawn_key_stops_its_tokens() {
    let (k1, jwks, iss, tg) = life("refresh_interval: 1s, min_refresh_interval: 500ms", true);
    let old = k1.sign(&access_claims(&iss, "alice", &[]));
    assert_eq!(tg.send(&get_with("/", &[&bearer(&old)])).status, 200);
    let new = k2();
    serve(&jwks, &[&new]);
    wait_keys(&tg, Duration::from_secs(5), |i| i["kids"] == json!(["k2"]));
    let fetches = jwks.fetch_count();
    assert!(fetches >= 2, "the refresh did the work, not a request");
    let r = tg.send(&get_with(
        "/",
        &[&bearer(&new.sign(&access_claims(&iss, "alice", &[])))],
    ));
    assert_eq!(r.status, 200);
    let r = tg.send(&get_with("/", &[&bearer(&old)]));
    assert_eq!(
        r.status, 401,
        "a withdrawn key's token, accepted before, is refused now"
    );
    assert_eq!(r.json()["error_description"], "unknown kid");
}

#[test]
fn an_outage_after_start_up_keeps_the_last_good_keys() {
    let (k1, jwks, iss, tg) = life("refresh_interval: 1s, min_refresh_interval: 500ms", true);
    jwks.status.store(500, Ordering::SeqCst);
    let status = wait_keys(&tg, Duration::from_secs(5), |i| !i["last_error"].is_null());
    assert_eq!(status["kids"], json!(["k1"]));
    assert_eq!(status["source"], "fetch");
    let token = k1.sign(&access_claims(&iss, "alice", &[]));
    assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
    assert_eq!(tg.admin_get("/readyz").status, 200);
}

#[test]
fn start_up_during_an_outage_is_503_and_not_ready_until_the_endpoint_recovers() {
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    jwks.status.store(503, Ordering::SeqCst);
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let tg = Tokengate::start(&config(&jwks, upstream, ""), false);
    let token = k1.sign(&access_claims(&iss, "alice", &[]));
    let r = tg.send(&get_with("/", &[&bearer(&token)]));
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "keys_unavailable");
    assert!(r.header("retry-after").is_some());
    let ready = tg.admin_get("/readyz");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["issuers_without_keys"], json!(["main"]));
    jwks.status.store(200, Ordering::SeqCst);
    wait_keys(&tg, Duration::from_secs(6), |i| i["source"] == "fetch");
    assert_eq!(tg.admin_get("/readyz").status, 200);
    assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
}

#[test]
fn keys_unconfirmed_for_max_stale_are_dropped_and_come_back_with_the_endpoint() {
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let section = "refresh_interval: 1s, min_refresh_interval: 500ms, max_stale: 2s";
    let tg = Tokengate::start(&config(&jwks, upstream, section), true);
    let token = k1.sign(&access_claims(&iss, "alice", &[]));
    jwks.status.store(500, Ordering::SeqCst);
    wait_keys(&tg, Duration::from_secs(6), |i| i["source"].is_null());
    let r = tg.send(&get_with("/", &[&bearer(&token)]));
    assert_eq!(r.status, 503, "fail closed once the keys are stale");
    assert_eq!(tg.admin_get("/readyz").status, 503);
    jwks.status.store(200, Ordering::SeqCst);
    wait_keys(&tg, Duration::from_secs(6), |i| i["source"] == "fetch");
    assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
}

#[test]
fn a_restart_during_an_outage_is_ready_at_once_from_cache_dir() {
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let dir = std::env::temp_dir().join(format!("tg-cache-{}-{}", std::process::id(), free_port()));
    let section = format!("cache_dir: '{}'", dir.display());
    {
        let tg = Tokengate::start(&config(&jwks, upstream, &section), true);
        wait_keys(&tg, Duration::from_secs(5), |i| i["source"] == "fetch");
        let file = dir.join("main.jwks.json");
        for _ in 0..100 {
            if file.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    jwks.status.store(500, Ordering::SeqCst);
    let tg = Tokengate::start(&config(&jwks, upstream, &section), true);
    let keys = tg.admin_get("/keys").json()["issuers"][0].clone();
    assert_eq!(keys["source"], "cache");
    assert_eq!(keys["kids"], json!(["k1"]));
    let token = k1.sign(&access_claims(&iss, "alice", &[]));
    assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
    // A corrupt cache file is ignored with a warning: not ready while the endpoint is down.
    drop(tg);
    std::fs::write(dir.join("main.jwks.json"), b"{not json").unwrap();
    let tg = Tokengate::start(&config(&jwks, upstream, &section), false);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(tg.admin_get("/readyz").status, 503);
    assert!(tg.output().contains("jwks cache file ignored"));
}

#[test]
fn a_hanging_issuer_never_slows_another_issuers_requests() {
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_addr = hang.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hang.incoming().take(64) {
            held.push(s);
        }
    });
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Fast");
    let cfg = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: fast\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n  - name: hung\n    cognito: {{ issuer: 'http://{hang_addr}/p' }}\n    client_ids: [{CLIENT}]\njwks: {{ fetch_timeout: 10s, min_refresh_interval: 1s }}\n"
    );
    let tg = Tokengate::start(&cfg, false);
    wait_keys(&tg, Duration::from_secs(5), |i| i["source"] == "fetch");
    let good = k1.sign(&access_claims(&iss, "alice", &[]));
    let hung_token = k1.sign(&access_claims(&format!("http://{hang_addr}/p"), "x", &[]));
    for _ in 0..20 {
        let started = SystemTime::now();
        assert_eq!(tg.send(&get_with("/", &[&bearer(&good)])).status, 200);
        assert!(started.elapsed().unwrap() < Duration::from_millis(500));
        let started = SystemTime::now();
        assert_eq!(tg.send(&get_with("/", &[&bearer(&hung_token)])).status, 503);
        assert!(started.elapsed().unwrap() < Duration::from_millis(500));
    }
}

#[test]
fn a_burst_of_1000_random_kids_over_50_connections_costs_at_most_one_refetch() {
    let (k1, jwks, iss, tg) = life("min_refresh_interval: 3s", true);
    let tokens: Vec<Vec<String>> = (0..50)
        .map(|c| {
            (0..20)
                .map(|i| {
                    let signer = Signer::from_pem(
                        &format!("rnd-{c}-{i}"),
                        include_str!("../fixtures/keys/issuer-rsa2048.pem"),
                    );
                    signer.sign(&access_claims(&iss, "x", &[]))
                })
                .collect()
        })
        .collect();
    let good = k1.sign(&access_claims(&iss, "alice", &[]));
    // Past the floor since the start-up fetch, so the burst may cause exactly one refetch.
    std::thread::sleep(Duration::from_secs(3));
    let addr = tg.addr;
    let started = SystemTime::now();
    let floods: Vec<_> = tokens
        .into_iter()
        .map(|batch| {
            std::thread::spawn(move || {
                batch
                    .iter()
                    .map(|t| {
                        try_request(addr, &get_with("/", &[&bearer(t)]))
                            .unwrap()
                            .status
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let mut valid_statuses = Vec::new();
    for _ in 0..20 {
        valid_statuses.push(tg.send(&get_with("/", &[&bearer(&good)])).status);
    }
    let mut refused = 0;
    for f in floods {
        let statuses = f.join().unwrap();
        assert!(statuses.iter().all(|s| *s == 401));
        refused += statuses.len();
    }
    let took = started.elapsed().unwrap();
    assert_eq!(refused, 1000);
    assert!(
        valid_statuses.iter().all(|s| *s == 200),
        "{valid_statuses:?}"
    );
    let fetches = jwks.fetch_count();
    eprintln!("burst of 1000 random kids over 50 connections: {fetches} JWKS fetches in total (1 at start-up), {took:?}");
    assert!(fetches <= 2, "{fetches} fetches");
}

#[test]
fn the_verified_token_cache_hits_but_never_outlives_exp() {
    let (k1, _jwks, iss, tg) = life("", true);
    let mut claims = access_claims(&iss, "alice", &[]);
    claims["exp"] = json!(now() + 2);
    let token = k1.sign(&claims);
    for _ in 0..3 {
        assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
    }
    let metrics = String::from_utf8(tg.admin_get("/metrics").body).unwrap();
    assert!(
        metrics.contains(r#"tokengate_verify_cache_total{result="hit"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tokengate_verify_cache_total{result="miss"} 1"#));
    std::thread::sleep(Duration::from_millis(2100));
    let r = tg.send(&get_with("/", &[&bearer(&token)]));
    assert_eq!(r.status, 401, "a cached verdict is never used after exp");
    assert_eq!(r.json()["error_description"], "token expired");
}

#[test]
fn with_cache_entries_0_every_request_is_verified_afresh() {
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let cfg = format!(
        "{}token: {{ cache_entries: 0 }}\n",
        config(&jwks, upstream, "")
    );
    let tg = Tokengate::start(&cfg, true);
    let token = k1.sign(&access_claims(&iss, "alice", &[]));
    for _ in 0..3 {
        assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
    }
    let metrics = String::from_utf8(tg.admin_get("/metrics").body).unwrap();
    assert!(metrics.contains(r#"tokengate_verify_cache_total{result="hit"} 0"#));
    assert!(metrics.contains(r#"tokengate_verify_cache_total{result="miss"} 0"#));
}

#[test]
fn cache_max_bytes_bounds_the_cache_by_memory_not_only_by_entries() {
    // One user minting tokens (every refresh gives a new one), each with a 4 KB claim: with
    // 1 MiB of cache, 200 of them (~2 MiB of entries) cannot all stay cached although
    // cache_entries would hold them all; the evicted ones are verified again, and pass.
    let k1 = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [k1.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Life");
    let cfg = format!(
        "{}token: {{ cache_entries: 65536, cache_max_bytes: 1048576 }}\n",
        config(&jwks, upstream, "")
    );
    let tg = Tokengate::start(&cfg, true);
    let tokens: Vec<String> = (0..200)
        .map(|i| {
            let mut claims = access_claims(&iss, &format!("user{i}"), &[]);
            claims["custom:profile"] = json!("p".repeat(4000));
            k1.sign(&claims)
        })
        .collect();
    for round in 0..2 {
        for token in &tokens {
            let r = tg.send(&get_with("/", &[&bearer(token)]));
            assert_eq!(r.status, 200, "round {round}");
        }
    }
    let hits = tg.metric(r#"tokengate_verify_cache_total{result="hit"}"#);
    let misses = tg.metric(r#"tokengate_verify_cache_total{result="miss"}"#);
    assert_eq!(hits + misses, 400.0);
    // The second round found fewer than half of its tokens: ~1 MiB holds ~70 of them.
    assert!(hits < 100.0, "hits {hits}, misses {misses}");
    assert!(misses > 300.0, "hits {hits}, misses {misses}");

    // The same tokens with the default bound (64 MiB): the second round is all hits.
    let tg = Tokengate::start(&config(&jwks, upstream, ""), true);
    for _ in 0..2 {
        for token in &tokens {
            assert_eq!(tg.send(&get_with("/", &[&bearer(token)])).status, 200);
        }
    }
    assert_eq!(
        tg.metric(r#"tokengate_verify_cache_total{result="hit"}"#),
        200.0
    );
}
