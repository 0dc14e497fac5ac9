//! Identity header values (reference section 5) end to end: claims holding commas, `%`, control
//! characters and non-ASCII letters keep the token valid and arrive escaped, and decode back
//! exactly with `tokengate::auth::identity::encode::{decode, decode_text}`.

use std::process::Command;

use serde_json::json;
use tokengate::auth::identity::encode::{decode, decode_text};

use crate::authz::Authz;
use crate::harness::*;
use crate::setup::Scene;

/// The one value the upstream saw for `name` (a client copy would make it two).
fn only(r: &Reply, name: &str) -> String {
    let values = r.json()["headers"][name].clone();
    let values = values.as_array().unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values[0].as_str().unwrap().to_owned()
}

#[test]
fn a_group_with_a_comma_is_200_and_arrives_as_percent_2c() {
    let s = Scene::start();
    let token = s.access("alice", &["sales,emea", "users"]);
    let r = s.get("/api/x", &token);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let groups = only(&r, "x-auth-groups");
    assert_eq!(groups, "sales%2Cemea,users");
    assert_eq!(decode(groups.as_bytes()).unwrap(), ["sales,emea", "users"]);
    // A `groups_any` rule still sees the group by its real name.
    let admin = s.access("bob", &["admin,ops", "admin"]);
    let r = s.get("/admin/x", &admin);
    assert_eq!(r.status, 200);
    assert_eq!(only(&r, "x-auth-groups"), "admin%2Cops,admin");
    assert_eq!(
        s.get("/admin/x", &s.access("eve", &["admin,ops"])).status,
        403
    );
}

#[test]
fn control_characters_in_an_identity_claim_are_escaped_never_refused() {
    let s = Scene::start();
    let mut claims = access_claims(&s.iss, "alice", &["dev"]);
    claims["username"] = json!("alice\r\nx-auth-groups: admin");
    claims["scope"] = json!("openid 100%");
    let r =
        s.tg.send(&get_with("/api/x", &[&bearer(&s.key.sign(&claims))]));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        only(&r, "x-auth-username"),
        "alice%0D%0Ax-auth-groups: admin"
    );
    assert_eq!(only(&r, "x-auth-groups"), "dev");
    assert_eq!(only(&r, "x-auth-scope"), "openid 100%25");
    // An ID token's non-ASCII name arrives as its UTF-8 bytes.
    let mut id = id_claims(&s.iss, "zoë");
    id["email"] = json!("zoë+50%@example.com");
    let r = s.tg.send(&get_with("/api/x", &[&bearer(&s.key.sign(&id))]));
    assert_eq!(r.status, 200);
    assert_eq!(only(&r, "x-auth-username"), "zoë");
    assert_eq!(only(&r, "x-auth-email"), "zoë+50%25@example.com");
}

#[test]
fn forward_headers_arrive_escaped_and_decode_back_exactly() {
    let s = Scene::with(
        "forward:\n  headers:\n    x-tenant: 'custom:tenant'\n    x-roles: 'custom:roles'\n    x-obj: 'custom:obj'\n    x-level: 'custom:level'\n    x-none: 'custom:none'\n",
    );
    let tenant = "Zoë\tA,B 50%\nx-auth-sub: root";
    let mut claims = access_claims(&s.iss, "alice", &[]);
    claims["custom:tenant"] = json!(tenant);
    claims["custom:roles"] = json!(["a,b", "c", "Zoë\t%"]);
    claims["custom:obj"] = json!({"k": "v,w", "p": "5%", "n": 1});
    claims["custom:level"] = json!(5);
    claims["custom:none"] = json!(null);
    let token = s.key.sign(&claims);
    let r = s.tg.send(&get_with(
        "/api/x",
        &[&bearer(&token), "X-Tenant: forged", "X-Roles: forged"],
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let got = only(&r, "x-tenant");
    assert_eq!(got, "Zoë%09A,B 50%25%0Ax-auth-sub: root");
    assert_eq!(
        got.as_bytes()[..4],
        *b"Zo\xC3\xAB",
        "UTF-8 bytes, not escaped"
    );
    assert_eq!(decode_text(got.as_bytes()).unwrap(), tenant);

    let roles = only(&r, "x-roles");
    assert_eq!(roles, "a%2Cb,c,Zoë%09%25");
    assert_eq!(decode(roles.as_bytes()).unwrap(), ["a,b", "c", "Zoë\t%"]);

    let obj = only(&r, "x-obj");
    assert_eq!(obj, r#"{"k":"v,w","n":1,"p":"5%25"}"#);
    let back: serde_json::Value =
        serde_json::from_str(&decode_text(obj.as_bytes()).unwrap()).unwrap();
    assert_eq!(back, claims["custom:obj"]);

    assert_eq!(only(&r, "x-level"), "5");
    assert!(!r.upstream_saw("x-none"), "a null claim has no header");
    assert_eq!(only(&r, "x-auth-sub"), "sub-alice");
}

#[test]
fn verify_says_a_token_with_a_comma_group_is_valid() {
    let s = Scene::start();
    let token = s.access("alice", &["sales,emea", "users"]);
    let out = Command::new(BIN)
        .args(["verify", "--config"])
        .arg(&s.tg.config)
        .arg(&token)
        .env_remove("TOKENGATE_CONFIG")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["reason"], "ok");
    assert_eq!(
        v["claims"]["cognito:groups"],
        json!(["sales,emea", "users"])
    );
}

#[test]
fn an_authz_answer_carries_the_same_escaped_values() {
    let a = Authz::start("");
    let token = a.token("alice", &["sales,emea", "users"]);
    let r = a.check("/x", &[&bearer(&token)]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-auth-groups"), Some("sales%2Cemea,users"));
}
