//! `revocation.store: redis` against a real `redis-server` on loopback (stopped by its PID):
//! several `RedisStore` "replicas" in one process share one list; entries propagate within
//! 2 s, survive replica and Redis restarts (AOF), outages and trimming; TLS with a private
//! CA; passwords and ACL users. With `CI` set, a missing `redis-server` fails the tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "redis/net.rs"]
mod net;
#[path = "redis/replicas.rs"]
mod replicas;
#[path = "redis/server.rs"]
mod server;

use std::time::Duration;

use serde_json::json;
use tokengate::revocation::redis::{RedisSettings, RedisStore};
use tokengate::revocation::{Entry, OnUnavailable, Refusal, Revocations, Store, StoreError};
use tokio::time::Instant;

use net::{Relay, Silent};
use replicas::*;
use server::RedisServer;

macro_rules! require_redis {
    () => {
        if !server::available() {
            return;
        }
    };
}

const PROPAGATION: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_added_on_one_replica_is_in_force_on_the_others_within_2s() {
    require_redis!();
    let redis = RedisServer::start();
    let all = replicas(3, &settings(&redis.url())).await;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let id = format!("session-{i}");
        let writer = &all[i % 3];
        writer.add(&id).await;
        assert!(writer.refuses(&id), "read-your-writes on the writer");
        let start = Instant::now();
        for other in &all {
            wait_until(PROPAGATION, || other.refuses(&id))
                .await
                .unwrap_or_else(|| panic!("{id} not in force within {PROPAGATION:?}"));
        }
        latencies.push(start.elapsed());
    }
    latencies.sort();
    eprintln!(
        "propagation to 3 replicas: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    assert!(all.iter().all(|r| r.count() == 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_later_loads_every_entry_before_it_reports_loaded() {
    require_redis!();
    let redis = RedisServer::start();
    let s = settings(&redis.url());
    let first = Replica::start(&s);
    first.wait_loaded(Duration::from_secs(5)).await;
    for i in 0..50 {
        first.add(&format!("s{i}")).await;
    }
    let late = Replica::start(&s);
    assert!(!late.list.is_loaded());
    assert!(matches!(
        late.list
            .check(ISSUER, &token_of("s1"), "client_id", now_ms()),
        Err(Refusal::Unavailable)
    ));
    late.wait_loaded(Duration::from_secs(5)).await;
    // Loaded means complete: no wait for the log.
    assert_eq!(late.count(), 50);
    assert!((0..50).all(|i| late.refuses(&format!("s{i}"))));
    assert_eq!(late.store.loads(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_from_redis_resumes_from_its_last_id_without_losing_entries() {
    require_redis!();
    let redis = RedisServer::start();
    let relay = Relay::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let direct = Replica::start(&settings(&redis.url()));
    let away = Replica::start(&settings(&relay.url()));
    direct.wait_loaded(Duration::from_secs(5)).await;
    away.wait_loaded(Duration::from_secs(5)).await;
    direct.add("before").await;
    wait_until(PROPAGATION, || away.refuses("before"))
        .await
        .unwrap();

    relay.cut();
    for i in 0..30 {
        direct.add(&format!("while-away-{i}")).await;
    }
    let removed = direct.store.remove(session("before")).await.unwrap();
    assert!(removed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(away.refuses("before"), "keeps its list while cut off");
    assert!(!away.refuses("while-away-0"));
    relay.restore();

    let caught_up = wait_until(Duration::from_secs(10), || {
        (0..30).all(|i| away.refuses(&format!("while-away-{i}"))) && !away.refuses("before")
    })
    .await
    .expect("caught up");
    eprintln!("caught up {caught_up:?} after the relay came back");
    assert_eq!(away.count(), 30);
    assert_eq!(away.store.loads(), 1, "resumed from the log, no reload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_reloads_from_the_keys_when_the_log_was_trimmed_while_it_was_away() {
    require_redis!();
    let redis = RedisServer::start();
    let relay = Relay::start(format!("127.0.0.1:{}", redis.port).parse().unwrap()).await;
    let mut s = settings(&redis.url());
    // Records older than 1 s are trimmed at each append; the entries themselves live on.
    s.max_token_lifetime = Duration::from_secs(1);
    let direct = Replica::start(&s);
    let mut away_settings = s.clone();
    away_settings.url = relay.url();
    let away = Replica::start(&away_settings);
    direct.wait_loaded(Duration::from_secs(5)).await;
    away.wait_loaded(Duration::from_secs(5)).await;
    let long = |id: &str| {
        let mut e = session(id);
        e.expires_at += 86_400;
        e
    };
    direct.store.add(long("kept")).await.unwrap();
    direct.store.add(long("deleted-while-away")).await.unwrap();
    wait_until(PROPAGATION, || away.refuses("deleted-while-away"))
        .await
        .unwrap();

    relay.cut();
    direct
        .store
        .remove(long("deleted-while-away"))
        .await
        .unwrap();
    direct.store.add(long("added-while-away")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // This append trims every record the cut-off replica has not read.
    direct.store.add(long("last")).await.unwrap();
    let mut c = redis.client().await;
    let length: usize = redis::cmd("XLEN")
        .arg("tokengate:rv:log")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(length, 1, "the log was trimmed to the last record");
    relay.restore();

    wait_until(Duration::from_secs(10), || {
        away.refuses("added-while-away")
            && away.refuses("last")
            && !away.refuses("deleted-while-away")
    })
    .await
    .expect("reloaded");
    assert!(away.refuses("kept"));
    assert_eq!(away.store.loads(), 2, "one reload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_survive_a_redis_restart_with_aof_and_replicas_catch_up_after_it() {
    require_redis!();
    let mut redis = RedisServer::start_with_aof();
    let s = settings(&redis.url());
    let all = replicas(3, &s).await;
    for i in 0..10 {
        all[i % 3].add(&format!("before-{i}")).await;
    }
    for r in &all {
        wait_until(PROPAGATION, || r.count() == 10).await.unwrap();
    }

    redis.kill();
    let refused = all[0].store.add(session("during")).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable { .. })),
        "{refused:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(all.iter().all(|r| r.refuses("before-3")), "lists kept");
    redis.restart();

    // Written once Redis is back, through one replica: every replica gets it, and keeps
    // what was written before the outage (in the AOF).
    all[1].add("after").await;
    for r in &all {
        wait_until(Duration::from_secs(8), || r.refuses("after"))
            .await
            .expect("after the restart");
        assert_eq!(r.count(), 11);
    }
    let fresh = Replica::start(&s);
    fresh.wait_loaded(Duration::from_secs(5)).await;
    assert_eq!(fresh.count(), 11);
    assert!(fresh.refuses("before-0") && fresh.refuses("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_without_its_data_replicas_follow_what_redis_holds() {
    require_redis!();
    let mut redis = RedisServer::start();
    let all = replicas(2, &settings(&redis.url())).await;
    all[0].add("lost").await;
    wait_until(PROPAGATION, || all[1].refuses("lost"))
        .await
        .unwrap();
    redis.kill();
    redis.restart();
    // The writer's old connection is dead: the write retries once on a new one.
    all[0].add("new").await;
    for r in &all {
        wait_until(Duration::from_secs(8), || {
            r.refuses("new") && !r.refuses("lost")
        })
        .await
        .expect("reloaded from the new Redis");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_replicas_keep_applying_their_list_until_max_lag() {
    require_redis!();
    let mut redis = RedisServer::start();
    let s = settings(&redis.url());
    let max_lag = Duration::from_secs(3);
    let list_deny = Replica::start_with(&s, max_lag);
    list_deny.wait_loaded(Duration::from_secs(5)).await;
    list_deny.add("revoked").await;
    redis.kill();
    let down_at = now_ms();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Synced at most one BLOCK (1 s) before the kill.
    let age = list_deny.list.sync_age(now_ms()).unwrap();
    assert!(age >= Duration::from_millis(1200), "{age:?}");
    assert!(!list_deny.list.is_lagging(now_ms()), "{age:?}");
    assert!(list_deny.refuses("revoked"), "the list still applies");
    assert_eq!(
        list_deny
            .list
            .check(ISSUER, &token_of("other"), "client_id", now_ms()),
        Ok(())
    );
    wait_until(Duration::from_secs(5), || {
        list_deny.list.is_lagging(now_ms())
    })
    .await
    .unwrap();
    let lag_after = now_ms() - down_at;
    assert!(
        (1900..=3200).contains(&lag_after),
        "lagging once max_lag has passed since the last sync ({lag_after} ms after the outage)"
    );
    assert!(list_deny.list.sync_age(now_ms()).unwrap() > max_lag);
    assert_eq!(
        list_deny
            .list
            .check(ISSUER, &token_of("other"), "client_id", now_ms()),
        Err(Refusal::Unavailable),
        "deny: fail closed"
    );
    // With `allow` the same list keeps answering.
    let allow = Revocations::new(Some(max_lag), OnUnavailable::Allow);
    allow.publish(list_deny.list.current().as_ref().clone());
    allow.mark_synced(now_ms() - 3_001);
    assert!(allow.is_lagging(now_ms()));
    assert_eq!(
        allow.check(ISSUER, &token_of("other"), "client_id", now_ms()),
        Ok(())
    );

    redis.restart();
    wait_until(Duration::from_secs(8), || {
        !list_deny.list.is_lagging(now_ms())
    })
    .await
    .expect("synced again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_in_redis_and_on_every_replica() {
    require_redis!();
    let redis = RedisServer::start();
    let all = replicas(2, &settings(&redis.url())).await;
    let mut short = session("short");
    short.expires_at = now_ms() / 1000 + 2;
    all[0].store.add(short).await.unwrap();
    let mut past = session("past");
    past.expires_at = now_ms() / 1000 - 10;
    all[0].store.add(past).await.unwrap();
    all[0].add("long").await;
    for r in &all {
        wait_until(PROPAGATION, || r.refuses("long") && r.refuses("short"))
            .await
            .unwrap();
        assert!(
            !r.refuses("past"),
            "an entry already expired is never in force"
        );
    }
    let mut c = redis.client().await;
    let exists: u32 = redis::cmd("EXISTS")
        .arg("tokengate:rv:main:origin_jti:past")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(exists, 0, "PXAT in the past: no key");
    let pttl: i64 = redis::cmd("PTTL")
        .arg("tokengate:rv:main:origin_jti:short")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 2000, "{pttl}");
    for r in &all {
        wait_until(Duration::from_secs(4), || !r.refuses("short"))
            .await
            .expect("dropped locally at expiry");
        assert!(r.refuses("long"));
    }
    let late = Replica::start(&settings(&redis.url()));
    late.wait_loaded(Duration::from_secs(5)).await;
    assert_eq!(late.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_bounds_add_and_the_reader_keeps_retrying() {
    let silent = Silent::start().await;
    // Without credentials the first command hangs; with them, the sign-in (AUTH) does.
    for url in [
        format!("redis://{}/0", silent.addr),
        format!("redis://tokengate:s3cret@{}/0", silent.addr),
    ] {
        let s = settings(&url);
        let replica = Replica::start(&s);
        let start = Instant::now();
        let result = replica.store.add(session("x")).await;
        let took = start.elapsed();
        assert!(
            matches!(result, Err(StoreError::Unavailable { .. })),
            "{result:?}"
        );
        assert!(
            took < 2 * s.timeout + Duration::from_millis(300),
            "bounded: {took:?}"
        );
        // Concurrent writers queue behind one connection attempt, each within the bound.
        let start = Instant::now();
        let all = futures_util::future::join_all(
            (0..5).map(|i| replica.store.add(session(&format!("c{i}")))),
        )
        .await;
        assert!(all
            .iter()
            .all(|r| matches!(r, Err(StoreError::Unavailable { .. }))));
        let took = start.elapsed();
        assert!(
            took < 2 * s.timeout + Duration::from_millis(300),
            "bounded: {took:?}"
        );
        let accepted = || silent.accepted.load(std::sync::atomic::Ordering::Acquire);
        let seen = accepted();
        wait_until(Duration::from_secs(8), || accepted() >= seen + 2)
            .await
            .expect("the reader reconnects again and again");
        assert!(!replica.list.is_loaded());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_propagates_and_says_whether_there_was_an_entry() {
    require_redis!();
    let redis = RedisServer::start();
    let all = replicas(3, &settings(&redis.url())).await;
    all[0].add("gone").await;
    all[0].add("stays").await;
    for r in &all {
        wait_until(PROPAGATION, || r.refuses("gone")).await.unwrap();
    }
    assert!(all[2].store.remove(session("gone")).await.unwrap());
    assert!(!all[2].refuses("gone"), "read-your-writes");
    for r in &all {
        wait_until(PROPAGATION, || !r.refuses("gone"))
            .await
            .expect("delete propagated");
        assert!(r.refuses("stays"));
    }
    assert!(!all[1].store.remove(session("gone")).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_entries_load_in_reasonable_time() {
    require_redis!();
    const N: usize = 100_000;
    let redis = RedisServer::start();
    let mut c = redis.client().await;
    let now = now_ms() / 1000;
    let write_start = Instant::now();
    for chunk in 0..N / 1000 {
        let mut pipe = redis::pipe();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            let entry = Entry::from_json(
                &json!({"issuer": ISSUER, "jti": format!("jti-{i:06}")}),
                &[ISSUER],
                now,
                86_400,
            )
            .unwrap();
            // The documented layout, written as another tool would write it.
            pipe.cmd("SET")
                .arg(format!("tokengate:rv:main:jti:jti-{i:06}"))
                .arg(entry.to_json().to_string())
                .arg("PXAT")
                .arg(entry.expires_at * 1000)
                .ignore();
        }
        pipe.query_async::<()>(&mut c).await.unwrap();
    }
    eprintln!("seeded {N} keys in {:?}", write_start.elapsed());
    let replica = Replica::start_with(&settings(&redis.url()), Duration::from_secs(10));
    let took = replica.wait_loaded(Duration::from_secs(60)).await;
    eprintln!("loaded {N} entries in {took:?}");
    assert_eq!(replica.count(), N);
    let token = serde_json::json!({"jti": "jti-054321"})
        .as_object()
        .unwrap()
        .clone();
    assert!(replica
        .list
        .check(ISSUER, &token, "client_id", now_ms())
        .is_err());
    // One more entry still propagates promptly on a list this size.
    let other = Replica::start_with(&settings(&redis.url()), Duration::from_secs(10));
    other.wait_loaded(Duration::from_secs(60)).await;
    let start = Instant::now();
    other.add("one-more").await;
    wait_until(PROPAGATION, || replica.refuses("one-more"))
        .await
        .expect("propagated");
    eprintln!(
        "one add on a 100k list in force elsewhere after {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_acl_users_sign_in_and_a_wrong_password_is_refused_unlogged() {
    require_redis!();
    let redis = RedisServer::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        "default-s3cret",
        "--user",
        "tokengate",
        "on",
        ">p@ss/w0rd",
        "~tokengate:*",
        "+@all",
    ]);
    for url in [
        format!("redis://:default-s3cret@127.0.0.1:{}/0", redis.port),
        format!("redis://tokengate:p%40ss%2Fw0rd@127.0.0.1:{}/0", redis.port),
    ] {
        let r = Replica::start(&settings(&url));
        r.wait_loaded(Duration::from_secs(5)).await;
        r.add("signed-in").await;
        assert!(r.refuses("signed-in"));
    }
    let wrong = format!("redis://tokengate:wrong-s3cret@127.0.0.1:{}/0", redis.port);
    let r = Replica::start(&settings(&wrong));
    let err = r.store.add(session("x")).await.unwrap_err().to_string();
    assert!(!err.contains("wrong-s3cret"), "{err}");
    assert!(
        err.contains("WRONGPASS") || err.to_lowercase().contains("auth"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!r.list.is_loaded());
    let shown = format!("{:?}", settings(&wrong));
    assert!(!shown.contains("wrong-s3cret"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_connects_and_a_server_outside_it_is_refused() {
    require_redis!();
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let make_ca = || {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = make_ca();
    let stranger = make_ca();
    let dir = std::env::temp_dir().join(format!("tg-redis-tls-{}", server::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    std::fs::write(path("server.crt"), leaf.pem()).unwrap();
    std::fs::write(path("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(path("ca.crt"), ca.pem()).unwrap();
    std::fs::write(path("stranger.crt"), stranger.pem()).unwrap();
    let redis = RedisServer::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--tls-port",
        "--tls-cert-file",
        &path("server.crt"),
        "--tls-key-file",
        &path("server.key"),
        "--tls-ca-cert-file",
        &path("ca.crt"),
        "--tls-auth-clients",
        "no",
    ]);
    for host in ["127.0.0.1", "localhost"] {
        let mut s = settings(&format!("rediss://{host}:{}/0", redis.port));
        s.ca_file = Some(path("ca.crt").into());
        let r = Replica::start(&s);
        r.wait_loaded(Duration::from_secs(5)).await;
        r.add(host).await;
        assert!(r.refuses(host));
    }
    let mut s = settings(&format!("rediss://127.0.0.1:{}/0", redis.port));
    s.ca_file = Some(path("stranger.crt").into());
    let r = Replica::start(&s);
    let err = r.store.add(session("x")).await.unwrap_err().to_string();
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
    // Web PKI roots alone do not trust a private CA either.
    let r = Replica::start(&settings(&format!("rediss://127.0.0.1:{}/0", redis.port)));
    assert!(r.store.add(session("x")).await.is_err());
    // A plain client is not served on the TLS port.
    let plain = Replica::start(&settings(&format!("redis://127.0.0.1:{}/0", redis.port)));
    assert!(plain.store.add(session("x")).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn settings_refuse_ca_file_without_tls_and_sentinel_urls() {
    let list = std::sync::Arc::new(Revocations::new(None, OnUnavailable::Deny));
    let mut s = RedisSettings::new("redis://127.0.0.1:6379/0");
    s.ca_file = Some("/nonexistent.pem".into());
    assert!(RedisStore::new(&s, list.clone()).is_err());
    let s = RedisSettings::new("redis+sentinel://u:s3cret@h:26379/mymaster");
    let err = RedisStore::new(&s, list.clone()).err().unwrap().to_string();
    assert!(!err.contains("s3cret"), "{err}");
    let mut s = RedisSettings::new("rediss://h:6380");
    s.ca_file = Some("/nonexistent.pem".into());
    assert!(RedisStore::new(&s, list).is_err());
}
