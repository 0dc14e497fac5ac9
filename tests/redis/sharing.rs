//! Several replicas on one Redis: an entry written on one is in force on the others within
//! 2 s, a replica started later loads everything before it reports loaded, deletions and
//! expiry reach every replica, and 100,000 entries load in reasonable time.

use std::time::Duration;

use serde_json::json;
use tokengate::revocation::{Entry, Store};
use tokio::time::Instant;

use crate::replicas::*;
use crate::server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_added_on_one_replica_is_in_force_on_the_others_within_2s() {
    require_redis!();
    let redis = RedisServer::start();
    let all = replicas(3, &settings(&redis.url())).await;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let id = format!("session-{i}");
        let writer = &all[i % 3];
        // From the call on one replica to in force on all three.
        let start = Instant::now();
        writer.add(&id).await;
        assert!(writer.refuses(&id), "read-your-writes on the writer");
        for other in &all {
            wait_until(PROPAGATION, || other.refuses(&id))
                .await
                .unwrap_or_else(|| panic!("{id} not in force within {PROPAGATION:?}"));
        }
        latencies.push(start.elapsed());
    }
    latencies.sort();
    eprintln!(
        "from add on one replica to in force on all 3: median {:?}, max {:?}",
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
    // The first time it says loaded, the whole list is in force (no wait for the log).
    wait_until(Duration::from_secs(5), || {
        late.list.is_loaded() && {
            assert_eq!(late.count(), 50, "loaded before complete");
            true
        }
    })
    .await
    .expect("loaded");
    assert!((0..50).all(|i| late.refuses(&format!("s{i}"))));
    assert_eq!(late.store.loads(), 1);
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
    let written = start.elapsed();
    wait_until(PROPAGATION, || replica.refuses("one-more"))
        .await
        .expect("propagated");
    eprintln!(
        "on a 100k list, add returned after {written:?} (the set is rebuilt), in force on \
         another replica after {:?}",
        start.elapsed()
    );
}
