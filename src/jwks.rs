//! Key sets: an immutable `KeySet` (kid -> key, generation) per issuer, published behind
//! `ArcSwap`. Requests only `load()`; the writer is the fetch/refresh task, never a request.

pub mod disk;
pub mod fetch;
pub mod refresh;

pub mod jwk;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

pub use jwk::{parse_jwks, JwksError, KeyFamily, SkippedKey, VerifyKey};

/// Where the current key set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Fetch,
    Cache,
    /// Built in by `demo` or tests (no network).
    Static,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Fetch => "fetch",
            KeySource::Cache => "cache",
            KeySource::Static => "static",
        }
    }
}

/// One published, immutable key set.
#[derive(Debug)]
pub struct KeySet {
    /// Increases with every set published for any issuer; cache entries can be tied to it.
    pub generation: u64,
    pub keys: HashMap<String, Arc<VerifyKey>>,
    pub fetched_at: SystemTime,
    /// The same moment on the monotonic (pausable) clock, for `max_stale`.
    pub confirmed: Instant,
    pub source: KeySource,
}

impl KeySet {
    pub fn new(keys: Vec<VerifyKey>, source: KeySource, fetched_at: SystemTime) -> KeySet {
        static GENERATION: AtomicU64 = AtomicU64::new(1);
        KeySet {
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            keys: keys
                .into_iter()
                .map(|k| (k.kid.clone(), Arc::new(k)))
                .collect(),
            confirmed: Instant::now()
                .checked_sub(
                    SystemTime::now()
                        .duration_since(fetched_at)
                        .unwrap_or_default(),
                )
                .unwrap_or_else(Instant::now),
            fetched_at,
            source,
        }
    }

    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyKey>> {
        self.keys.get(kid)
    }

    /// Kids in a stable order, for `/keys`.
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }
}

/// What `/keys` shows besides the kids.
#[derive(Debug, Clone, Default)]
pub struct KeyStatus {
    pub last_error: Option<String>,
    pub next_refresh: Option<SystemTime>,
}

/// The per-issuer handle: the current key set (none until the first good fetch), status,
/// and the single-flight refetch channel between requests and the issuer's key task.
#[derive(Debug)]
pub struct IssuerKeys {
    current: ArcSwapOption<KeySet>,
    status: ArcSwap<KeyStatus>,
    /// Requests ask the key task for a refetch here (permits collapse into one).
    refetch: Notify,
    /// Counts finished fetches; waiters see it change when the fetch they wait on ends.
    fetched: watch::Sender<u64>,
    fetching: AtomicBool,
    /// Milliseconds after `origin` at which the last fetch of any kind started.
    last_start_ms: AtomicU64,
    origin: Instant,
}

impl Default for IssuerKeys {
    fn default() -> IssuerKeys {
        IssuerKeys::new()
    }
}

/// `last_start_ms` before any fetch.
const NEVER: u64 = u64::MAX;

impl IssuerKeys {
    pub fn new() -> IssuerKeys {
        IssuerKeys {
            current: ArcSwapOption::empty(),
            status: ArcSwap::default(),
            refetch: Notify::new(),
            fetched: watch::Sender::new(0),
            fetching: AtomicBool::new(false),
            last_start_ms: AtomicU64::new(NEVER),
            origin: Instant::now(),
        }
    }

    /// Lock-free read of the current set; `None` until one was published.
    pub fn load(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// Publishes a whole new set with one store.
    pub fn publish(&self, set: KeySet) {
        self.current.store(Some(Arc::new(set)));
    }

    /// Drops the keys (used by `max_stale`): the issuer answers 503 until a fetch succeeds.
    pub fn clear(&self) {
        self.current.store(None);
    }

    pub fn status(&self) -> Arc<KeyStatus> {
        self.status.load_full()
    }

    pub fn set_status(&self, status: KeyStatus) {
        self.status.store(Arc::new(status));
    }

    /// The key task marks the start of every fetch (`min_refresh_interval` counts from it).
    pub fn fetch_started(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(NEVER - 1);
        self.last_start_ms.store(ms, Ordering::SeqCst);
        self.fetching.store(true, Ordering::SeqCst);
    }

    /// The key task marks the end of every fetch, waking every request waiting on it.
    pub fn fetch_finished(&self) {
        self.fetching.store(false, Ordering::SeqCst);
        self.fetched.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How long until a new fetch may start (`Duration::ZERO` when it may start now).
    pub fn until_refetch_allowed(&self, floor: Duration) -> Duration {
        match self.last_start_ms.load(Ordering::SeqCst) {
            NEVER => Duration::ZERO,
            ms => (Duration::from_millis(ms) + floor).saturating_sub(self.origin.elapsed()),
        }
    }

    /// For a request holding a token with an unknown kid: a receiver that changes when the
    /// next fetch ends, or `None` when no fetch is running and the floor forbids a new one
    /// (the caller answers 401 at once). Never fetches, never blocks.
    pub fn refetch_for_unknown_kid(&self, floor: Duration) -> Option<watch::Receiver<u64>> {
        let receiver = self.fetched.subscribe();
        if self.fetching.load(Ordering::SeqCst) {
            return Some(receiver);
        }
        if !self.until_refetch_allowed(floor).is_zero() {
            return None;
        }
        self.refetch.notify_one();
        Some(receiver)
    }

    /// The key task waits here for refetch requests.
    pub async fn refetch_requested(&self) {
        self.refetch.notified().await;
    }
}
