//! (stub) owned by the auth work.
