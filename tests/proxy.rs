//! End-to-end tests of the proxy: the real binary on loopback, a real JWKS server, a real
//! echo upstream. One test binary; scenarios live in `tests/proxy/*.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/harness.rs"]
mod harness;
#[path = "support/ports.rs"]
mod ports;

#[path = "proxy/setup.rs"]
mod setup;

#[path = "proxy/statuses.rs"]
mod statuses;

#[path = "proxy/hygiene.rs"]
mod hygiene;

#[path = "proxy/identity_values.rs"]
mod identity_values;

#[path = "proxy/operations.rs"]
mod operations;

#[path = "proxy/rotation.rs"]
mod rotation;

#[path = "proxy/alb.rs"]
mod alb;

#[path = "proxy/lifecycle.rs"]
mod lifecycle;

#[path = "proxy/tls.rs"]
mod tls;

#[path = "proxy/upgrade.rs"]
mod upgrade;

#[path = "proxy/grpc.rs"]
mod grpc;

#[path = "proxy/websocket.rs"]
mod websocket;

#[path = "proxy/reload.rs"]
mod reload;

#[path = "proxy/watch.rs"]
mod watch;

#[path = "proxy/request_ids.rs"]
mod request_ids;

#[path = "proxy/shutdown.rs"]
mod shutdown;

#[path = "proxy/https.rs"]
mod https;

#[path = "proxy/limits.rs"]
mod limits;

#[path = "proxy/authz.rs"]
mod authz;

#[path = "proxy/ext_authz.rs"]
mod ext_authz;

#[path = "proxy/build_health.rs"]
mod build_health;

#[path = "proxy/translation.rs"]
mod translation;

#[path = "proxy/cors.rs"]
mod cors;

#[path = "proxy/sources.rs"]
mod sources;

#[path = "proxy/shapes.rs"]
mod shapes;

#[path = "proxy/revocation.rs"]
mod revocation;

// Shared with tests/redis.rs, which uses the parts this binary does not.
#[allow(dead_code)]
#[path = "redis/server.rs"]
mod redis_server;

#[path = "proxy/revocation_redis.rs"]
mod revocation_redis;

#[path = "proxy/faults.rs"]
mod faults;
