//! Revocation (reference section 8): the list of revoked sessions, tokens, users and
//! clients, read on the request path as an immutable [`RevocationSet`] (no lock, no I/O),
//! and the entries that make it. Stores (memory, Redis) keep and share the entries.

pub mod entry;
pub mod list;
pub mod redis;
pub mod set;
pub mod store;

pub use entry::{Entry, EntryError, Kind, Target};
pub use list::{OnUnavailable, Refusal, Revocations};
pub use set::{RevocationSet, Revoked};
pub use store::{Store, StoreError, StoreFuture};
