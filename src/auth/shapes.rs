//! Every token shape Cognito issues verifies, and each `require` form has a case that passes
//! and one that is refused (reference sections 3.5 and 3.7; COGNITO-NOTES section 5): V2/V3
//! pre-token-generation claims of every JSON type in ID and access tokens, federated users,
//! machine-to-machine access tokens, resource-bound access tokens. Real signatures; the
//! `require` rules come from YAML through the validator, as an operator writes them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::*;
use crate::config::{load_str, Require};
use crate::dev_issuer::DevKey;
use crate::jwks::{KeySet, SetOrigin};

const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Shapes";
const POOL: &str = "us-east-1_Shapes";
const WEB: &str = "web-client";
const M2M: &str = "m2m-client";
const NOW: u64 = 1_800_000_000;

fn key() -> DevKey {
    DevKey::from_pem(
        "k1",
        include_str!("../../tests/fixtures/keys/issuer-rsa2048.pem"),
    )
    .unwrap()
}

/// The issuer as configured in YAML (`extra` lines are added to it), and its verifier.
fn verifier(extra: &str) -> Verifier {
    let config = load_str(
        &format!(
            "upstream: {{ url: http://127.0.0.1:1 }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{ISS}' }}\n    client_ids: [{WEB}, {M2M}]\n    token_use: [access, id]\n{extra}"
        ),
        &|_| None,
    )
    .unwrap();
    let keys = Arc::new(IssuerKeys::new());
    keys.publish(KeySet::new(
        crate::jwks::parse_jwks(key().jwks().to_string().as_bytes())
            .unwrap()
            .0,
        SetOrigin::Static,
        SystemTime::now(),
    ));
    let config = config.issuers.into_iter().next().unwrap();
    Verifier::new(vec![Issuer { config, keys }], 8192)
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn verify_with(verifier: &Verifier, claims: &Value) -> Result<Verified, AuthError> {
    verifier.verify(&key().sign(claims).unwrap(), now())
}

fn verify(claims: &Value) -> Verified {
    verify_with(&verifier(""), claims).unwrap_or_else(|e| panic!("{e}: {claims}"))
}

/// `require:` as written under a route (YAML flow mapping), through the validator.
fn require(yaml: &str) -> Require {
    let config = load_str(
        &format!(
            "upstream: {{ url: http://127.0.0.1:1 }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{ISS}' }}\n    client_ids: [{WEB}]\nroutes:\n  - match: {{ path_prefix: / }}\n    require: {yaml}\n"
        ),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    config.routes.into_iter().next().unwrap().require
}

fn allowed(rule: &str, v: &Verified) -> Result<(), PolicyError> {
    policy::check(&require(rule), v)
}

/// A user's access token as Cognito issues it with a V2 pre-token-generation trigger that
/// adds claims of every JSON type.
fn v2_access() -> Value {
    json!({
        "sub": "aaaa-1111", "iss": ISS, "token_use": "access", "client_id": WEB,
        "username": "alice", "scope": "aws.cognito.signin.user.admin orders/read",
        "cognito:groups": ["admin", "dev"], "version": 2, "event_id": "e-1",
        "exp": NOW + 3600, "iat": NOW, "auth_time": NOW, "jti": "j-1", "origin_jti": "o-1",
        "custom:tenant": "acme", "tier": 3, "beta": true, "discount": 0.25,
        "regions": ["eu", "us"], "levels": [1, 2, 3], "flags": [true, "x", 7],
        "profile": {"plan": "gold", "seats": 10}, "nothing": null,
        "amr": ["pwd", "mfa"], "acr": "urn:amazon:cognito:acr:mfa",
    })
}

/// The same user's ID token with V2 claims.
fn v2_id() -> Value {
    json!({
        "sub": "aaaa-1111", "iss": ISS, "token_use": "id", "aud": WEB,
        "cognito:username": "alice", "email": "alice@example.com", "email_verified": true,
        "phone_number_verified": false, "cognito:groups": ["admin"], "event_id": "e-1",
        "exp": NOW + 3600, "iat": NOW, "auth_time": NOW, "jti": "j-2", "origin_jti": "o-1",
        "custom:tenant": "acme", "tier": 3, "beta": true, "regions": ["eu"],
        "address": {"formatted": "1 Main St"}, "nothing": null, "at_hash": "h", "nonce": "n",
    })
}

#[test]
fn claims_match_by_top_level_name() {
    let v = verify(&v2_access());
    assert_eq!(
        allowed("{ claims: { 'custom:tenant': [acme] } }", &v),
        Ok(())
    );
    assert_eq!(
        allowed("{ claims: { 'custom:tenant': [globex] } }", &v),
        Err(PolicyError::Claim)
    );
    assert_eq!(
        allowed("{ claims: { 'custom:missing': [acme] } }", &v),
        Err(PolicyError::Claim)
    );
}

#[test]
fn numbers_and_booleans_match_whether_yaml_quotes_them_or_not() {
    let v = verify(&v2_access());
    for rule in [
        "{ claims: { tier: [3] } }",
        "{ claims: { tier: ['3'] } }",
        "{ claims: { beta: [true] } }",
        "{ claims: { beta: ['true'] } }",
        "{ claims: { discount: [0.25] } }",
        "{ claims: { tier: [1, 2, 3] } }",
    ] {
        assert_eq!(allowed(rule, &v), Ok(()), "{rule}");
    }
    for rule in [
        "{ claims: { tier: [4] } }",
        "{ claims: { beta: [false] } }",
        "{ claims: { tier: ['3.0'] } }",
    ] {
        assert_eq!(allowed(rule, &v), Err(PolicyError::Claim), "{rule}");
    }
}

#[test]
fn an_array_claim_matches_when_any_element_does() {
    let v = verify(&v2_access());
    assert_eq!(allowed("{ claims: { regions: [us] } }", &v), Ok(()));
    assert_eq!(allowed("{ claims: { levels: [2] } }", &v), Ok(()));
    assert_eq!(allowed("{ claims: { amr: [mfa] } }", &v), Ok(()));
    assert_eq!(allowed("{ claims: { flags: [7] } }", &v), Ok(()));
    assert_eq!(
        allowed("{ claims: { regions: [ap] } }", &v),
        Err(PolicyError::Claim)
    );
}

#[test]
fn objects_and_null_never_match_but_a_pointer_reaches_inside() {
    let v = verify(&v2_access());
    assert_eq!(
        allowed("{ claims: { profile: [gold] } }", &v),
        Err(PolicyError::Claim)
    );
    assert_eq!(
        allowed("{ claims: { nothing: ['null', ''] } }", &v),
        Err(PolicyError::Claim)
    );
    assert_eq!(allowed("{ claims: { /profile/plan: [gold] } }", &v), Ok(()));
    assert_eq!(allowed("{ claims: { /profile/seats: [10] } }", &v), Ok(()));
    assert_eq!(allowed("{ claims: { /regions/1: [us] } }", &v), Ok(()));
    assert_eq!(
        allowed("{ claims: { /profile/plan: [silver] } }", &v),
        Err(PolicyError::Claim)
    );
    assert_eq!(
        allowed("{ claims: { /regions/2: [us] } }", &v),
        Err(PolicyError::Claim)
    );
}

#[test]
fn every_listed_claim_must_match() {
    let v = verify(&v2_id());
    assert_eq!(
        allowed(
            "{ claims: { 'custom:tenant': [acme], email_verified: [true] } }",
            &v
        ),
        Ok(())
    );
    assert_eq!(
        allowed(
            "{ claims: { 'custom:tenant': [acme], phone_number_verified: [true] } }",
            &v
        ),
        Err(PolicyError::Claim)
    );
}

#[test]
fn scopes_any_needs_one_listed_scope_and_scopes_all_every_one() {
    let v = verify(&v2_access());
    assert_eq!(
        allowed("{ scopes_any: [orders/write, orders/read] }", &v),
        Ok(())
    );
    assert_eq!(
        allowed("{ scopes_any: [orders/write, orders/delete] }", &v),
        Err(PolicyError::ScopesAny)
    );
    assert_eq!(
        allowed("{ scopes_any: [orders] }", &v),
        Err(PolicyError::ScopesAny),
        "a prefix of a scope is not the scope"
    );
    assert_eq!(
        allowed("{ scopes_all: [orders/read, aws.cognito.signin.user.admin], scopes_any: [orders/read] }", &v),
        Ok(())
    );
    assert_eq!(
        allowed(
            "{ scopes_all: [orders/read, orders/write], scopes_any: [orders/read] }",
            &v
        ),
        Err(PolicyError::Scope)
    );
    // An ID token has no scope: any scope rule refuses it.
    let id = verify(&v2_id());
    assert_eq!(
        allowed("{ scopes_any: [openid] }", &id),
        Err(PolicyError::ScopesAny)
    );
    assert_eq!(PolicyError::ScopesAny.description(), "missing scope");
}

/// A user's access token requested with a resource indicator (RFC 8707): `aud` names the
/// resource server, `client_id` still the app client.
fn bound_access(aud: Value) -> Value {
    let mut claims = v2_access();
    claims["aud"] = aud;
    claims
}

#[test]
fn resource_bound_access_tokens_verify_when_aud_intersects_audiences() {
    let bound = verifier("    audiences: ['https://orders.example.com']\n");
    for aud in [
        json!("https://orders.example.com"),
        json!(["https://billing.example.com", "https://orders.example.com"]),
    ] {
        let v = verify_with(&bound, &bound_access(aud.clone())).unwrap();
        assert_eq!(v.identity.client_id, WEB, "{aud}");
    }
    for claims in [
        bound_access(json!("https://billing.example.com")),
        bound_access(json!(["https://billing.example.com"])),
        v2_access(),
    ] {
        let e = verify_with(&bound, &claims).unwrap_err();
        assert_eq!(e.description(), "aud not allowed", "{claims}");
    }
    // ID tokens keep `aud` = client id: resource binding does not apply to them.
    assert!(verify_with(&bound, &v2_id()).is_ok());
    // Without `audiences`, an access token's `aud` is not judged.
    assert!(verify_with(
        &verifier(""),
        &bound_access(json!("https://any.example.com"))
    )
    .is_ok());
}

/// A federated (Google) user's ID token from the hosted UI: `identities` is an array of
/// objects whose `primary` and `dateCreated` are strings and `issuer` is null; Cognito puts
/// the user in the `<poolId>_Google` group.
fn federated_id(provider: &str) -> Value {
    json!({
        "sub": "bbbb-2222", "iss": ISS, "token_use": "id", "aud": WEB,
        "cognito:username": format!("{}_102613502779525861182", provider.to_lowercase()),
        "cognito:groups": [format!("{POOL}_{provider}")], "email": "bob@example.com",
        "email_verified": false, "at_hash": "h", "nonce": "n", "origin_jti": "o-2",
        "jti": "j-3", "auth_time": NOW, "iat": NOW, "exp": NOW + 3600,
        "identities": [{"userId": "102613502779525861182", "providerName": provider,
                        "providerType": provider, "issuer": null, "primary": "true",
                        "dateCreated": "1682704282933"}],
    })
}

/// The same user's access token: no `identities`, the provider group.
fn federated_access(provider: &str) -> Value {
    json!({
        "sub": "bbbb-2222", "iss": ISS, "token_use": "access", "client_id": WEB,
        "username": format!("{}_102613502779525861182", provider.to_lowercase()),
        "cognito:groups": [format!("{POOL}_{provider}")], "version": 2,
        "scope": "openid email", "origin_jti": "o-2", "jti": "j-4", "event_id": "e-2",
        "auth_time": NOW, "iat": NOW, "exp": NOW + 3600,
    })
}

/// A machine-to-machine access token (client credentials, or GetClientToken): no
/// `username`, `cognito:groups`, `origin_jti` or `auth_time`; `sub` is the client id;
/// custom scopes of a resource server.
fn m2m() -> Value {
    json!({
        "sub": M2M, "iss": ISS, "token_use": "access", "client_id": M2M,
        "scope": "orders/read orders/write", "version": 2, "jti": "j-5",
        "iat": NOW, "exp": NOW + 3600,
    })
}

#[test]
fn v2_tokens_with_claims_of_every_json_type_verify() {
    for claims in [v2_access(), v2_id()] {
        let v = verify(&claims);
        assert_eq!(v.identity.sub, "aaaa-1111");
        assert_eq!(v.identity.username, "alice");
        // Every added claim is kept as signed, whatever its type.
        for (name, value) in claims.as_object().unwrap() {
            assert_eq!(v.claims.get(name), Some(value), "{name}");
        }
    }
    let access = verify(&v2_access());
    assert_eq!(access.identity.groups, "admin,dev");
    assert_eq!(access.identity.client_id, WEB);
    let id = verify(&v2_id());
    assert_eq!(id.identity.email.as_ref().unwrap(), "alice@example.com");
    assert_eq!(id.identity.token_use, "id");
}

#[test]
fn federated_tokens_verify_and_policies_reach_into_identities() {
    let id = verify(&federated_id("Google"));
    assert_eq!(id.identity.username, "google_102613502779525861182");
    assert_eq!(id.identity.groups, format!("{POOL}_Google").as_str());
    let access = verify(&federated_access("Google"));
    assert_eq!(access.identity.groups, format!("{POOL}_Google").as_str());

    let google = "{ claims: { /identities/0/providerName: [Google] } }";
    assert_eq!(allowed(google, &id), Ok(()));
    let facebook = verify(&federated_id("Facebook"));
    assert_eq!(allowed(google, &facebook), Err(PolicyError::Claim));
    // The access token has no `identities`: a pointer into them never matches.
    assert_eq!(allowed(google, &access), Err(PolicyError::Claim));
    // `primary` is the string "true" in tokens: it matches the configured `true`.
    assert_eq!(
        allowed("{ claims: { /identities/0/primary: [true] } }", &id),
        Ok(())
    );
    assert_eq!(
        allowed("{ claims: { email_verified: [true] } }", &id),
        Err(PolicyError::Claim)
    );
    let group = format!("{{ groups_any: [{POOL}_Google] }}");
    assert_eq!(allowed(&group, &access), Ok(()));
    assert_eq!(
        allowed(&group, &verify(&federated_access("Facebook"))),
        Err(PolicyError::GroupsAny)
    );
}

#[test]
fn m2m_access_tokens_verify_without_username_groups_or_origin_jti() {
    let v = verify(&m2m());
    assert_eq!(v.token_use, Some(TokenUse::Access));
    assert_eq!(v.identity.sub, M2M);
    // No `username`: the header is empty; the client is `x-auth-client-id`.
    assert_eq!(v.identity.username, "");
    assert_eq!(v.identity.client_id, M2M);
    assert_eq!(v.identity.groups, "");
    assert_eq!(
        v.identity.scope.as_ref().unwrap(),
        "orders/read orders/write"
    );
}

#[test]
fn m2m_policies_by_scope_and_client_id_pass_and_refuse() {
    let v = verify(&m2m());
    let user = verify(&v2_access());
    let machine_writer = format!(
        "{{ token_use: [access], scopes_any: [orders/write], claims: {{ client_id: [{M2M}] }} }}"
    );
    assert_eq!(allowed(&machine_writer, &v), Ok(()));
    // A user's token from the web client lacks both the scope and the client.
    assert_eq!(allowed(&machine_writer, &user), Err(PolicyError::ScopesAny));
    assert_eq!(
        allowed(&format!("{{ claims: {{ client_id: [{M2M}] }} }}"), &user),
        Err(PolicyError::Claim)
    );
    assert_eq!(
        allowed("{ scopes_all: [orders/read, orders/write] }", &v),
        Ok(())
    );
    assert_eq!(
        allowed("{ scopes_all: [orders/read, orders/delete] }", &v),
        Err(PolicyError::Scope)
    );
    assert_eq!(
        allowed("{ groups_any: [admin] }", &v),
        Err(PolicyError::GroupsAny)
    );
    assert_eq!(
        allowed("{ token_use: [id] }", &v),
        Err(PolicyError::TokenUse)
    );
    // With resource binding, an M2M token bound to the resource passes; unbound is 401.
    let bound = verifier("    audiences: ['https://orders.example.com']\n");
    let mut claims = m2m();
    claims["aud"] = json!(["https://orders.example.com"]);
    assert!(verify_with(&bound, &claims).is_ok());
    assert_eq!(
        verify_with(&bound, &m2m()).unwrap_err().description(),
        "aud not allowed"
    );
}
