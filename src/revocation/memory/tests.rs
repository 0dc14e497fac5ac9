//! The memory store: applied at once, persisted and read back without expired entries,
//! removed, expired on time, and fail-closed on a file it cannot read.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use super::*;
use crate::revocation::list::OnUnavailable;

const DAY: u64 = 86_400;

/// A clock the test moves (Unix milliseconds).
fn manual(at_secs: u64) -> (Clock, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(at_secs * 1000));
    let read = Arc::clone(&now);
    (Arc::new(move || read.load(Ordering::SeqCst)), now)
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tg-rv-mem-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn entry(body: Value, now: u64, lifetime: u64) -> Entry {
    Entry::from_json(&body, &["main"], now, lifetime).unwrap()
}

fn store(cache_dir: Option<&Path>, clock: Clock) -> (Arc<MemoryStore>, Arc<Revocations>) {
    let list = Arc::new(Revocations::new(None, OnUnavailable::Deny));
    let store = Arc::new(MemoryStore::new(Arc::clone(&list), cache_dir, clock));
    (store, list)
}

/// Starts the store's task and waits until the list has loaded.
async fn started(store: &Arc<MemoryStore>, list: &Revocations) -> tokio::task::JoinHandle<()> {
    let task = tokio::spawn(Arc::clone(store).run());
    for _ in 0..200 {
        if list.is_loaded() {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the memory store did not load");
}

fn revoked(list: &Revocations, claims: Value, now_ms: u64) -> bool {
    let claims = claims.as_object().cloned().unwrap_or_default();
    list.check("main", &claims, "client_id", now_ms).is_err()
}

#[tokio::test]
async fn an_entry_is_in_force_at_once_and_survives_a_restart_without_expired_ones() {
    let d = dir("restart");
    let now = 1_800_000_000;
    let (clock, _) = manual(now);
    let (s, list) = store(Some(&d), Arc::clone(&clock));
    let task = started(&s, &list).await;
    assert_eq!(list.sync_age(now * 1000), Some(Duration::ZERO));
    s.add(entry(
        json!({"issuer": "main", "origin_jti": "A"}),
        now,
        DAY,
    ))
    .await
    .unwrap();
    s.add(entry(json!({"issuer": "main", "jti": "short"}), now, 5))
        .await
        .unwrap();
    assert!(revoked(&list, json!({"origin_jti": "A"}), now * 1000));
    assert!(revoked(&list, json!({"jti": "short"}), now * 1000));
    task.abort();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join(FILE_NAME)).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(d.join(FILE_NAME)).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], 1);
    assert_eq!(file["entries"].as_array().unwrap().len(), 2);

    // Ten seconds later, in a new process: the 5 s entry has expired and is not loaded.
    let (later, _) = manual(now + 10);
    let (s2, list2) = store(Some(&d), later);
    let task = started(&s2, &list2).await;
    assert!(revoked(
        &list2,
        json!({"origin_jti": "A"}),
        (now + 10) * 1000
    ));
    assert!(!revoked(&list2, json!({"jti": "short"}), (now + 10) * 1000));
    assert_eq!(list2.current().entries().len(), 1);
    task.abort();
}

#[tokio::test]
async fn remove_undoes_an_entry_and_says_whether_there_was_one() {
    let d = dir("remove");
    let now = 1_800_000_000;
    let (clock, _) = manual(now);
    let (s, list) = store(Some(&d), clock);
    let task = started(&s, &list).await;
    let e = entry(
        json!({"issuer": "main", "sub": "u", "before": now}),
        now,
        DAY,
    );
    s.add(e.clone()).await.unwrap();
    assert!(revoked(
        &list,
        json!({"sub": "u", "iat": now - 1}),
        now * 1000
    ));
    assert!(s.remove(e.clone()).await.unwrap());
    assert!(!s.remove(e).await.unwrap());
    assert!(!revoked(
        &list,
        json!({"sub": "u", "iat": now - 1}),
        now * 1000
    ));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join(FILE_NAME)).unwrap()).unwrap();
    assert_eq!(file["entries"], json!([]));
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn expired_entries_are_dropped_when_the_earliest_expires() {
    let now = 1_800_000_000;
    let (clock, time) = manual(now);
    let (s, list) = store(None, clock);
    let task = started(&s, &list).await;
    s.add(entry(json!({"issuer": "main", "jti": "two"}), now, 2))
        .await
        .unwrap();
    s.add(entry(json!({"issuer": "main", "jti": "five"}), now, 5))
        .await
        .unwrap();
    let step = |secs: u64| {
        time.fetch_add(secs * 1000, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(secs))
    };
    step(1).await;
    tokio::task::yield_now().await;
    assert_eq!(list.current().entries().len(), 2);
    step(2).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let left: Vec<String> = list
        .current()
        .entries()
        .iter()
        .map(|e| e.target.id().to_owned())
        .collect();
    assert_eq!(left, ["five"]);
    step(3).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(list.current().is_empty());
    task.abort();
}

#[tokio::test]
async fn an_unreadable_file_keeps_the_list_unloaded_and_is_never_overwritten() {
    let d = dir("corrupt");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(FILE_NAME), b"{not json").unwrap();
    let (clock, _) = manual(1_800_000_000);
    let (s, list) = store(Some(&d), clock);
    let task = tokio::spawn(Arc::clone(&s).run());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!list.is_loaded());
    let claims = json!({}).as_object().cloned().unwrap_or_default();
    assert_eq!(
        list.check("main", &claims, "client_id", 0),
        Err(crate::revocation::list::Refusal::Unavailable)
    );
    // An entry added meanwhile is in force but does not replace the file.
    s.add(entry(
        json!({"issuer": "main", "jti": "j"}),
        1_800_000_000,
        DAY,
    ))
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(d.join(FILE_NAME)).unwrap(),
        b"{not json".to_vec()
    );
    task.abort();
}
