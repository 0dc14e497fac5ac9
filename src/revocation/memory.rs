//! `store: memory`: the entries live in this process and are in force as soon as they are
//! added. With `jwks.cache_dir` they are kept in one JSON file there (written atomically,
//! mode 0600) and loaded at start; expired entries are dropped when the earliest expires.
//! Never on the request path: requests read only the published set.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{Mutex, Notify};

use crate::revocation::entry::Entry;
use crate::revocation::list::Revocations;
use crate::revocation::set::RevocationSet;
use crate::revocation::store::{Clock, Store, StoreError, StoreFuture};

/// The file's name inside `jwks.cache_dir`.
pub const FILE_NAME: &str = "revocations.json";

/// The file format's version; a file with another one is not read.
const VERSION: u64 = 1;

/// How long a start-up waits before reading an unusable file again.
const RETRY_LOAD: Duration = Duration::from_secs(5);

/// Why the persisted list could not be loaded (the list then stays not loaded: fail closed).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {kind}")]
    Io {
        path: PathBuf,
        kind: std::io::ErrorKind,
    },
    #[error("{path} is not a tokengate revocation list (fix or remove it)")]
    Corrupt { path: PathBuf },
}

/// The entries as this process keeps them; the request path sees only what `publish`ed.
#[derive(Debug, Default)]
struct State {
    entries: Vec<Entry>,
    /// Counts changes, so that one file write covers every change made before it.
    generation: u64,
}

/// The memory store.
pub struct MemoryStore {
    list: Arc<Revocations>,
    /// `{cache_dir}/revocations.json`, or `None` (nothing survives a restart).
    file: Option<PathBuf>,
    state: Mutex<State>,
    /// The generation last written to `file`; held while writing, so writes never overlap.
    written: Mutex<u64>,
    /// Wakes the expiry task when the earliest expiry may have changed.
    changed: Notify,
    clock: Clock,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// A store publishing into `list`, persisting in `cache_dir` when given.
    pub fn new(list: Arc<Revocations>, cache_dir: Option<&Path>, clock: Clock) -> MemoryStore {
        MemoryStore {
            list,
            file: cache_dir.map(|d| d.join(FILE_NAME)),
            state: Mutex::new(State::default()),
            written: Mutex::new(0),
            changed: Notify::new(),
            clock,
        }
    }

    fn now_secs(&self) -> u64 {
        (self.clock)() / 1000
    }

    /// Replaces the published set with the live entries of `state` (expired ones dropped).
    fn publish(&self, state: &mut State) {
        let now = self.now_secs();
        state.entries.retain(|e| e.is_live(now));
        state.generation += 1;
        self.list
            .publish(RevocationSet::new(state.entries.iter().cloned(), now));
        self.changed.notify_one();
    }

    /// Writes the entries as of `generation` or later; returns at once when a write that
    /// started later already covered it (changes made together are written once).
    async fn persist(&self, generation: u64) -> Result<(), StoreError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        // Before the file is loaded, writing would replace entries not read yet; what was
        // added meanwhile is written once the load completes.
        if !self.list.is_loaded() {
            return Ok(());
        }
        let mut written = self.written.lock().await;
        if *written >= generation {
            return Ok(());
        }
        let (latest, bytes) = {
            let state = self.state.lock().await;
            (state.generation, encode(&state.entries))
        };
        let (dir, name) = split(file);
        let result = tokio::task::spawn_blocking(move || {
            crate::private_file::write_atomic(&dir, &name, &bytes)
        })
        .await;
        match result {
            Ok(Ok(())) => {
                *written = latest;
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::error!(file = %file.display(), error = %e, "revocation list not persisted");
                Err(StoreError::Persist { kind: e.kind() })
            }
            Err(_) => Err(StoreError::Persist {
                kind: std::io::ErrorKind::Interrupted,
            }),
        }
    }

    /// Reads the persisted entries (none without a file, or when it does not exist yet).
    async fn load(&self) -> Result<Vec<Entry>, LoadError> {
        let Some(file) = self.file.clone() else {
            return Ok(Vec::new());
        };
        let read = tokio::task::spawn_blocking(move || read_file(&file)).await;
        read.unwrap_or_else(|_| {
            Err(LoadError::Io {
                path: self.file.clone().unwrap_or_default(),
                kind: std::io::ErrorKind::Interrupted,
            })
        })
    }

    /// Drops the entries that have expired, then waits for the next expiry or change.
    async fn expire_forever(&self) {
        loop {
            let changed = self.changed.notified();
            match self.list.current().next_expiry() {
                Some(at) => {
                    let wait = (at.saturating_mul(1000)).saturating_sub((self.clock)());
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(wait)) => {
                            let mut state = self.state.lock().await;
                            self.publish(&mut state);
                        }
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

impl Store for MemoryStore {
    fn add(&self, entry: Entry) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let generation = {
                let mut state = self.state.lock().await;
                state.entries.retain(|e| !e.same_target(&entry));
                state.entries.push(entry);
                self.publish(&mut state);
                state.generation
            };
            self.persist(generation).await
        })
    }

    fn remove(&self, entry: Entry) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let generation = {
                let mut state = self.state.lock().await;
                let before = state.entries.len();
                state.entries.retain(|e| !e.same_target(&entry));
                if state.entries.len() == before {
                    return Ok(false);
                }
                self.publish(&mut state);
                state.generation
            };
            self.persist(generation).await.map(|()| true)
        })
    }

    fn run(self: Arc<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            let loaded = loop {
                match self.load().await {
                    Ok(entries) => break entries,
                    Err(e) => {
                        tracing::error!(error = %e, "revocation list not loaded; token routes answer 503 until it is");
                        tokio::time::sleep(RETRY_LOAD).await;
                    }
                }
            };
            let count = loaded.len();
            let (generation, added_meanwhile) = {
                let mut state = self.state.lock().await;
                let added_meanwhile = !state.entries.is_empty();
                // Entries added while the file was read win over the file's. One set of the
                // targets present, not a scan of the kept entries per entry read: with a scan,
                // a file of 100,000 entries held the runtime for minutes.
                let target =
                    |e: &Entry| (e.issuer.clone(), e.target.kind(), e.target.id().to_owned());
                let mut present: std::collections::HashSet<_> =
                    state.entries.iter().map(target).collect();
                for entry in loaded {
                    if present.insert(target(&entry)) {
                        state.entries.push(entry);
                    }
                }
                self.publish(&mut state);
                tracing::info!(
                    read = count,
                    in_force = state.entries.len(),
                    file = self.file.as_ref().map(|f| f.display().to_string()),
                    "revocation list loaded (memory store)"
                );
                (state.generation, added_meanwhile)
            };
            // The memory store is the whole list: complete from now on.
            self.list.mark_synced((self.clock)());
            if added_meanwhile {
                // Already logged by `persist`; the entries are in force in this process.
                let _ = self.persist(generation).await;
            }
            self.expire_forever().await;
        })
    }
}

/// The file's JSON: `{"version": 1, "entries": [entry as the admin API shows it, ...]}`.
fn encode(entries: &[Entry]) -> Vec<u8> {
    let entries: Vec<Value> = entries.iter().map(Entry::to_json).collect();
    json!({"version": VERSION, "entries": entries})
        .to_string()
        .into_bytes()
}

fn read_file(file: &Path) -> Result<Vec<Entry>, LoadError> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(LoadError::Io {
                path: file.to_owned(),
                kind: e.kind(),
            })
        }
    };
    let corrupt = || LoadError::Corrupt {
        path: file.to_owned(),
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
    if value.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err(corrupt());
    }
    value
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(corrupt)?
        .iter()
        .map(|v| Entry::from_stored(v).ok_or_else(corrupt))
        .collect()
}

/// The directory and file name of `file` (its parent is `cache_dir`, never empty).
fn split(file: &Path) -> (PathBuf, String) {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = file.file_name().map_or_else(
        || FILE_NAME.to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    (dir, name)
}

#[cfg(test)]
mod tests;
