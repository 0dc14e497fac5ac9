//! tokengate: a token-validation sidecar proxy for Amazon Cognito user-pool JWTs.
//!
//! A request: `accept -> auto::Builder (HTTP/1.1, h2c) -> Gate: normalize path -> route ->
//! extract token -> verify [parse -> keys.load() -> signature -> claims] -> policy ->
//! strip, then inject headers -> pooled client => upstream => stream back -> log`.
//! Any phase that fails yields a `Reject`, which `error.rs` alone turns into a response,
//! and the same log phase closes it.
//!
//! State: the configuration, verifier, router, header rules and upstream client form one
//! immutable `Snapshot` behind `ArcSwap` (`app.rs`). Each issuer's key set is its own
//! `ArcSwap`, written only by that issuer's background task (`jwks/refresh.rs`); requests
//! only `load()` and never fetch, lock or wait for keys.
//!
//! Layers: no file of `src/` imports one that imports it back (`tests/module_graph.rs`
//! checks). `outcome.rs` (the label set) and `metrics.rs` are at the bottom; each phase's
//! own error type (`proxy/original.rs`, `proxy/path.rs`, `proxy/headers.rs`,
//! `proxy/upstream.rs`, `auth.rs`) sits below `error.rs`, which maps them all to `Reject`
//! without wildcard arms; the phases (`proxy/verify.rs`, `proxy/authz.rs`, `proxy.rs`) and
//! the listeners (`server/`) sit above it.

pub mod app;
pub mod auth;
pub mod build_info;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod connector;
pub mod dev_issuer;
pub mod error;
pub mod jwks;
pub mod metrics;
pub mod outcome;
pub mod private_file;
pub mod proxy;
pub mod revocation;
pub mod server;
pub mod shutdown;
pub mod telemetry;
