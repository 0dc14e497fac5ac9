//! SIGHUP reload: a valid file is published while a stream in flight continues on the old
//! snapshot; a broken file changes nothing; unchanged issuers keep their keys, new issuers
//! get theirs fetched; `tokengate_config_reloads_total{result}` counts both.

use std::time::Duration;

use serde_json::json;

use crate::harness::*;

const OK: &str = "tokengate_config_reloads_total{result=\"ok\"}";
const ERROR: &str = "tokengate_config_reloads_total{result=\"error\"}";

fn config(upstream: std::net::SocketAddr, issuers: &str, routes: &str) -> String {
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n{issuers}\nroutes:\n{routes}\n"
    )
}

fn issuer(name: &str, jwks: &JwksServer) -> String {
    format!(
        "  - name: {name}\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
        jwks.issuer("p")
    )
}

#[test]
fn a_stricter_route_takes_effect_while_a_stream_in_flight_continues() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_streaming_upstream(8, Duration::from_millis(150));
    let open = "  - { match: { path_prefix: / } }";
    let strict = "  - { match: { path_prefix: / }, require: { groups_any: [admin] } }";
    let tg = Tokengate::start(&config(upstream, &issuer("main", &jwks), open), true);
    let bob = key.sign(&access_claims(&jwks.issuer("p"), "bob", &[]));
    let alice = key.sign(&access_claims(&jwks.issuer("p"), "alice", &["admin"]));
    assert_eq!(tg.send(&get_with("/s", &[&bearer(&bob)])).status, 200);
    let fetches_before = jwks.fetch_count();

    // A stream of ~1.2 s starts under the open route ...
    let addr = tg.addr;
    let bob_stream = bob.clone();
    let in_flight =
        std::thread::spawn(move || try_request(addr, &get_with("/s", &[&bearer(&bob_stream)])));
    std::thread::sleep(Duration::from_millis(200));

    // ... and the stricter route is published while it runs.
    tg.rewrite_config(&config(upstream, &issuer("main", &jwks), strict));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the reload to be counted", || {
        tg.metric(OK) == 1.0
    });
    assert_eq!(
        tg.send(&get_with("/s", &[&bearer(&bob)])).status,
        403,
        "new requests see the stricter route"
    );
    assert_eq!(tg.send(&get_with("/s", &[&bearer(&alice)])).status, 200);

    let streamed = in_flight.join().unwrap().unwrap();
    assert_eq!(streamed.status, 200, "the stream in flight stays allowed");
    let body = String::from_utf8(streamed.body).unwrap();
    assert_eq!(body.lines().count(), 8, "every chunk arrived: {body}");
    assert_eq!(
        jwks.fetch_count(),
        fetches_before,
        "the unchanged issuer's keys are kept, not refetched"
    );
    assert_eq!(tg.metric(ERROR), 0.0);
    assert!(tg.output().contains("configuration reloaded"));
}

#[test]
fn a_broken_file_changes_nothing_and_is_logged_with_its_problems() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let routes =
        "  - { match: { path_prefix: /public }, auth: none }\n  - { match: { path_prefix: / } }";
    let tg = Tokengate::start(&config(upstream, &issuer("main", &jwks), routes), true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "bob", &[]));

    // An unknown key (a typo) and a route opening everything: both must be refused.
    let broken = config(
        upstream,
        &issuer("main", &jwks),
        "  - { match: { path_prefix: / }, auth: none }",
    )
    .replace("upstream:", "upstreem: { url: 'http://x' }\nupstream:");
    tg.rewrite_config(&broken);
    tg.signal("-HUP");
    within(
        Duration::from_secs(5),
        "the refused reload to be counted",
        || tg.metric(ERROR) == 1.0,
    );
    assert_eq!(tg.metric(OK), 0.0);
    assert_eq!(
        tg.send(&get("/private")).status,
        401,
        "the old routes still hold"
    );
    assert_eq!(
        tg.send(&get_with("/private", &[&bearer(&token)])).status,
        200
    );
    assert_eq!(tg.send(&get("/public/x")).status, 200);
    let out = tg.output();
    assert!(out.contains("configuration reload refused"), "{out}");
    assert!(out.contains("upstreem"), "the problem is named: {out}");

    // Not YAML at all: refused too, and the process keeps serving.
    tg.rewrite_config("server: [unclosed");
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the second refused reload", || {
        tg.metric(ERROR) == 2.0
    });
    assert_eq!(tg.admin_get("/readyz").status, 200);
    assert_eq!(tg.send(&get("/private")).status, 401);
}

#[test]
fn a_new_issuer_gets_its_keys_and_a_removed_one_is_refused() {
    let key = Signer::issuer_key();
    let first = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let second = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let routes = "  - { match: { path_prefix: / } }";
    let tg = Tokengate::start(&config(upstream, &issuer("one", &first), routes), true);
    let from_first = key.sign(&access_claims(&first.issuer("p"), "a", &[]));
    let from_second = key.sign(&access_claims(&second.issuer("p"), "b", &[]));
    assert_eq!(
        tg.send(&get_with("/x", &[&bearer(&from_second)])).status,
        401
    );
    assert_eq!(second.fetch_count(), 0);

    let both = format!("{}{}", issuer("one", &first), issuer("two", &second));
    tg.rewrite_config(&config(upstream, &both, routes));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the new issuer's keys", || {
        tg.send(&get_with("/x", &[&bearer(&from_second)])).status == 200
    });
    assert_eq!(second.fetch_count(), 1, "fetched once for the new issuer");
    let reply = tg.send(&get_with("/x", &[&bearer(&from_second)]));
    assert_eq!(
        reply.upstream_header("x-auth-issuer").as_deref(),
        Some("two")
    );
    assert_eq!(
        tg.send(&get_with("/x", &[&bearer(&from_first)])).status,
        200
    );
    let keys = tg.admin_get("/keys").json();
    assert_eq!(keys["issuers"].as_array().unwrap().len(), 2);

    // Removing the first issuer: its tokens are no longer accepted.
    tg.rewrite_config(&config(upstream, &issuer("two", &second), routes));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the second reload", || {
        tg.metric(OK) == 2.0
    });
    let reply = tg.send(&get_with("/x", &[&bearer(&from_first)]));
    assert_eq!(reply.status, 401);
    assert_eq!(
        tg.send(&get_with("/x", &[&bearer(&from_second)])).status,
        200
    );
    assert_eq!(second.fetch_count(), 1, "the kept issuer was not refetched");
}

#[test]
fn listener_changes_are_reported_as_needing_a_restart() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let routes = "  - { match: { path_prefix: / } }";
    let text = config(upstream, &issuer("main", &jwks), routes);
    let tg = Tokengate::start(&text, true);
    let moved = text.replace(
        "listen: LISTEN",
        &format!("listen: '127.0.0.1:{}'", free_port()),
    );
    tg.rewrite_config(&moved);
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the reload", || {
        tg.metric(OK) == 1.0
    });
    assert!(tg.output().contains("apply only after a restart"));
    let token = key.sign(&access_claims(&jwks.issuer("p"), "a", &[]));
    assert_eq!(
        tg.send(&get_with("/x", &[&bearer(&token)])).status,
        200,
        "still serving on the old address"
    );
}

#[test]
fn forwarding_upstream_and_log_level_change_with_a_reload() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let echo = start_echo();
    let closed = free_port(); // nothing listens here: 502
    let base = |upstream: &str, extra: &str| {
        format!(
            "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: '{upstream}' }}\nissuers:\n{}\n{extra}",
            issuer("main", &jwks)
        )
    };
    let tg = Tokengate::start(&base(&format!("http://{echo}"), ""), true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "a", &[]));
    let auth = bearer(&token);
    let r = tg.send(&get_with("/x", &[&auth]));
    assert_eq!(r.status, 200);
    assert!(r.upstream_saw("authorization"), "keep is the default");

    // forward.authorization: strip, and a new header prefix.
    tg.rewrite_config(&base(
        &format!("http://{echo}"),
        "forward: { authorization: strip, header_prefix: x-user- }\n",
    ));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the first reload", || {
        tg.metric(OK) == 1.0
    });
    let r = tg.send(&get_with("/x", &[&auth]));
    assert_eq!(r.status, 200);
    assert!(
        !r.upstream_saw("authorization"),
        "stripped after the reload"
    );
    assert_eq!(r.upstream_header("x-user-sub").as_deref(), Some("sub-a"));
    assert!(!r.upstream_saw("x-auth-sub"));

    // A new upstream (nothing listens: 502), and log.level debug shows why.
    tg.rewrite_config(&base(
        &format!("http://127.0.0.1:{closed}"),
        "log: { level: info }\n",
    ));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the second reload", || {
        tg.metric(OK) == 2.0
    });
    assert_eq!(tg.send(&get_with("/x", &[&auth])).status, 502);
    assert!(
        !tg.output().contains("upstream request failed"),
        "info hides debug lines"
    );
    tg.rewrite_config(&base(
        &format!("http://127.0.0.1:{closed}"),
        "log: { level: debug }\n",
    ));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the third reload", || {
        tg.metric(OK) == 3.0
    });
    assert_eq!(tg.send(&get_with("/x", &[&auth])).status, 502);
    within(
        Duration::from_secs(5),
        "a debug line after the level changed",
        || tg.output().contains("upstream request failed"),
    );
}

/// One request on an open keep-alive connection: its status and body (`Content-Length`).
fn exchange(conn: &mut std::net::TcpStream, raw: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    conn.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).unwrap(),
            1,
            "connection closed mid-head"
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    (status, body)
}

/// One keep-alive connection to a tokengate in front of the echo upstream, with a valid
/// token: (the JWKS server, the echo's address, tokengate, the token, the connection).
struct KeepAliveScene {
    jwks: JwksServer,
    echo: std::net::SocketAddr,
    tg: Tokengate,
    token: String,
    conn: std::net::TcpStream,
}

const ALL_ROUTES: &str = "  - match: { path_prefix: / }\n";

fn keep_alive_scene() -> KeepAliveScene {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let echo = start_echo();
    let tg = Tokengate::start(&config(echo, &issuer("main", &jwks), ALL_ROUTES), true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "a", &[]));
    let conn = std::net::TcpStream::connect(tg.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    KeepAliveScene {
        jwks,
        echo,
        tg,
        token,
        conn,
    }
}

/// From its second request on, a keep-alive connection reaches the upstream over its own
/// upstream connection: every request still arrives as sent, and a reload to another
/// upstream applies to the connection already open (its next request goes to the new one).
#[test]
fn an_open_keep_alive_connection_follows_an_upstream_change() {
    let KeepAliveScene {
        jwks,
        tg,
        token,
        mut conn,
        ..
    } = keep_alive_scene();
    let closed = free_port(); // nothing listens here: 502
    for i in 0..4 {
        let raw = format!(
            "POST /n{i}?q={i} HTTP/1.1\r\nHost: t\r\n{}\r\nContent-Length: 5\r\n\r\nhello",
            bearer(&token)
        );
        let (status, body) = exchange(&mut conn, &raw);
        assert_eq!(status, 200, "request {i}");
        let echoed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(echoed["path"], format!("/n{i}?q={i}"), "request {i}");
        assert_eq!(echoed["method"], "POST");
    }
    let unreachable = std::net::SocketAddr::from(([127, 0, 0, 1], closed));
    tg.rewrite_config(&config(unreachable, &issuer("main", &jwks), ALL_ROUTES));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the reload", || {
        tg.metric(OK) == 1.0
    });
    let raw = format!(
        "GET /after HTTP/1.1\r\nHost: t\r\n{}\r\n\r\n",
        bearer(&token)
    );
    let (status, _) = exchange(&mut conn, &raw);
    assert_eq!(status, 502, "the new upstream, not the old connection");
}

/// A request that names no host (HTTP/1.0 without `Host`) reaches the upstream with the
/// upstream's authority as `Host`, on the connection's first request (the pooled client) and
/// on its later ones (the connection's own upstream connection) alike.
#[test]
fn a_request_without_host_gets_the_upstream_authority_on_every_request_of_a_connection() {
    // Bound, not `..`: an unnamed field would be dropped here, stopping tokengate.
    let KeepAliveScene {
        jwks: _jwks,
        echo,
        tg: _tg,
        token,
        mut conn,
    } = keep_alive_scene();
    for i in 0..3 {
        let raw = format!(
            "GET /h{i} HTTP/1.0\r\nConnection: keep-alive\r\n{}\r\n\r\n",
            bearer(&token)
        );
        let (status, body) = exchange(&mut conn, &raw);
        assert_eq!(status, 200, "request {i}");
        let echoed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(echoed["path"], format!("/h{i}"), "request {i}");
        assert_eq!(
            echoed["headers"]["host"],
            json!([echo.to_string()]),
            "request {i}"
        );
    }
}
