//! Request ids and W3C trace context: an id is generated (or the client's sane one kept)
//! and reaches the upstream and the client, refusals and authz answers included; a valid
//! `traceparent` is continued as a child; the access log line carries the ids and the
//! client, upstream and byte-count fields.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;
use crate::setup::Scene;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The access-log line of the request with this id (waits briefly for it).
fn access_line(tg: &Tokengate, request_id: &str) -> Value {
    for _ in 0..100 {
        let found = tg
            .output()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == "access" && v["request_id"] == request_id);
        if let Some(line) = found {
            return line;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no access line for {request_id}: {}", tg.output());
}

#[test]
fn a_request_id_is_generated_and_reaches_the_upstream_and_the_client() {
    let s = Scene::start();
    let r = s.get("/api/x", &s.access("alice", &[]));
    assert_eq!(r.status, 200);
    let id = r.header("x-request-id").unwrap().to_owned();
    assert!(is_generated_id(&id), "{id}");
    assert_eq!(
        r.upstream_header("x-request-id").as_deref(),
        Some(id.as_str())
    );
    let again = s.get("/api/x", &s.access("alice", &[]));
    assert_ne!(
        again.header("x-request-id"),
        Some(id.as_str()),
        "one per request"
    );
}

#[test]
fn a_sane_client_request_id_is_kept_and_a_bad_one_replaced() {
    let s = Scene::start();
    let token = s.access("alice", &[]);
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&bearer(&token), "X-Request-Id: client-7f3a.9_Z"],
    ));
    assert_eq!(r.header("x-request-id"), Some("client-7f3a.9_Z"));
    assert_eq!(
        r.upstream_header("x-request-id").as_deref(),
        Some("client-7f3a.9_Z")
    );
    let long = format!("X-Request-Id: {}", "a".repeat(500));
    for bad in [
        "X-Request-Id: has\tcontrol",
        "X-Request-Id: two words",
        long.as_str(),
    ] {
        let r = s.tg.send(&get_with("/api/x", &[&bearer(&token), bad]));
        assert_eq!(r.status, 200, "{bad}");
        let id = r.header("x-request-id").unwrap();
        assert!(is_generated_id(id), "{bad}: {id}");
        assert_eq!(r.upstream_header("x-request-id").as_deref(), Some(id));
        assert_eq!(
            r.json()["headers"]["x-request-id"].as_array().map(Vec::len),
            Some(1),
            "only tokengate's id reaches the upstream"
        );
    }
}

#[test]
fn a_valid_traceparent_is_continued_as_a_child_and_an_invalid_one_restarted() {
    let s = Scene::start();
    let token = s.access("alice", &[]);
    let r = s.tg.send(&get_with(
        "/api/x",
        &[
            &bearer(&token),
            &format!("traceparent: {PARENT}"),
            "tracestate: congo=t61rcWkgMzE",
        ],
    ));
    let sent = r.upstream_header("traceparent").unwrap();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace");
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "tokengate's span is the parent"
    );
    assert_eq!(parts[2].len(), 16);
    assert_eq!(parts[3], "01", "flags kept");
    assert_eq!(
        r.upstream_header("tracestate").as_deref(),
        Some("congo=t61rcWkgMzE")
    );
    let id = r.header("x-request-id").unwrap();
    let line = access_line(&s.tg, id);
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(line["span_id"], parts[2]);

    let r = s.tg.send(&get_with(
        "/api/x",
        &[
            &bearer(&token),
            "traceparent: 00-not-a-trace-01",
            "tracestate: congo=t61rcWkgMzE",
        ],
    ));
    let sent = r.upstream_header("traceparent").unwrap();
    assert_eq!(sent.len(), 55);
    assert!(!sent.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert!(!r.upstream_saw("tracestate"), "state of another trace");
    let r = s.get("/api/x", &token);
    assert!(r.upstream_header("traceparent").unwrap().starts_with("00-"));
}

#[test]
fn refusals_carry_the_request_id_in_the_header_and_the_body() {
    let s = Scene::start();
    let r =
        s.tg.send(&get_with("/api/x", &["X-Request-Id: lost-token-1"]));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-request-id"), Some("lost-token-1"));
    assert_eq!(
        r.json(),
        json!({"error": "missing_token", "error_description": "no token in the request", "request_id": "lost-token-1"})
    );
    let r = s.tg.send(&get("/nowhere"));
    assert_eq!(r.status, 404);
    let id = r.header("x-request-id").unwrap();
    assert!(is_generated_id(id));
    assert_eq!(r.json()["request_id"], id);
}

#[test]
fn the_access_log_line_has_the_ids_the_client_and_the_byte_counts() {
    let s = Scene::start();
    let token = s.access("alice", &[]);
    let body = "hello world";
    let raw = format!(
        "POST /api/upload HTTP/1.1\r\nHost: test.local\r\nUser-Agent: tg-test/1.0\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nX-Request-Id: log-me-1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = s.tg.send(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["body_bytes"], 11);
    let line = access_line(&s.tg, "log-me-1");
    assert_eq!(line["client_ip"], "127.0.0.1");
    assert_eq!(line["user_agent"], "tg-test/1.0");
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(line["bytes_in"], 11);
    assert_eq!(line["bytes_out"], r.body.len() as u64);
    assert_eq!(line["tls"], false);
    assert_eq!(line["http_version"], "HTTP/1.1");
    assert_eq!(line["status"], 200);
    assert!(line["trace_id"].as_str().is_some_and(|t| t.len() == 32));

    let r = s.tg.send(&get_with(
        "/api/x",
        &["X-Request-Id: refused-1", "User-Agent: curl/8"],
    ));
    assert_eq!(r.status, 401);
    let line = access_line(&s.tg, "refused-1");
    assert_eq!(line["upstream_status"], 0, "never forwarded");
    assert_eq!(line["bytes_in"], 0);
    assert_eq!(line["bytes_out"], r.body.len() as u64);
    assert_eq!(line["outcome"], "missing_token");

    // A token in User-Agent (a `header:` source may name it) is never logged.
    let _ = s.tg.send(&get_with(
        "/api/x",
        &[&format!("User-Agent: {token}"), "X-Request-Id: ua-token-1"],
    ));
    let line = access_line(&s.tg, "ua-token-1");
    assert_eq!(line["user_agent"], "[redacted]");
    assert!(!s.tg.output().contains(token.split('.').nth(1).unwrap()));
}

#[test]
fn authz_answers_carry_the_request_id() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let config = format!(
        "mode: authz\nserver: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
        jwks.issuer("p")
    );
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "alice", &[]));
    let allowed = tg.send(&get_with("/x", &[&bearer(&token), "X-Request-Id: gw-1"]));
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("x-request-id"), Some("gw-1"));
    let denied = tg.send(&get("/x"));
    assert_eq!(denied.status, 401);
    assert!(is_generated_id(denied.header("x-request-id").unwrap()));
}
