//! The Gate: runs a request through its phases (normalize path, route, extract token,
//! verify, policy, header hygiene, forward, log). Never locks, fetches or blocks.

pub mod headers;
pub mod path;
pub mod route;
