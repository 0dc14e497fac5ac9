//! Outages: a replica cut off from Redis resumes from its last id, or reloads when the log
//! was trimmed meanwhile; Redis restarts with AOF (nothing lost) and without its data
//! (replicas follow it); lists keep applying while Redis is down until `max_lag`; a Redis
//! that never answers bounds writes.

use std::time::Duration;

use tokengate::revocation::{OnUnavailable, Refusal, Revocations, Store, StoreError};
use tokio::time::Instant;

use crate::net::{Relay, Silent};
use crate::replicas::*;
use crate::server::RedisServer;

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
