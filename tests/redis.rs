//! `revocation.store: redis` against a real `redis-server` on loopback (stopped by its PID):
//! several `RedisStore` "replicas" in one process share one list; entries propagate within
//! 2 s, survive replica and Redis restarts (AOF), outages and trimming; TLS with a private
//! CA; passwords and ACL users. With `CI` set, a missing `redis-server` fails the tests.
//! One test binary; helpers and scenarios live in `tests/redis/*.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Returns from the test when `redis-server` is missing (outside CI only).
macro_rules! require_redis {
    () => {
        if !crate::server::available() {
            return;
        }
    };
}

#[path = "redis/net.rs"]
mod net;
#[path = "support/ports.rs"]
mod ports;
#[path = "redis/replicas.rs"]
mod replicas;
#[path = "redis/server.rs"]
mod server;

#[path = "redis/access.rs"]
mod access;
#[path = "redis/outages.rs"]
mod outages;
#[path = "redis/sharing.rs"]
mod sharing;
