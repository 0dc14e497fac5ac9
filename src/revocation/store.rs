//! What a revocation store does (reference section 8): keep the shared [`Revocations`]
//! handle complete (load at start, follow changes, drop expired entries) and take new
//! entries from the admin API, the logout route and the CLI. `memory` keeps them in this
//! process (and in `jwks.cache_dir`); `redis` shares them with every replica.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::revocation::entry::Entry;

/// Wall-clock time in Unix milliseconds, injected into stores so that tests can move it.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}

/// A boxed future, as the store's methods return (the trait stays object-safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store could not take or drop an entry.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The shared store (Redis) could not be reached or did not answer in time.
    #[error("revocation store unavailable: {cause}")]
    Unavailable { cause: String },
    /// The entry was applied locally but could not be persisted (`jwks.cache_dir`).
    #[error("revocation list not persisted: {kind}")]
    Persist { kind: std::io::ErrorKind },
}

/// A revocation store. Implementations own an `Arc<Revocations>` they publish into.
pub trait Store: Send + Sync + 'static {
    /// Adds `entry` (or replaces the entry with the same target). Returns once the entry is
    /// in force in this process and, for shared stores, written where every replica reads it.
    fn add(&self, entry: Entry) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Removes the entry with the same target as `entry` (`DELETE /revocations`); `false`
    /// when there was none.
    fn remove(&self, entry: Entry) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// The background task: the first load (after which the list is loaded), then following
    /// changes and dropping expired entries, until the task is aborted.
    fn run(self: Arc<Self>) -> StoreFuture<'static, ()>;
}
