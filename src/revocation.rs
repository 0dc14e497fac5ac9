//! Revocation (reference section 8): the list of revoked sessions, tokens, users and
//! clients, read on the request path as an immutable [`RevocationSet`] (no lock, no I/O),
//! and the entries that make it. Stores (memory, Redis) keep and share the entries.

pub mod entry;
pub mod set;

pub use entry::{Entry, EntryError, Kind, Target};
pub use set::{RevocationSet, Revoked};
