//! Revocation (reference section 8): the list of revoked sessions, tokens, users and
//! clients, read on the request path as an immutable [`RevocationSet`] (no lock, no I/O),
//! and the entries that make it. Stores (memory, Redis) keep and share the entries; the
//! `Revoker` ties the list, the store and the entry lifetime together for the process.

pub mod entry;
pub mod list;
pub mod memory;
pub mod redis;
pub mod revoker;
pub mod set;
pub mod store;

pub use entry::{Entry, EntryError, Kind, Target};
pub use list::{OnUnavailable, Refusal, Revocations};
pub use memory::MemoryStore;
pub use revoker::{OpenError, Revoker};
pub use set::{RevocationSet, Revoked};
pub use store::{system_clock, Clock, Store, StoreError, StoreFuture};
