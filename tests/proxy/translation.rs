//! HTTP/2 -> HTTP/1.1 translation (reference section 5, "What tokengate decides on is exactly
//! what the upstream receives"): an h2c client against tokengate in front of an HTTP/1.1
//! upstream that records the raw request head. Cookie fields are joined into one `Cookie`
//! line; `Host` comes from `:authority`; a conflicting `host` or userinfo is a 400. The
//! HTTP/1.1 members of the same class (two `Host` headers, an absolute-form target whose
//! authority differs from `Host`) are refused too; an HTTP/2 upstream keeps working.

use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::json;

use crate::harness::*;

struct Front {
    tg: Tokengate,
    key: Signer,
    iss: String,
    _jwks: JwksServer,
}

impl Front {
    fn token(&self) -> String {
        self.key.sign(&access_claims(&self.iss, "alice", &[]))
    }
}

/// tokengate in front of `upstream` (`http2` for an HTTP/2 upstream), reading the token
/// from the `session` cookie, then the Authorization header.
fn front(upstream: SocketAddr, http2: bool) -> Front {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("p");
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}', http2: {http2} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\ntoken: {{ sources: ['cookie:session', header] }}\nroutes:\n  - {{ match: {{ path_prefix: /public }}, auth: none }}\n  - {{ match: {{ path_prefix: /api }} }}\n"
    );
    Front {
        tg: Tokengate::start(&config, true),
        key,
        iss,
        _jwks: jwks,
    }
}

fn recorded(heads: &Receiver<Vec<u8>>) -> Vec<String> {
    head_lines(&heads.recv_timeout(Duration::from_secs(10)).unwrap())
}

fn values<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn url(authority: &str, path: &str) -> String {
    format!("http://{authority}{path}")
}

#[test]
fn h2_cookie_fields_reach_an_http11_upstream_as_one_cookie_line() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/public/x"),
        &[("cookie", "session=abc"), ("cookie", "csrf=xyz")],
    );
    assert_eq!(r.status, 200);
    let lines = recorded(&heads);
    assert_eq!(
        values(&lines, "cookie"),
        ["session=abc; csrf=xyz"],
        "{lines:?}"
    );
}

#[test]
fn a_cookie_token_split_across_h2_cookie_fields_is_found_and_forwarded_joined() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let token = f.token();
    let session = format!("session={token}");
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/api/x"),
        &[("cookie", "theme=dark"), ("cookie", &session)],
    );
    assert_eq!(r.status, 200);
    let lines = recorded(&heads);
    assert_eq!(
        values(&lines, "cookie"),
        [format!("theme=dark; {session}")],
        "{lines:?}"
    );
    // The same token cookie in two fields with different values is ambiguous.
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/api/x"),
        &[("cookie", &session), ("cookie", "session=other")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    // ... and with the same value it counts once.
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/api/x"),
        &[("cookie", &session), ("cookie", &session)],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn h2_authority_becomes_the_upstream_host_and_x_forwarded_host() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let r = h2c_request(f.tg.addr, "GET", &url("a.example", "/public/x"), &[]);
    assert_eq!(r.status, 200);
    let lines = recorded(&heads);
    assert_eq!(values(&lines, "host"), ["a.example"], "{lines:?}");
    assert_eq!(
        values(&lines, "x-forwarded-host"),
        ["a.example"],
        "{lines:?}"
    );
    // A host header equal to :authority (any case) is the same host.
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/public/x"),
        &[("host", "A.example")],
    );
    assert_eq!(r.status, 200);
    let lines = recorded(&heads);
    assert_eq!(values(&lines, "host"), ["a.example"], "{lines:?}");
}

#[test]
fn h2_authority_and_a_different_host_header_is_400() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/public/x"),
        &[("host", "b.example")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(heads.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn h2_authority_with_userinfo_is_400() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let r = h2c_request(f.tg.addr, "GET", &url("user@a.example", "/public/x"), &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(heads.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn http11_two_host_headers_or_an_absolute_target_for_another_host_is_400() {
    let (upstream, heads) = start_raw_recorder();
    let f = front(upstream, false);
    let two =
        "GET /public/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n";
    assert_eq!(f.tg.send(two).status, 400);
    let other =
        "GET http://a.example/public/x HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n";
    assert_eq!(f.tg.send(other).status, 400);
    let userinfo = "GET /public/x HTTP/1.1\r\nHost: user@a.example\r\nConnection: close\r\n\r\n";
    assert_eq!(f.tg.send(userinfo).status, 400);
    assert!(heads.recv_timeout(Duration::from_millis(300)).is_err());
    // The absolute form for the same host is that host, once.
    let same =
        "GET http://a.example/public/x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n";
    assert_eq!(f.tg.send(same).status, 200);
    let lines = recorded(&heads);
    assert_eq!(values(&lines, "host"), ["a.example"], "{lines:?}");
    // An HTTP/1.1 client's host passes as sent, and so do its cookies, joined.
    let plain = "GET /public/x HTTP/1.1\r\nHost: c.example:8080\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n";
    assert_eq!(f.tg.send(plain).status, 200);
    let lines = recorded(&heads);
    assert_eq!(values(&lines, "host"), ["c.example:8080"], "{lines:?}");
    assert_eq!(values(&lines, "x-forwarded-host"), ["c.example:8080"]);
    assert_eq!(values(&lines, "cookie"), ["a=1; b=2"], "{lines:?}");
}

#[test]
fn an_http2_upstream_gets_the_cookies_and_the_token_still_counts() {
    let f = front(start_echo(), true);
    let token = f.token();
    let session = format!("session={token}");
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/api/x"),
        &[("cookie", "theme=dark"), ("cookie", &session)],
    );
    assert_eq!(r.status, 200);
    let seen = r.json();
    assert_eq!(seen["headers"]["x-auth-sub"][0], "sub-alice");
    assert_eq!(seen["headers"]["x-forwarded-host"][0], "a.example");
    let cookies: Vec<String> = seen["headers"]["cookie"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let all = cookies.join("; ");
    assert!(
        all.contains("theme=dark") && all.contains(&session),
        "{cookies:?}"
    );
    let r = h2c_request(
        f.tg.addr,
        "GET",
        &url("a.example", "/public/x"),
        &[("host", "b.example")],
    );
    assert_eq!(r.status, 400);
}
