//! End-to-end tests of the proxy: the real binary on loopback, a real JWKS server, a real
//! echo upstream. One test binary; scenarios live in `tests/proxy/*.rs`.

#[path = "support/harness.rs"]
mod harness;

#[path = "proxy/statuses.rs"]
mod statuses;
