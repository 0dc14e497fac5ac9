//! Key rotation and unknown-kid floods: one shared refetch, never more often than
//! `min_refresh_interval`, and an unknown kid inside the floor is refused at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::harness::*;

const FLOOR: Duration = Duration::from_millis(1500);

fn scene() -> (JwksServer, Tokengate, String) {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Rot");
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\njwks: {{ min_refresh_interval: 1500ms, fetch_timeout: 2s }}\n"
    );
    let tg = Tokengate::start(&config, true);
    (jwks, tg, iss)
}

fn rotated_key() -> Signer {
    Signer::from_pem("k2", include_str!("../fixtures/keys/attacker-rsa2048.pem"))
}

#[test]
fn a_rotated_key_is_picked_up_by_one_refetch_without_a_restart() {
    let (jwks, tg, iss) = scene();
    assert_eq!(jwks.fetch_count(), 1);
    let new = rotated_key();
    jwks.body.store(Arc::new(bytes::Bytes::from(
        json!({"keys": [Signer::issuer_key().jwk(), new.jwk()]}).to_string(),
    )));
    std::thread::sleep(FLOOR);
    let token = new.sign(&access_claims(&iss, "alice", &[]));
    let r = tg.send(&get_with("/x", &[&bearer(&token)]));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(jwks.fetch_count(), 2);
    // Each fetch is counted once, with its result and what triggered it.
    let metrics = String::from_utf8(tg.admin_get("/metrics").body).unwrap();
    assert!(metrics
        .contains(r#"tokengate_jwks_fetches_total{issuer="main",result="ok",trigger="start"} 1"#));
    assert!(metrics.contains(
        r#"tokengate_jwks_fetches_total{issuer="main",result="ok",trigger="unknown_kid"} 1"#
    ));
    let total: f64 = metrics
        .lines()
        .filter(|l| l.starts_with(r#"tokengate_jwks_fetches_total{issuer="main","#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(total, 2.0, "sum() is the number of fetches:\n{metrics}");
}

#[test]
fn inside_the_floor_an_unknown_kid_is_refused_at_once_without_a_fetch() {
    let (jwks, tg, iss) = scene();
    let token = rotated_key().sign(&access_claims(&iss, "alice", &[]));
    let started = std::time::SystemTime::now();
    let r = tg.send(&get_with("/x", &[&bearer(&token)]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "unknown kid");
    assert!(started.elapsed().unwrap() < Duration::from_millis(500));
    assert_eq!(jwks.fetch_count(), 1);
}

#[test]
fn a_flood_of_random_kids_causes_one_fetch_and_valid_tokens_keep_working() {
    let (jwks, tg, iss) = scene();
    // The 128 tokens are minted before the flood, so that the flood itself is short.
    let tokens: Vec<Vec<String>> = (0..16)
        .map(|t| {
            (0..8)
                .map(|i| {
                    Signer::from_pem(
                        &format!("random-{t}-{i}"),
                        include_str!("../fixtures/keys/issuer-rsa2048.pem"),
                    )
                    .sign(&access_claims(&iss, "x", &[]))
                })
                .collect()
        })
        .collect();
    std::thread::sleep(FLOOR);
    let addr = tg.addr;
    let started = tokio::time::Instant::now();
    let threads: Vec<_> = tokens
        .into_iter()
        .map(|batch| {
            std::thread::spawn(move || {
                batch
                    .iter()
                    .map(|token| {
                        try_request(addr, &get_with("/x", &[&bearer(token)]))
                            .unwrap()
                            .status
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|s| *s == 401));
    }
    let flood = started.elapsed();
    // One shared refetch for the whole flood; on a machine so loaded that the flood outlasts
    // the floor, still never more than one per floor interval.
    let refetches = jwks.fetch_count() - 1;
    let allowed = 1 + (flood.as_millis() / FLOOR.as_millis()) as usize;
    assert!(
        refetches >= 1 && refetches <= allowed,
        "128 random kids in {flood:?}: {refetches} refetches, at most {allowed} allowed"
    );
    if flood < FLOOR {
        assert_eq!(
            refetches, 1,
            "128 random kids inside one floor, one shared refetch"
        );
    }
    let before = jwks.fetch_count();
    let good = Signer::issuer_key().sign(&access_claims(&iss, "alice", &[]));
    assert_eq!(tg.send(&get_with("/x", &[&bearer(&good)])).status, 200);
    assert_eq!(jwks.fetch_count(), before, "a known kid fetches nothing");
}
