//! ALB-authenticated requests (reference section 9): the real binary verifies the
//! `x-amzn-oidc-data` an ALB would send (padded segments, ES256 `R||S`), fetching the PEM
//! key of its kid once from a local key server; the ALB's headers reach the upstream only
//! when that token verified; a random-kid flood costs at most one key fetch per
//! `min_refresh_interval`; a key server that lies or hangs never lets a token pass.

use std::time::Duration;

use tokio::time::Instant;

use serde_json::{json, Value};
use tokengate::dev_issuer::DevKey;

use crate::harness::*;

const KID: &str = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901";
const ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123";
const ALB_CLIENT: &str = "4example";

fn config(keys: &AlbKeyServer, upstream: std::net::SocketAddr, jwks: &str) -> String {
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\n\
issuers:\n  - name: alb\n    alb:\n      arns: ['{ARN}']\n      issuer: '{ISS}'\n      key_url: '{}'\n    client_ids: [{ALB_CLIENT}]\n    clock_skew: 5s\n\
token: {{ sources: [alb] }}\njwks: {{ {jwks} }}\n\
routes:\n  - match: {{ path_prefix: /public }}\n    auth: none\n  - match: {{ path_prefix: /maybe }}\n    auth: optional\n  - match: {{ path_prefix: / }}\n",
        keys.url()
    )
}

fn header(kid: &str) -> Value {
    needing_padding(json!({"typ": "JWT", "kid": kid, "alg": "ES256", "iss": ISS,
        "client": ALB_CLIENT, "signer": ARN, "exp": now() + 300}))
}

fn payload() -> Value {
    needing_padding(json!({"sub": "23d498b2-3031-70d2-8a15-49dd886a087b",
        "email_verified": "true", "email": "duke@example.com", "username": "duke",
        "exp": now() + 300, "iss": ISS}))
}

/// `v` grown by a filler member until its JSON text is not a multiple of 3 bytes long, so
/// its base64url segment ends in `=` as most real ALB segments do.
fn needing_padding(mut v: Value) -> Value {
    while v.to_string().len().is_multiple_of(3) {
        let filler = format!("{}x", v["f"].as_str().unwrap_or(""));
        v["f"] = json!(filler);
    }
    v
}

fn scene(jwks: &str) -> (DevKey, AlbKeyServer, Tokengate) {
    let key = DevKey::generate_p256(KID).unwrap();
    let keys = AlbKeyServer::start();
    keys.put(KID, key.public_pem().unwrap());
    let tg = Tokengate::start(&config(&keys, start_echo(), jwks), true);
    (key, keys, tg)
}

fn data(token: &str) -> String {
    format!("x-amzn-oidc-data: {token}")
}

#[test]
fn an_alb_token_passes_with_its_identity_and_the_key_is_fetched_once() {
    let (key, keys, tg) = scene("min_refresh_interval: 2s");
    assert_eq!(
        keys.hit_count(),
        0,
        "no kid to fetch before a token names one"
    );
    let token = key.sign_alb(&header(KID), &payload()).unwrap();
    assert!(
        token.contains("=."),
        "the ALB wire format pads its segments: {token}"
    );
    for _ in 0..3 {
        let r = tg.send(&get_with(
            "/app",
            &[
                &data(&token),
                "x-amzn-oidc-identity: 23d498b2-3031-70d2-8a15-49dd886a087b",
                "x-amzn-oidc-accesstoken: eyJ.access.token",
            ],
        ));
        assert_eq!(
            r.status,
            200,
            "{}\n{}",
            String::from_utf8_lossy(&r.body),
            tg.output()
        );
        assert_eq!(
            r.upstream_header("x-auth-sub").as_deref(),
            Some("23d498b2-3031-70d2-8a15-49dd886a087b")
        );
        assert_eq!(
            r.upstream_header("x-auth-email").as_deref(),
            Some("duke@example.com")
        );
        assert_eq!(
            r.upstream_header("x-auth-username").as_deref(),
            Some("duke")
        );
        assert_eq!(
            r.upstream_header("x-auth-token-use").as_deref(),
            Some("alb")
        );
        assert_eq!(
            r.upstream_header("x-auth-client-id").as_deref(),
            Some(ALB_CLIENT)
        );
        assert_eq!(r.upstream_header("x-auth-issuer").as_deref(), Some("alb"));
        // The ALB's own headers pass with a verified x-amzn-oidc-data.
        assert_eq!(
            r.upstream_header("x-amzn-oidc-data").as_deref(),
            Some(token.as_str())
        );
        assert!(r.upstream_saw("x-amzn-oidc-identity"));
        assert!(r.upstream_saw("x-amzn-oidc-accesstoken"));
    }
    assert_eq!(keys.hit_count(), 1, "one fetch for the kid, then kept");
    assert_eq!(
        tg.metric(
            r#"tokengate_jwks_fetches_total{issuer="alb",result="ok",trigger="unknown_kid"}"#
        ),
        1.0
    );
    let listed = tg.admin_get("/keys").json();
    assert_eq!(listed["issuers"][0]["kids"], json!([KID]));
    assert_eq!(listed["issuers"][0]["source"], "alb");
}

#[test]
fn spoofed_alb_headers_without_a_verified_token_never_reach_the_upstream() {
    let (key, _keys, tg) = scene("min_refresh_interval: 2s");
    let spoof = [
        "x-amzn-oidc-identity: admin",
        "x-amzn-oidc-accesstoken: forged",
        "X_Amzn_Oidc_Identity: admin",
    ];
    // A route that never looks at tokens, and an optional route without a token.
    for path in ["/public/x", "/maybe/x"] {
        let mut headers: Vec<String> = spoof.iter().map(|s| (*s).to_owned()).collect();
        if path == "/public/x" {
            headers.push(data("anything.at.all"));
        }
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let r = tg.send(&get_with(path, &refs));
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        for name in [
            "x-amzn-oidc-identity",
            "x-amzn-oidc-accesstoken",
            "x-amzn-oidc-data",
            "x_amzn_oidc_identity",
        ] {
            assert!(!r.upstream_saw(name), "{path}: {name} reached the upstream");
        }
        assert!(!r.upstream_saw("x-auth-sub"));
    }
    // A token signed by another key: refused, whatever else came with it.
    let other = DevKey::generate_p256(KID).unwrap();
    let forged = other.sign_alb(&header(KID), &payload()).unwrap();
    let r = tg.send(&get_with("/app", &[&data(&forged), spoof[0]]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "bad signature");
    // The genuine token with the padding stripped: the ALB signed the padded bytes.
    let token = key.sign_alb(&header(KID), &payload()).unwrap();
    let stripped: Vec<&str> = token.split('.').map(|s| s.trim_end_matches('=')).collect();
    let r = tg.send(&get_with("/app", &[&data(&stripped.join("."))]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "bad signature");
    // A bearer token is not an ALB token's way in: this instance reads x-amzn-oidc-data only.
    let r = tg.send(&get_with("/app", &[&bearer(&token)]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "missing_token");
}

#[test]
fn a_token_of_another_alb_is_401_signer_not_allowed_without_a_key_fetch() {
    let (key, keys, tg) = scene("min_refresh_interval: 2s");
    let mut h = header(KID);
    h["signer"] = json!(ARN.replace("/web/", "/someone-elses/"));
    let token = key.sign_alb(&h, &payload()).unwrap();
    let r = tg.send(&get_with("/app", &[&data(&token)]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "signer not allowed");
    let mut h = header(KID);
    h["client"] = json!("another-client");
    let r = tg.send(&get_with(
        "/app",
        &[&data(&key.sign_alb(&h, &payload()).unwrap())],
    ));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error_description"], "client not allowed");
    assert_eq!(
        keys.hit_count(),
        0,
        "tokens of another ALB or client cause no fetch"
    );
}

#[test]
fn a_random_kid_flood_costs_at_most_one_key_fetch_per_interval_and_valid_tokens_keep_working() {
    let (key, keys, tg) = scene("min_refresh_interval: 3s, fetch_timeout: 1s");
    let good = key.sign_alb(&header(KID), &payload()).unwrap();
    assert_eq!(tg.send(&get_with("/app", &[&data(&good)])).status, 200);
    assert_eq!(keys.hit_count(), 1);
    let started = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let key = DevKey::generate_p256(KID).unwrap();
            let addr = tg.addr;
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for i in 0..25 {
                    let kid = format!("{:08x}-0000-4000-8000-{:012x}", t, i);
                    let token = key.sign_alb(&header(&kid), &payload()).unwrap();
                    let r = try_request(addr, &get_with("/app", &[&data(&token)])).unwrap();
                    statuses.push(r.status);
                }
                statuses
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let intervals = 1 + (elapsed.as_secs_f64() / 3.0) as usize;
    assert!(
        keys.hit_count() <= 1 + intervals,
        "{} key fetches for 200 random kids in {elapsed:?}",
        keys.hit_count()
    );
    // The kept kid is untouched by the flood.
    let r = tg.send(&get_with("/app", &[&data(&good)]));
    assert_eq!(r.status, 200);
}

#[test]
fn a_key_server_that_lies_or_hangs_never_lets_a_token_pass() {
    let (key, keys, tg) = scene("min_refresh_interval: 100ms, fetch_timeout: 1s");
    let rsa = include_str!("../fixtures/keys/issuer-rsa2048.pub.pem");
    let cases: [(&str, Option<&str>); 4] = [
        (
            "00000000-0000-4000-8000-000000000001",
            Some("{\"keys\": []}"),
        ),
        ("00000000-0000-4000-8000-000000000002", Some(rsa)),
        (
            "00000000-0000-4000-8000-000000000003",
            Some("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        ),
        ("00000000-0000-4000-8000-000000000004", None), // 404: the kid is unknown
    ];
    for (kid, body) in cases {
        if let Some(body) = body {
            keys.put(kid, body.to_owned());
        }
        std::thread::sleep(Duration::from_millis(150));
        let token = key.sign_alb(&header(kid), &payload()).unwrap();
        let r = tg.send(&get_with("/app", &[&data(&token)]));
        match body {
            Some(_) => {
                assert_eq!(r.status, 503, "{kid}: {}", String::from_utf8_lossy(&r.body));
                assert_eq!(r.json()["error"], "keys_unavailable");
            }
            None => {
                assert_eq!(r.status, 401, "{kid}");
                assert_eq!(r.json()["error_description"], "unknown kid");
            }
        }
    }
    let keys_view = tg.admin_get("/keys").json();
    assert!(
        keys_view["issuers"][0]["last_error"].is_string(),
        "{keys_view}"
    );
    // Hanging: refused within fetch_timeout (1 s) and the request slack, never a pass.
    keys.hang.store(true, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(150));
    let kid = "00000000-0000-4000-8000-000000000005";
    keys.put(kid, key.public_pem().unwrap());
    let token = key.sign_alb(&header(kid), &payload()).unwrap();
    let started = Instant::now();
    let r = tg.send(&get_with("/app", &[&data(&token)]));
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(
        tg.metric(
            r#"tokengate_jwks_fetches_total{issuer="alb",result="timeout",trigger="unknown_kid"}"#
        ),
        1.0
    );
    assert!(
        tg.metric(
            r#"tokengate_jwks_fetches_total{issuer="alb",result="invalid",trigger="unknown_kid"}"#
        ) >= 3.0
    );
}

#[test]
fn authz_mode_answers_an_alb_token_with_its_identity() {
    let key = DevKey::generate_p256(KID).unwrap();
    let keys = AlbKeyServer::start();
    keys.put(KID, key.public_pem().unwrap());
    let config = format!(
        "mode: authz\nserver: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\n\
issuers:\n  - name: alb\n    alb:\n      arns: ['{ARN}']\n      issuer: '{ISS}'\n      key_url: '{}'\n    client_ids: [{ALB_CLIENT}]\n\
token: {{ sources: [alb] }}\n",
        keys.url()
    );
    let tg = Tokengate::start(&config, true);
    let token = key.sign_alb(&header(KID), &payload()).unwrap();
    let r = tg.send(&get_with("/app", &[&data(&token)]));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-auth-username"), Some("duke"));
    assert_eq!(r.header("x-auth-token-use"), Some("alb"));
    let mut h = header(KID);
    h["signer"] = json!(ARN.replace("/web/", "/other/"));
    let r = tg.send(&get_with(
        "/app",
        &[&data(&key.sign_alb(&h, &payload()).unwrap())],
    ));
    assert_eq!(r.status, 401);
}
