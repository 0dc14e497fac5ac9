//! Every token shape Cognito issues, through the real binary (reference sections 3.5, 3.7;
//! COGNITO-NOTES section 5): V2/V3 pre-token-generation claims of every JSON type in ID and
//! access tokens, federated (Google) users, machine-to-machine access tokens and
//! resource-bound access tokens verify and reach the upstream with their identity headers
//! and the payload in `x-auth-claims`; each `require` form has a 200 and a 403 case.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::harness::*;

const POOL: &str = "us-east-1_Shapes";
const M2M: &str = "m2m-client";
const RESOURCE: &str = "https://orders.example.com";

struct Shapes {
    key: Signer,
    _jwks: JwksServer,
    /// Issuer `main`: no resource binding.
    iss: String,
    /// Issuer `bound`: `audiences: [RESOURCE]`.
    bound_iss: String,
    tg: Tokengate,
}

impl Shapes {
    fn start() -> Shapes {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let upstream = start_echo();
        let iss = jwks.issuer(POOL);
        let bound_iss = jwks.issuer("us-east-1_Bound");
        let config = format!(
            r#"server: {{ listen: LISTEN }}
admin: {{ listen: ADMIN }}
upstream: {{ url: 'http://{upstream}' }}
issuers:
  - name: main
    cognito: {{ issuer: '{iss}' }}
    client_ids: [{CLIENT}, {M2M}]
    token_use: [access, id]
  - name: bound
    cognito: {{ issuer: '{bound_iss}' }}
    client_ids: [{CLIENT}, {M2M}]
    audiences: ['{RESOURCE}']
routes:
  - {{ name: admins, match: {{ path_prefix: /admins }}, require: {{ groups_any: [admin] }} }}
  - {{ name: google-group, match: {{ path_prefix: /google-group }}, require: {{ groups_any: [{POOL}_Google] }} }}
  - {{ name: tenant, match: {{ path_prefix: /tenant }}, require: {{ claims: {{ 'custom:tenant': [acme] }} }} }}
  - {{ name: google, match: {{ path_prefix: /google }}, require: {{ claims: {{ /identities/0/providerName: [Google] }} }} }}
  - {{ name: tier, match: {{ path_prefix: /tier }}, require: {{ claims: {{ tier: [3] }} }} }}
  - {{ name: beta, match: {{ path_prefix: /beta }}, require: {{ claims: {{ beta: [true] }} }} }}
  - {{ name: plan, match: {{ path_prefix: /plan }}, require: {{ claims: {{ /profile/plan: [gold] }} }} }}
  - {{ name: writers, match: {{ path_prefix: /writers }}, require: {{ token_use: [access], scopes_any: [orders/write, orders/admin], claims: {{ client_id: [{M2M}] }} }} }}
  - {{ name: readers, match: {{ path_prefix: /readers }}, require: {{ scopes_all: [orders/read, orders/write] }} }}
  - {{ name: any, match: {{ path_prefix: / }} }}
forward:
  headers: {{ x-tenant: 'custom:tenant', x-idp: /identities/0/providerName, x-tier: tier, x-regions: regions }}
"#
        );
        let tg = Tokengate::start(&config, true);
        Shapes {
            key,
            _jwks: jwks,
            iss,
            bound_iss,
            tg,
        }
    }

    fn send(&self, path: &str, claims: &Value) -> Reply {
        let token = self.key.sign(claims);
        self.tg.send(&get_with(path, &[&bearer(&token)]))
    }

    /// 200 on `path`, with the upstream's view.
    fn allowed(&self, path: &str, claims: &Value) -> Reply {
        let r = self.send(path, claims);
        assert_eq!(
            r.status,
            200,
            "{path}: {} for {claims}\n{}",
            String::from_utf8_lossy(&r.body),
            self.tg.output()
        );
        r
    }

    /// 403 `insufficient_scope` on `path` with this description.
    fn forbidden(&self, path: &str, claims: &Value, description: &str) {
        let r = self.send(path, claims);
        assert_eq!(
            r.status,
            403,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"], "insufficient_scope");
        assert_eq!(r.json()["error_description"], description, "{path}");
    }

    /// A user's access token with V2 claims of every JSON type.
    fn v2_access(&self) -> Value {
        let now = now();
        json!({
            "sub": "aaaa-1111", "iss": self.iss, "token_use": "access", "client_id": CLIENT,
            "username": "alice", "scope": "aws.cognito.signin.user.admin orders/read",
            "cognito:groups": ["admin"], "version": 2, "event_id": "e-1",
            "exp": now + 3600, "iat": now, "auth_time": now, "jti": "j-1", "origin_jti": "o-1",
            "custom:tenant": "acme", "tier": 3, "beta": true, "discount": 0.25,
            "regions": ["eu", "us"], "levels": [1, 2], "profile": {"plan": "gold", "seats": 10},
            "nothing": null, "amr": ["pwd", "mfa"],
        })
    }

    /// The same user's ID token with V2 claims.
    fn v2_id(&self) -> Value {
        let now = now();
        json!({
            "sub": "aaaa-1111", "iss": self.iss, "token_use": "id", "aud": CLIENT,
            "cognito:username": "alice", "email": "alice@example.com", "email_verified": true,
            "cognito:groups": ["admin"], "exp": now + 3600, "iat": now, "auth_time": now,
            "custom:tenant": "acme", "tier": 3, "beta": true, "regions": ["eu"],
            "address": {"formatted": "1 Main St"}, "nothing": null,
        })
    }

    /// A federated user's ID token (hosted UI, `provider` sign-in).
    fn federated_id(&self, provider: &str) -> Value {
        let now = now();
        json!({
            "sub": "bbbb-2222", "iss": self.iss, "token_use": "id", "aud": CLIENT,
            "cognito:username": format!("{}_102613502779525861182", provider.to_lowercase()),
            "cognito:groups": [format!("{POOL}_{provider}")], "email_verified": false,
            "at_hash": "h", "nonce": "n", "origin_jti": "o-2", "jti": "j-3",
            "auth_time": now, "iat": now, "exp": now + 3600,
            "identities": [{"userId": "102613502779525861182", "providerName": provider,
                            "providerType": provider, "issuer": null, "primary": "true",
                            "dateCreated": "1682704282933"}],
        })
    }

    /// A machine-to-machine access token (client credentials) of `iss`.
    fn m2m(&self, iss: &str, scope: &str) -> Value {
        let now = now();
        json!({
            "sub": M2M, "iss": iss, "token_use": "access", "client_id": M2M,
            "scope": scope, "version": 2, "jti": "j-5", "iat": now, "exp": now + 3600,
        })
    }
}

fn claims_header(r: &Reply) -> Value {
    let b64 = r.upstream_header("x-auth-claims").unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(b64).unwrap()).unwrap()
}

#[test]
fn v2_id_and_access_tokens_with_claims_of_every_type_reach_the_upstream_whole() {
    let s = Shapes::start();
    for claims in [s.v2_access(), s.v2_id()] {
        let r = s.allowed("/api/x", &claims);
        // The upstream gets the verified payload, every type intact.
        assert_eq!(claims_header(&r), claims);
        assert_eq!(
            r.upstream_header("x-auth-sub").as_deref(),
            Some("aaaa-1111")
        );
        assert_eq!(
            r.upstream_header("x-auth-username").as_deref(),
            Some("alice")
        );
        assert_eq!(r.upstream_header("x-tenant").as_deref(), Some("acme"));
        assert_eq!(r.upstream_header("x-tier").as_deref(), Some("3"));
        // A pointer into an absent claim sets no header.
        assert!(!r.upstream_saw("x-idp"));
    }
    let r = s.allowed("/api/x", &s.v2_access());
    assert_eq!(r.upstream_header("x-regions").as_deref(), Some("eu,us"));
}

#[test]
fn federated_users_pass_by_provider_pointer_and_provider_group() {
    let s = Shapes::start();
    let google = s.federated_id("Google");
    let r = s.allowed("/google/x", &google);
    assert_eq!(
        r.upstream_header("x-auth-username").as_deref(),
        Some("google_102613502779525861182")
    );
    assert_eq!(
        r.upstream_header("x-auth-groups"),
        Some(format!("{POOL}_Google"))
    );
    // `forward.headers` reads the same pointer.
    assert_eq!(r.upstream_header("x-idp").as_deref(), Some("Google"));
    assert_eq!(claims_header(&r)["identities"], google["identities"]);
    s.allowed("/google-group/x", &google);

    let facebook = s.federated_id("Facebook");
    s.forbidden("/google/x", &facebook, "claim not allowed");
    s.forbidden("/google-group/x", &facebook, "missing group");
    // A user signed in with a password has no `identities`: not a Google sign-in.
    s.forbidden("/google/x", &s.v2_id(), "claim not allowed");
}

#[test]
fn m2m_access_tokens_pass_with_the_client_as_identity() {
    let s = Shapes::start();
    let m2m = s.m2m(&s.iss, "orders/read orders/write");
    let r = s.allowed("/api/x", &m2m);
    assert_eq!(r.upstream_header("x-auth-sub").as_deref(), Some(M2M));
    assert_eq!(r.upstream_header("x-auth-client-id").as_deref(), Some(M2M));
    // No `username` and no `cognito:groups` in an M2M token: both headers are empty.
    assert_eq!(r.upstream_header("x-auth-username").as_deref(), Some(""));
    assert_eq!(r.upstream_header("x-auth-groups").as_deref(), Some(""));
    assert_eq!(
        r.upstream_header("x-auth-scope").as_deref(),
        Some("orders/read orders/write")
    );
    assert_eq!(
        r.upstream_header("x-auth-token-use").as_deref(),
        Some("access")
    );
    assert_eq!(claims_header(&r), m2m);

    // scopes_any + client_id: the machine writer passes; a reader-only machine, or a user
    // of the web client, does not.
    s.allowed("/writers/x", &m2m);
    s.forbidden("/writers/x", &s.m2m(&s.iss, "orders/read"), "missing scope");
    let mut user = s.v2_access();
    user["scope"] = json!("orders/write");
    s.forbidden("/writers/x", &user, "claim not allowed");
    // scopes_all.
    s.allowed("/readers/x", &m2m);
    s.forbidden("/readers/x", &s.m2m(&s.iss, "orders/read"), "missing scope");
    // Group rules refuse a machine: it has no groups.
    s.forbidden("/admins/x", &m2m, "missing group");
}

#[test]
fn each_claim_policy_form_has_a_200_and_a_403() {
    let s = Shapes::start();
    let alice = s.v2_access();
    let mut other = s.v2_access();
    other["custom:tenant"] = json!("globex");
    other["tier"] = json!(4);
    other["beta"] = json!(false);
    other["profile"] = json!({"plan": "silver"});
    other["cognito:groups"] = json!(["dev"]);
    for (path, refusal) in [
        ("/admins/x", "missing group"),
        ("/tenant/x", "claim not allowed"),
        ("/tier/x", "claim not allowed"),
        ("/beta/x", "claim not allowed"),
        ("/plan/x", "claim not allowed"),
    ] {
        s.allowed(path, &alice);
        s.forbidden(path, &other, refusal);
    }
    // Numbers and booleans configured unquoted match their string form in a token too.
    let mut texts = s.v2_access();
    texts["tier"] = json!("3");
    texts["beta"] = json!("true");
    s.allowed("/tier/x", &texts);
    s.allowed("/beta/x", &texts);
    // An object claim never matches, and null never does.
    let mut shaped = s.v2_access();
    shaped["custom:tenant"] = json!({"name": "acme"});
    shaped["tier"] = Value::Null;
    s.forbidden("/tenant/x", &shaped, "claim not allowed");
    s.forbidden("/tier/x", &shaped, "claim not allowed");
}

#[test]
fn resource_bound_access_tokens_need_their_aud_to_name_the_resource() {
    let s = Shapes::start();
    for aud in [
        json!(RESOURCE),
        json!(["https://billing.example.com", RESOURCE]),
    ] {
        let mut m2m = s.m2m(&s.bound_iss, "orders/write");
        m2m["aud"] = aud.clone();
        let r = s.allowed("/api/x", &m2m);
        assert_eq!(r.upstream_header("x-auth-issuer").as_deref(), Some("bound"));
        assert_eq!(r.upstream_header("x-auth-client-id").as_deref(), Some(M2M));
        let mut user = s.v2_access();
        user["iss"] = json!(s.bound_iss);
        user["aud"] = aud;
        s.allowed("/api/x", &user);
    }
    for aud in [Some(json!("https://billing.example.com")), None] {
        let mut m2m = s.m2m(&s.bound_iss, "orders/write");
        if let Some(aud) = aud {
            m2m["aud"] = aud;
        }
        let r = s.send("/api/x", &m2m);
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error_description"], "aud not allowed");
    }
    // The issuer without `audiences` does not judge an access token's `aud`.
    let mut m2m = s.m2m(&s.iss, "orders/write");
    m2m["aud"] = json!("https://anything.example.com");
    s.allowed("/api/x", &m2m);
}

/// `tokengate verify` on the scene's own config file: exit status and JSON.
fn verify(s: &Shapes, claims: &Value, args: &[&str]) -> (Option<i32>, Value) {
    let token = s.key.sign(claims);
    let out = std::process::Command::new(BIN)
        .args(["verify", "--config", s.tg.config.to_str().unwrap()])
        .args(args)
        .arg(&token)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn verify_shows_every_shape_valid_with_its_claims_and_judges_a_route_on_request() {
    let s = Shapes::start();
    let m2m = s.m2m(&s.iss, "orders/read orders/write");
    let google = s.federated_id("Google");
    let v2 = s.v2_access();
    for claims in [&m2m, &google, &v2, &s.v2_id()] {
        let (code, v) = verify(&s, claims, &[]);
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(v["valid"], true);
        assert_eq!(v["reason"], "ok");
        assert_eq!(v["issuer"], "main");
        assert_eq!(&v["claims"], claims);
        assert!(v.get("route").is_none());
    }

    // --path: the route and its verdict, as the proxy would decide.
    let (code, v) = verify(
        &s,
        &m2m,
        &["--path", "/writers/orders?x=1", "--method", "post"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        v["route"],
        json!({"name": "writers", "allowed": true, "reason": "ok"})
    );
    let (_, v) = verify(&s, &google, &["--path", "/google/x"]);
    assert_eq!(v["route"]["allowed"], true);
    let facebook = s.federated_id("Facebook");
    let (code, v) = verify(&s, &facebook, &["--path", "/google/x"]);
    // The token is valid (exit 0); the route refuses it.
    assert_eq!(code, Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(
        v["route"],
        json!({"name": "google", "allowed": false, "reason": "claim not allowed"})
    );
    assert_eq!(v["claims"]["identities"][0]["providerName"], "Facebook");
    let (_, v) = verify(&s, &v2, &["--path", "/writers/x"]);
    assert_eq!(v["route"]["reason"], "missing scope");

    // Resource binding is part of verification: an unbound token of `bound` is invalid.
    let (code, v) = verify(
        &s,
        &s.m2m(&s.bound_iss, "orders/write"),
        &["--path", "/api/x"],
    );
    assert_eq!(code, Some(1));
    assert_eq!(v["valid"], false);
    assert_eq!(v["issuer"], "bound");
    assert_eq!(v["reason"], "aud not allowed");
    assert_eq!(
        v["route"],
        json!({"name": "any", "allowed": false, "reason": "aud not allowed"})
    );
    let (_, v) = verify(&s, &m2m, &["--path", "/a/%2F/b"]);
    assert_eq!(v["route"]["allowed"], false);
    assert_eq!(v["route"]["name"], Value::Null);
}
