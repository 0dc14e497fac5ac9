//! (stub) JWKS fetching.
