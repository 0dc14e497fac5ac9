//! (stub) The serde view of the configuration file.
