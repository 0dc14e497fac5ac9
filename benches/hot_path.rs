//! The per-request work in isolation: token verification cold (signature each time) and
//! cached, a cached verification plus the revocation check against a 100,000-entry list
//! (claims read once at verification, and read from the payload each time),
//! path normalization, route matching, header hygiene. `cargo bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;
use tokengate::auth::{Issuer, Verifier};
use tokengate::config::{
    Alg, AuthMode, AuthorizationForward, ForwardConfig, IssuerConfig, IssuerKind, PathMatch,
    Require, Route, RouteAction, TokenUse,
};
use tokengate::dev_issuer::DevKey;
use tokengate::jwks::{parse_jwks, IssuerKeys, KeySet, SetOrigin};
use tokengate::proxy::headers::HeaderRules;
use tokengate::proxy::path::normalize;
use tokengate::proxy::route::Router;
use tokengate::revocation::{system_clock, Entry, OnUnavailable, RevocationSet, Revoker, Target};

const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench";

fn setup() -> (Verifier, Verifier, String) {
    let key = DevKey::from_pem(
        "k1",
        include_str!("../tests/fixtures/keys/issuer-rsa2048.pem"),
    )
    .unwrap();
    let jwks = key.jwks();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": "5f2c-41d0", "iss": ISS, "token_use": "access",
        "client_id": "client", "username": "alice", "scope": "openid orders/read",
        "cognito:groups": ["admin", "dev"], "exp": now + 3600, "iat": now, "auth_time": now,
        "jti": "a-jti", "origin_jti": "an-origin-jti"});
    let token = key
        .sign_with_header(&json!({"alg": "RS256", "kid": "k1"}), &claims)
        .unwrap();
    let make = |cache: usize| {
        let keys = Arc::new(IssuerKeys::new());
        let (parsed, _) = parse_jwks(jwks.to_string().as_bytes()).unwrap();
        keys.publish(KeySet::new(parsed, SetOrigin::Static, SystemTime::now()));
        let config = IssuerConfig {
            name: "main".into(),
            issuer: ISS.into(),
            jwks_uri: http::Uri::from_static("https://example.com/jwks.json"),
            kind: IssuerKind::Cognito {
                audiences: vec![],
                client_ids: vec!["client".into()],
                token_use: vec![TokenUse::Access],
            },
            algorithms: vec![Alg::RS256],
            clock_skew: Duration::ZERO,
        };
        Verifier::with_cache(vec![Issuer { config, keys }], 8192, cache, 64 << 20)
    };
    (make(0), make(1024), token)
}

fn verification(c: &mut Criterion) {
    let (cold, cached, token) = setup();
    c.bench_function("verify_cold_rs256", |b| {
        b.iter(|| cold.verify(black_box(&token), SystemTime::now()).unwrap())
    });
    c.bench_function("verify_cached", |b| {
        b.iter(|| {
            let (r, _) = cached.verify_cached(black_box(&token), SystemTime::now());
            r.unwrap()
        })
    });
}

fn routing(c: &mut Criterion) {
    c.bench_function("normalize_plain_path", |b| {
        b.iter(|| normalize(black_box("/api/v1/orders/12345/items")).unwrap())
    });
    c.bench_function("normalize_hostile_path", |b| {
        b.iter(|| normalize(black_box("/public/%2e%2e//api/./v1/%61dmin/x%3ay")).unwrap())
    });
    let routes: Vec<Route> = ["/public", "/admin", "/billing", "/tenants", "/api/v1", "/"]
        .iter()
        .enumerate()
        .map(|(i, p)| Route {
            name: i.to_string(),
            path: PathMatch::Prefix((*p).to_owned()),
            methods: None,
            cors_preflight: false,
            auth: AuthMode::Required,
            require: Require::default(),
            action: RouteAction::Forward,
        })
        .collect();
    let router = Router::new(&routes);
    c.bench_function("route_match_6_routes", |b| {
        b.iter(|| {
            router
                .find(
                    &Method::GET,
                    black_box("/api/v1/orders/12345"),
                    &HeaderMap::new(),
                )
                .unwrap()
        })
    });
}

fn headers(c: &mut Criterion) {
    let rules = HeaderRules::new(&ForwardConfig {
        header_prefix: "x-auth-".into(),
        claims_header: Some(http::HeaderName::from_static("x-auth-claims")),
        authorization: AuthorizationForward::Keep,
        headers: vec![],
    });
    let mut template = HeaderMap::new();
    for (k, v) in [
        ("host", "api.example.com"),
        ("user-agent", "bench/1.0"),
        ("accept", "application/json"),
        ("authorization", "Bearer x.y.z"),
        ("x-request-id", "abc"),
        ("x-auth-sub", "spoofed"),
        ("connection", "keep-alive"),
    ] {
        template.insert(k, HeaderValue::from_static(v));
    }
    c.bench_function("strip_request_headers", |b| {
        b.iter(|| {
            let mut h = template.clone();
            rules.strip_request(&mut h);
            h
        })
    });
}

/// A revocation list of `n` entries of issuer `main`, none naming the bench token: a
/// quarter of each kind, so every lookup the check makes hits a full table.
fn revoker(n: usize) -> Revoker {
    let config = tokengate::config::RevocationConfig {
        store: tokengate::config::StoreKind::Memory,
        max_token_lifetime: Duration::from_secs(86_400),
        max_lag: Duration::from_secs(10),
        on_unavailable: OnUnavailable::Deny,
        api_token: None,
    };
    let revoker = Revoker::open(&config, None, system_clock()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let entries = (0..n).map(|i| {
        let id = format!("{i:08x}-5f2c-41d0-9d3e-{i:012x}");
        let target = match i % 4 {
            0 => Target::OriginJti(id),
            1 => Target::Jti(id),
            2 => Target::Sub {
                sub: id,
                before: now as f64,
            },
            _ => Target::ClientId {
                client_id: id,
                before: now as f64,
            },
        };
        Entry::new("main".into(), target, now, 86_400)
    });
    revoker.list.publish(RevocationSet::new(entries, now));
    revoker.list.mark_synced(now * 1000);
    revoker
}

/// The same cache hit with and without the revocation check of the verify phase, in one
/// group so the two are measured in the same run.
fn revocation(c: &mut Criterion) {
    let (_, cached, token) = setup();
    let revoker = revoker(100_000);
    assert_eq!(revoker.list.current().entries().len(), 100_000);
    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("verify_cached", |b| {
        b.iter(|| {
            let (r, _) = cached.verify_cached(black_box(&token), SystemTime::now());
            r.unwrap()
        })
    });
    group.bench_function("verify_cached_and_revocation_check_100k", |b| {
        // As the verify phase does: one clock read for both.
        b.iter(|| {
            let now = SystemTime::now();
            let (r, _) = cached.verify_cached(black_box(&token), now);
            let verified = r.unwrap();
            revoker
                .check_claims("main", &verified.revocation, now)
                .unwrap();
            verified
        })
    });
    group.finish();
    let (r, _) = cached.verify_cached(&token, SystemTime::now());
    let verified = r.unwrap();
    c.bench_function("revocation_check_100k", |b| {
        b.iter(|| {
            revoker
                .check_claims(
                    black_box("main"),
                    black_box(&verified.revocation),
                    SystemTime::now(),
                )
                .unwrap()
        })
    });
    // The same check reading the claims from the payload each time (before they were read
    // once at verification).
    c.bench_function("revocation_check_100k_from_payload", |b| {
        b.iter(|| {
            revoker
                .check(
                    black_box("main"),
                    &verified.claims,
                    verified.token_use,
                    SystemTime::now(),
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, verification, revocation, routing, headers);
criterion_main!(benches);
