//! Key sets: an immutable `KeySet` (kid -> key, generation) per issuer, published behind
//! `ArcSwap`. Requests only `load()`; the writer is the issuer's key task, never a request.

pub mod alb;
pub mod disk;
pub mod fetch;
pub mod jwk;
pub mod keyring;
pub mod pem;
pub mod refresh;
pub mod schedule;
pub mod single_flight;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::watch;
use tokio::time::Instant;

pub use fetch::FetchError;
pub use jwk::{parse_jwks, JwksError, KeyFamily, SkipReason, SkippedKey, VerifyKey};
pub use single_flight::RefetchGate;

/// Where the current key set came from (`/keys` shows it as `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOrigin {
    /// A successful fetch from the issuer's `jwks_uri`.
    Fetch,
    /// The last good set read from `jwks.cache_dir` at start-up.
    Cache,
    /// Built in by `demo` or tests (no network).
    Static,
    /// An ALB issuer's keys, fetched one per kid at first use (reference section 9).
    Alb,
}

impl SetOrigin {
    /// `"fetch"`, `"cache"`, `"static"` or `"alb"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SetOrigin::Fetch => "fetch",
            SetOrigin::Cache => "cache",
            SetOrigin::Static => "static",
            SetOrigin::Alb => "alb",
        }
    }
}

/// One published, immutable key set.
#[derive(Debug)]
pub struct KeySet {
    /// Increases with every set published for any issuer; cache entries can be tied to it.
    pub generation: u64,
    /// kid -> key; kids are unique within a set (duplicates were skipped).
    pub keys: HashMap<String, Arc<VerifyKey>>,
    /// When the document was fetched (wall clock; for a cached set, its original fetch).
    pub fetched_at: SystemTime,
    /// The same moment on the monotonic (pausable) clock, for `max_stale`.
    pub confirmed: Instant,
    /// Where the set came from (`/keys` `source`).
    pub origin: SetOrigin,
}

impl KeySet {
    /// A set of `keys` (distinct kids) obtained at `fetched_at`, with the next generation.
    pub fn new(keys: Vec<VerifyKey>, origin: SetOrigin, fetched_at: SystemTime) -> KeySet {
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
            origin,
        }
    }

    /// A set of keys already shared (an ALB issuer's set grows a kid at a time: the kept
    /// keys stay the same `Arc`s, so cached verdicts survive), with the next generation.
    pub fn shared(
        keys: HashMap<String, Arc<VerifyKey>>,
        origin: SetOrigin,
        fetched_at: SystemTime,
    ) -> KeySet {
        let mut set = KeySet::new(Vec::new(), origin, fetched_at);
        set.keys = keys;
        set
    }

    /// The key with this kid, if the set has one.
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
    /// Why the keys are not fresh; `None` after a successful fetch.
    pub last_error: Option<RefreshError>,
    /// When the key task fetches next (wall clock, jitter and backoff included).
    pub next_refresh: Option<SystemTime>,
}

/// Why an issuer's keys are not fresh, as `/keys` `last_error` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// The last fetch failed; the last good set, if any, is still served.
    Fetch(FetchError),
    /// No fetch succeeded for `max_stale` (reference section 4): the keys were dropped. `last`
    /// is the fetch error seen before, if any.
    Stale { last: Option<FetchError> },
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefreshError::Fetch(e) => e.fmt(f),
            RefreshError::Stale { last } => {
                f.write_str(
                    "keys dropped: no successful fetch for longer than max_stale; last error: ",
                )?;
                match last {
                    Some(e) => e.fmt(f),
                    None => f.write_str("none"),
                }
            }
        }
    }
}

impl std::error::Error for RefreshError {}

/// The per-issuer handle: the current key set (none until the first good fetch), status,
/// and the single-flight refetch gate between requests and the issuer's key task.
#[derive(Debug, Default)]
pub struct IssuerKeys {
    current: ArcSwapOption<KeySet>,
    status: ArcSwap<KeyStatus>,
    gate: RefetchGate,
}

impl IssuerKeys {
    /// An empty handle: no set, no status, no fetch yet.
    pub fn new() -> IssuerKeys {
        IssuerKeys::default()
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

    /// The status `/keys` shows (lock-free).
    pub fn status(&self) -> Arc<KeyStatus> {
        self.status.load_full()
    }

    /// Replaces the status (the key task only).
    pub fn set_status(&self, status: KeyStatus) {
        self.status.store(Arc::new(status));
    }

    /// The refetch gate; the key task marks its fetches there.
    pub fn gate(&self) -> &RefetchGate {
        &self.gate
    }

    /// For a request that met an unknown kid of an ALB issuer: see
    /// [`RefetchGate::refetch_for_kid`].
    pub fn refetch_for_kid(&self, floor: Duration, kid: &str) -> Option<watch::Receiver<u64>> {
        self.gate.refetch_for_kid(floor, kid)
    }

    /// For a request that met an unknown kid: see [`RefetchGate::refetch_for_unknown_kid`].
    pub fn refetch_for_unknown_kid(&self, floor: Duration) -> Option<watch::Receiver<u64>> {
        self.gate.refetch_for_unknown_kid(floor)
    }
}
