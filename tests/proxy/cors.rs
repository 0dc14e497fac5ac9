//! CORS preflight opt-in (`match: { cors_preflight: true }` with `auth: none`): a browser's
//! preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) reaches the
//! upstream without a token; any other `OPTIONS` on the same path still needs one, and
//! without the opt-in a preflight is refused like any request without a token.

use crate::harness::*;
use crate::setup::Scene;

const PREFLIGHT_ROUTES: &str = "routes:\n  - name: preflight\n    match: { path_prefix: /api, cors_preflight: true }\n    auth: none\n  - name: api\n    match: { path_prefix: /api }\n";

fn options(path: &str, headers: &[&str]) -> String {
    let mut r = format!("OPTIONS {path} HTTP/1.1\r\nHost: test.local\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r
}

const ORIGIN: &str = "Origin: https://app.example";
const REQUEST_METHOD: &str = "Access-Control-Request-Method: POST";

#[test]
fn a_preflight_is_forwarded_without_a_token_when_the_route_opts_in() {
    let s = Scene::with_routes(PREFLIGHT_ROUTES);
    let r = s.tg.send(&options(
        "/api/orders",
        &[
            ORIGIN,
            REQUEST_METHOD,
            "Access-Control-Request-Headers: authorization",
        ],
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let seen = r.json();
    assert_eq!(seen["method"], "OPTIONS");
    assert_eq!(seen["path"], "/api/orders");
    assert_eq!(
        r.upstream_header("origin").as_deref(),
        Some("https://app.example")
    );
    assert!(!r.upstream_saw("x-auth-sub"));
    assert_eq!(
        s.tg.metric(r#"tokengate_requests_total{outcome="allowed",route="preflight"}"#),
        1.0
    );
}

#[test]
fn an_options_request_that_is_not_a_preflight_still_needs_a_token() {
    let s = Scene::with_routes(PREFLIGHT_ROUTES);
    for headers in [&[][..], &[ORIGIN][..], &[REQUEST_METHOD][..]] {
        let r = s.tg.send(&options("/api/orders", headers));
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json()["error"], "missing_token");
    }
    // A GET that carries both headers is no preflight either.
    let r =
        s.tg.send(&get_with("/api/orders", &[ORIGIN, REQUEST_METHOD]));
    assert_eq!(r.status, 401);
    // ... and with a token the OPTIONS request is forwarded with the identity.
    let token = s.access("alice", &[]);
    let r = s.tg.send(&options("/api/orders", &[&bearer(&token)]));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice")
    );
}

#[test]
fn without_the_opt_in_a_preflight_is_401_as_before() {
    let s = Scene::start();
    let r =
        s.tg.send(&options("/api/orders", &[ORIGIN, REQUEST_METHOD]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "missing_token");
}
