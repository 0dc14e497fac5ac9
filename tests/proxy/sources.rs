//! `token.sources: header:NAME`: the raw token as a header's whole value, through the real
//! binary; the header is a credential, so `forward.authorization` decides whether it reaches
//! the upstream, as for `Authorization`.

use crate::harness::*;
use crate::setup::Scene;

const SOURCES: &str = "token: { sources: ['header:X-Api-Token', header] }\n";

#[test]
fn a_token_in_a_named_header_is_verified_and_kept_by_default() {
    let s = Scene::with(SOURCES);
    let token = s.access("alice", &["admin"]);
    let r =
        s.tg.send(&get_with("/admin/x", &[&format!("X-Api-Token:  {token} ")]));
    assert_eq!(r.status, 200, "{}", s.tg.output());
    assert_eq!(
        r.upstream_header("x-auth-username").as_deref(),
        Some("alice")
    );
    assert_eq!(r.upstream_header("x-api-token"), Some(token));

    // Absent or empty: the next source (Authorization) decides.
    let bob = s.access("bob", &[]);
    let r =
        s.tg.send(&get_with("/api/x", &["X-Api-Token: ", &bearer(&bob)]));
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream_header("x-auth-username").as_deref(), Some("bob"));

    // Present: it decides, and a bad token in it is a 401 whatever Authorization holds.
    let r =
        s.tg.send(&get_with("/api/x", &["X-Api-Token: nope", &bearer(&bob)]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");

    // A scheme is not part of this source: the whole value is the token.
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&format!("X-Api-Token: Bearer {bob}")],
    ));
    assert_eq!(r.status, 401);
}

#[test]
fn a_named_token_header_sent_twice_counts_once_or_is_400_when_values_differ() {
    let s = Scene::with(SOURCES);
    let alice = s.access("alice", &["admin"]);
    let bob = s.access("bob", &[]);
    let r = s.tg.send(&get_with(
        "/admin/x",
        &[
            &format!("X-Api-Token: {alice}"),
            &format!("x-api-token: {alice}"),
        ],
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = s.tg.send(&get_with(
        "/admin/x",
        &[
            &format!("X-Api-Token: {alice}"),
            &format!("X-Api-Token: {bob}"),
        ],
    ));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "token header sent twice with different values"
    );
}

#[test]
fn authorization_strip_also_removes_the_named_token_header() {
    let s = Scene::with(&format!(
        "{SOURCES}forward:\n  authorization: strip\n  headers: {{ tenant-id: 'custom:tenant' }}\n"
    ));
    let token = s.access("alice", &["admin"]);
    let r = s.tg.send(&get_with(
        "/admin/x",
        &[&format!("X-Api-Token: {token}"), "X-Other: kept"],
    ));
    assert_eq!(r.status, 200, "{}", s.tg.output());
    assert!(!r.upstream_saw("x-api-token"));
    assert!(!r.upstream_saw("authorization"));
    assert_eq!(r.upstream_header("x-other").as_deref(), Some("kept"));
    assert_eq!(
        r.upstream_header("x-auth-username").as_deref(),
        Some("alice")
    );
}
