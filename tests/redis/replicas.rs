//! "Replicas" in one process: each a `RedisStore` with its own `Revocations` and its own
//! `run` task, as one tokengate process would hold them; and the checks the tests make on
//! them (is a token of this session refused here, within how long).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tokengate::revocation::redis::{RedisSettings, RedisStore};
use tokengate::revocation::{Entry, OnUnavailable, Refusal, Revocations, Store};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub const ISSUER: &str = "main";

/// How soon an entry written on one replica must be in force on the others (reference section 8).
pub const PROPAGATION: Duration = Duration::from_secs(2);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Settings for `url` with short timeouts, so outages show within a test's patience.
pub fn settings(url: &str) -> RedisSettings {
    let mut s = RedisSettings::new(url);
    s.timeout = Duration::from_millis(500);
    s
}

/// An `origin_jti` entry for `main`, as the admin API would parse it now.
pub fn session(origin_jti: &str) -> Entry {
    Entry::from_json(
        &json!({"issuer": ISSUER, "origin_jti": origin_jti}),
        &[ISSUER],
        now_ms() / 1000,
        86_400,
    )
    .unwrap()
}

/// The claims of an access token of that session.
pub fn token_of(origin_jti: &str) -> Map<String, Value> {
    json!({"origin_jti": origin_jti, "sub": "user", "client_id": "app"})
        .as_object()
        .unwrap()
        .clone()
}

pub struct Replica {
    pub store: Arc<RedisStore>,
    pub list: Arc<Revocations>,
    task: Option<JoinHandle<()>>,
}

impl Replica {
    /// A replica with `max_lag` 2 s, `on_unavailable: deny`, its reader running.
    pub fn start(settings: &RedisSettings) -> Replica {
        Self::start_with(settings, Duration::from_secs(2))
    }

    pub fn start_with(settings: &RedisSettings, max_lag: Duration) -> Replica {
        let list = Arc::new(Revocations::new(Some(max_lag), OnUnavailable::Deny));
        let store = Arc::new(RedisStore::new(settings, Arc::clone(&list)).unwrap());
        let mut replica = Replica {
            store,
            list,
            task: None,
        };
        replica.resume();
        replica
    }

    /// Stops the reader task (the process is frozen or gone for Redis's purposes).
    pub fn pause(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Starts the reader task again (a fresh `run`: it loads the whole list first).
    pub fn resume(&mut self) {
        assert!(self.task.is_none());
        self.task = Some(tokio::spawn(Arc::clone(&self.store).run()));
    }

    /// Whether a token of session `origin_jti` is refused as revoked here now.
    pub fn refuses(&self, origin_jti: &str) -> bool {
        matches!(
            self.list
                .check(ISSUER, &token_of(origin_jti), "client_id", now_ms()),
            Err(Refusal::Revoked(_))
        )
    }

    /// How many entries are in force here.
    pub fn count(&self) -> usize {
        self.list.current().entries().len()
    }

    pub async fn add(&self, origin_jti: &str) {
        self.store.add(session(origin_jti)).await.unwrap();
    }

    pub async fn wait_loaded(&self, within: Duration) -> Duration {
        wait_until(within, || self.list.is_loaded())
            .await
            .unwrap_or_else(|| panic!("not loaded within {within:?}"))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.pause();
    }
}

/// `n` replicas on the same Redis, each loaded.
pub async fn replicas(n: usize, settings: &RedisSettings) -> Vec<Replica> {
    let all: Vec<Replica> = (0..n).map(|_| Replica::start(settings)).collect();
    for r in &all {
        r.wait_loaded(Duration::from_secs(5)).await;
    }
    all
}

/// Polls `done` every 5 ms; how long it took, or `None` after `within`.
pub async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if done() {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
