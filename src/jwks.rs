//! Key sets: an immutable `KeySet` (kid -> key, generation) per issuer, published behind
//! `ArcSwap`. Requests only `load()`; the writer is the fetch/refresh task, never a request.

pub mod fetch;
pub mod refresh;

pub mod jwk;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};

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

/// The per-issuer handle: the current key set (none until the first good fetch) and status.
#[derive(Debug, Default)]
pub struct IssuerKeys {
    current: ArcSwapOption<KeySet>,
    status: ArcSwap<KeyStatus>,
}

impl IssuerKeys {
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

    pub fn status(&self) -> Arc<KeyStatus> {
        self.status.load_full()
    }

    pub fn set_status(&self, status: KeyStatus) {
        self.status.store(Arc::new(status));
    }
}
