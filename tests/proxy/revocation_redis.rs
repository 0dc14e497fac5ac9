//! `store: redis` with real replicas: several tokengate processes on one real
//! `redis-server`. An entry written through one replica's admin API is in force on every
//! replica within 2 s (cached verdicts included); a replica started later loads it before
//! it is ready; Redis down -> `on_unavailable: deny` answers 503 past `max_lag`; Redis
//! restarted from its AOF -> the entries are still there and valid tokens pass again.

use std::time::Duration;

use serde_json::json;

use crate::harness::*;
use crate::redis_server::{available, RedisServer};
use crate::revocation::{admin_call, assert_revoked, config, scratch, wait_ready, API_TOKEN};

#[test]
fn an_entry_written_on_one_replica_is_in_force_on_every_replica_within_2_s() {
    if !available() {
        return;
    }
    let mut redis = RedisServer::start_with_aof();
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("us-east-1_Shared");
    let dir = scratch("redis-replicas");
    let token_file = dir.join("api-token");
    std::fs::write(&token_file, API_TOKEN).unwrap();
    let section = format!(
        "  store: redis\n  redis: {{ url: '{}' }}\n  max_lag: 2s\n  on_unavailable: deny\n",
        redis.url()
    );
    let start = || {
        let tg = Tokengate::start(
            &config(&iss, "proxy", "", &section, Some(&token_file), None),
            false,
        );
        wait_ready(&tg);
        tg
    };
    let replicas: Vec<Tokengate> = (0..3).map(|_| start()).collect();
    let token = |user: &str, session: &str| {
        let mut c = access_claims(&iss, user, &[]);
        c["origin_jti"] = json!(session);
        key.sign(&c)
    };
    let (a, b) = (token("alice", "session-a"), token("alice", "session-b"));
    for tg in &replicas {
        // Verified and cached everywhere before the revocation.
        assert_eq!(tg.send(&get_with("/x", &[&bearer(&a)])).status, 200);
    }

    let r = admin_call(
        &replicas[0],
        "POST",
        Some(r#"{"issuer": "main", "origin_jti": "session-a"}"#),
        Some(API_TOKEN),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    for (i, tg) in replicas.iter().enumerate() {
        within(
            Duration::from_secs(2),
            &format!("replica {i} refuses"),
            || tg.send(&get_with("/x", &[&bearer(&a)])).status == 401,
        );
        assert_revoked(&tg.send(&get_with("/x", &[&bearer(&a)])), "session A");
        assert_eq!(
            tg.send(&get_with("/x", &[&bearer(&b)])).status,
            200,
            "session B"
        );
    }

    // A replica started now loads the list before it reports ready.
    let late = start();
    assert_revoked(&late.send(&get_with("/x", &[&bearer(&a)])), "late replica");
    assert!(late.metric("tokengate_revocations{kind=\"origin_jti\"}") >= 1.0);

    // Redis down: past max_lag (2 s), deny answers 503 on token routes; public still 200.
    redis.kill();
    within(Duration::from_secs(6), "503 once the list is stale", || {
        replicas[1].send(&get_with("/x", &[&bearer(&b)])).status == 503
    });
    let r = replicas[1].send(&get_with("/x", &[&bearer(&b)]));
    assert_eq!(r.json()["error"], "keys_unavailable");
    assert!(r.header("retry-after").is_some());
    assert_eq!(replicas[1].send(&get("/public/x")).status, 200);

    // Redis back from its AOF: the entry survived, B passes again, A stays refused.
    redis.restart();
    for (i, tg) in replicas.iter().enumerate() {
        within(
            Duration::from_secs(10),
            &format!("replica {i} back"),
            || tg.send(&get_with("/x", &[&bearer(&b)])).status == 200,
        );
        assert_revoked(
            &tg.send(&get_with("/x", &[&bearer(&a)])),
            "after the restart",
        );
    }
}
