//! Memory of the verified-token cache (`token.cache_entries`), as the process's resident
//! memory (`/proc/self/status`, what a container's memory limit counts): what an empty cache
//! of the default size holds, and what each cached Cognito token adds (the token text, the parsed claims, the
//! identity header values, the revocation claims, the cache's own slot). Cognito-shaped
//! access and ID tokens as a user pool issues them (COGNITO-NOTES: an ID token carries the
//! user's attributes; both carry `cognito:groups`).
//!
//! `cargo bench --bench cache_memory` fills 20,000 entries of each shape and prints bytes
//! per entry (measured, and as `auth::cache::entry_bytes` estimates them) and what 65,536
//! entries would hold; then fills a cache with the defaults (65,536 entries, 64 MiB) with
//! 40,000 tokens and prints what the byte bound held it to; `cargo test --benches`
//! runs it with 200, to keep it working (too few entries for the figures to mean anything).
//! The tokens are signed before the measurement; the allocator's overhead per block and its
//! fragmentation are in the figures, as they are in production.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokengate::auth::cache::entry_bytes;
use tokengate::auth::{CacheUse, Issuer, Verifier};
use tokengate::config::{Alg, IssuerConfig, IssuerKind, TokenUse};
use tokengate::dev_issuer::DevKey;
use tokengate::jwks::{parse_jwks, IssuerKeys, KeySet, SetOrigin};

/// This process's resident memory, in bytes (`VmRSS` of `/proc/self/status`).
fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: i64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

const POOL: &str = "us-east-1_Bench";
const CLIENT: &str = "4b6a1c7d2e9f8g3h5i0j6k7l8m";
const DEFAULT_ENTRIES: usize = 65_536;
const DEFAULT_MAX_BYTES: u64 = 64 << 20;

fn iss() -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}")
}

/// Claims of the `i`-th user's token as Cognito writes them (field names, types and typical
/// sizes of real user-pool tokens; UUIDs are 36 characters).
fn claims(id_token: bool, i: usize, now: u64) -> Value {
    let sub = format!("{i:08x}-3f1c-4b7a-9d2e-5c8f1a6b0e{:02x}", i % 256);
    let jti = format!("{i:08x}-a1b2-4c3d-8e9f-0a1b2c3d4e5f");
    let origin = format!("{i:08x}-f5e4-4d3c-9b2a-1f0e9d8c7b6a");
    if id_token {
        json!({
            "sub": sub, "cognito:groups": ["orders-admin", "reporting"],
            "email_verified": true, "iss": iss(),
            "cognito:username": format!("user{i}"), "origin_jti": origin,
            "aud": CLIENT, "event_id": format!("{i:08x}-1111-4222-8333-444455556666"),
            "token_use": "id", "auth_time": now, "exp": now + 3600, "iat": now,
            "jti": jti, "email": format!("user{i}@example.com"),
            "custom:tenant": "acme-corp", "name": "Alex Example",
        })
    } else {
        json!({
            "sub": sub, "cognito:groups": ["orders-admin", "reporting"],
            "iss": iss(), "version": 2, "client_id": CLIENT, "origin_jti": origin,
            "event_id": format!("{i:08x}-1111-4222-8333-444455556666"),
            "token_use": "access", "scope": "openid profile email orders/read orders/write",
            "auth_time": now, "exp": now + 3600, "iat": now, "jti": jti,
            "username": format!("user{i}"),
        })
    }
}

fn verifier(key: &DevKey, entries: usize, max_bytes: u64) -> Verifier {
    let keys = Arc::new(IssuerKeys::new());
    let (parsed, _) = parse_jwks(key.jwks().to_string().as_bytes()).unwrap();
    keys.publish(KeySet::new(parsed, SetOrigin::Static, SystemTime::now()));
    let config = IssuerConfig {
        name: "main".into(),
        issuer: iss(),
        jwks_uri: http::Uri::from_static("https://example.com/jwks.json"),
        kind: IssuerKind::Cognito {
            audiences: vec![],
            client_ids: vec![CLIENT.into()],
            token_use: vec![TokenUse::Access, TokenUse::Id],
        },
        algorithms: vec![Alg::RS256],
        clock_skew: Duration::ZERO,
    };
    Verifier::with_cache(vec![Issuer { config, keys }], 8192, entries, max_bytes)
}

fn sign_all(key: &DevKey, id_token: bool, n: usize, from: usize, now: u64) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            key.sign_with_header(
                &json!({"alg": "RS256", "kid": "k1"}),
                &claims(id_token, i, now),
            )
            .unwrap()
        })
        .collect()
}

fn main() {
    let entries = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        200
    };
    let key = DevKey::from_pem(
        "k1",
        include_str!("../tests/fixtures/keys/issuer-rsa2048.pem"),
    )
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let before = rss();
    let empty = verifier(&key, DEFAULT_ENTRIES, DEFAULT_MAX_BYTES);
    let empty_bytes = rss() - before;
    drop(empty);
    println!(
        "cache_memory: an empty cache of {DEFAULT_ENTRIES} entries (with its verifier): {:.1} KiB",
        empty_bytes as f64 / 1024.0
    );

    // Each shape's tokens and cache stay alive to the end, so the next measurement's
    // entries cannot reuse pages an earlier one freed.
    let mut kept = Vec::new();
    for (shape, id_token) in [("access", false), ("id", true)] {
        let tokens = sign_all(&key, id_token, entries, 0, now);
        let token_len = tokens[0].len();
        // Room for twice the tokens, each weighing at least 16 KiB: neither bound binds.
        let cache = verifier(&key, 2 * entries, 2 * entries as u64 * 16 * 1024);
        // The first verification warms what every later one shares (the key's state).
        let (first, _) = cache.verify_cached(&tokens[0], SystemTime::now());
        assert!(first.is_ok(), "{first:?}");
        let start = rss();
        for token in &tokens[1..] {
            let (r, _) = cache.verify_cached(token, SystemTime::now());
            assert!(r.is_ok(), "{r:?}");
        }
        let per_entry = (rss() - start) as f64 / (entries - 1) as f64;
        // Every token is now a hit: the cache holds them all.
        let mut estimated = 0;
        for token in &tokens {
            let (hit, used) = cache.verify_cached(token, SystemTime::now());
            assert_eq!(used, CacheUse::Hit);
            estimated += entry_bytes(token, &hit.unwrap());
        }
        let estimated = estimated as f64 / entries as f64;
        println!(
            "cache_memory: {shape} token of {token_len} bytes: {per_entry:.0} bytes of RSS per cached entry ({:.1}x the token), estimated {estimated:.0} ({:+.0}%); {DEFAULT_ENTRIES} entries would hold {:.0} MiB",
            per_entry / token_len as f64,
            (estimated / per_entry - 1.0) * 100.0,
            per_entry * DEFAULT_ENTRIES as f64 / (1024.0 * 1024.0)
        );
        kept.push((tokens, cache));
    }

    // The defaults (65,536 entries, 64 MiB) against more tokens than 64 MiB holds: the byte
    // bound holds the cache, and the process, to it.
    let over = 2 * entries;
    let tokens = sign_all(&key, false, over, entries, now);
    let cache = verifier(&key, DEFAULT_ENTRIES, DEFAULT_MAX_BYTES);
    let start = rss();
    for token in &tokens {
        let (r, _) = cache.verify_cached(token, SystemTime::now());
        assert!(r.is_ok(), "{r:?}");
    }
    let grown = (rss() - start) as f64 / (1024.0 * 1024.0);
    let (held, weight) = cache.cache_usage();
    assert!(weight <= DEFAULT_MAX_BYTES, "{weight}");
    println!(
        "cache_memory: defaults ({DEFAULT_ENTRIES} entries, {} MiB) after {over} distinct access tokens: {held} entries held, weighing {:.1} MiB; RSS grew {grown:.1} MiB",
        DEFAULT_MAX_BYTES >> 20,
        weight as f64 / (1024.0 * 1024.0)
    );
    kept.push((tokens, cache));
}
