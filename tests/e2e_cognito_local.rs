//! End-to-end against cognito-local (https://github.com/jagregory/cognito-local), a second,
//! independent Cognito emulator beside moto: a real user pool, app client, group and users;
//! ID and access tokens from USER_PASSWORD_AUTH and from REFRESH_TOKEN_AUTH sent through
//! tokengate, configured as a user would for an emulator at a local URL
//! (`cognito: { issuer: ... }`, JWKS at the default `{issuer}/.well-known/jwks.json`).
//!
//! cognito-local is installed by `.ci/install-cognito-local` (npm, version pinned in
//! `.ci/cognito-local/package-lock.json`) and runs from `.ci/cognito-local/node_modules`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/harness.rs"]
mod harness;
#[path = "support/ports.rs"]
mod ports;

#[path = "support/cognito_api.rs"]
mod cognito_api;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use cognito_api::{header, payload};
use harness::*;

const PASSWORD: &str = "Passw0rd!Passw0rd";

/// cognito-local, run in its own temp dir (it keeps its data in `./.cognito`), killed by its
/// PID on drop; the temp dir is removed then.
struct CognitoLocal {
    addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl Drop for CognitoLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl CognitoLocal {
    /// Starts cognito-local, or `None` when it is not installed (allowed only outside CI).
    fn start() -> Option<CognitoLocal> {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".ci/cognito-local/node_modules/.bin/cognito-local");
        if !bin.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "cognito-local is required in CI: run .ci/install-cognito-local (missing {})",
                bin.display()
            );
            eprintln!("SKIPPED: cognito-local not installed (run .ci/install-cognito-local)");
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "tokengate-cognito-local-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("cognito-local.log")).unwrap();
        // PORT and HOST are cognito-local's only listen settings; HOST also becomes the
        // host of its issuer URL (`http://HOST:PORT/POOL`).
        let child = Command::new(&bin)
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env_remove("DEBUG")
            .env_remove("CODE")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let mut cl = CognitoLocal {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            dir,
            child,
        };
        for _ in 0..300 {
            if TcpStream::connect(cl.addr).is_ok() {
                return Some(cl);
            }
            if let Ok(Some(status)) = cl.child.try_wait() {
                panic!("cognito-local exited ({status}): {}", cl.output());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "cognito-local did not start on {}: {}",
            cl.addr,
            cl.output()
        );
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("cognito-local.log")).unwrap_or_default()
    }

    /// One call of the Cognito JSON API that must succeed.
    fn call(&self, operation: &str, body: &Value) -> Value {
        cognito_api::call(self.addr, operation, body, &self.output())
    }
}

/// Signs `claims` as cognito-local does (RS256, kid "CognitoLocal") with the private key in
/// its npm package.
fn sign_as_cognito_local(claims: &Value) -> String {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".ci/cognito-local/node_modules/cognito-local/lib/keys/cognitoLocal.private.json");
    let keys: Value = serde_json::from_slice(&std::fs::read(keys).unwrap()).unwrap();
    let pem = keys["pem"].as_str().unwrap();
    // PKCS#1 RSAPrivateKey.
    Signer::from_pem("CognitoLocal", pem).sign(claims)
}

struct Tokens {
    id: String,
    access: String,
    refresh: Option<String>,
}

impl Tokens {
    fn from(r: &Value) -> Tokens {
        let result = &r["AuthenticationResult"];
        Tokens {
            id: result["IdToken"].as_str().unwrap().to_owned(),
            access: result["AccessToken"].as_str().unwrap().to_owned(),
            refresh: result["RefreshToken"].as_str().map(str::to_owned),
        }
    }
}

fn sign_in(cl: &CognitoLocal, client: &str, user: &str) -> Tokens {
    Tokens::from(&cl.call(
        "InitiateAuth",
        &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client,
            "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD}}),
    ))
}

fn refresh(cl: &CognitoLocal, client: &str, refresh_token: &str) -> Tokens {
    Tokens::from(&cl.call(
        "InitiateAuth",
        &json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": client,
            "AuthParameters": {"REFRESH_TOKEN": refresh_token}}),
    ))
}

#[test]
fn cognito_local_tokens_through_tokengate_signed_in_refreshed_and_refused() {
    let Some(cl) = CognitoLocal::start() else {
        return;
    };
    let pool = cl.call(
        "CreateUserPool",
        &json!({"PoolName": "tokengate-e2e", "Schema": [
            {"Name": "tenant", "AttributeDataType": "String", "Mutable": true}]}),
    );
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client = cl.call(
        "CreateUserPoolClient",
        &json!({"UserPoolId": pool_id, "ClientName": "web",
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    );
    let client_id = client["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    cl.call(
        "CreateGroup",
        &json!({"UserPoolId": pool_id, "GroupName": "admin"}),
    );
    // cognito-local gives every pool `UsernameAttributes: [email]` (its default, which a
    // CreateUserPool request cannot clear): users are created and sign in by email, and
    // their Cognito username (the `username` / `cognito:username` claims) is their sub, as
    // in a real pool with email as the username attribute.
    const ALICE: &str = "alice@example.com";
    const BOB: &str = "bob@example.com";
    let mut username = std::collections::HashMap::new();
    for (user, tenant) in [(ALICE, "acme"), (BOB, "globex")] {
        let created = cl.call(
            "AdminCreateUser",
            &json!({"UserPoolId": pool_id, "Username": user, "MessageAction": "SUPPRESS",
                "UserAttributes": [{"Name": "email", "Value": user},
                                   {"Name": "email_verified", "Value": "true"},
                                   {"Name": "custom:tenant", "Value": tenant}]}),
        );
        username.insert(
            user,
            created["User"]["Username"].as_str().unwrap().to_owned(),
        );
        cl.call(
            "AdminSetUserPassword",
            &json!({"UserPoolId": pool_id, "Username": user,
                "Password": PASSWORD, "Permanent": true}),
        );
    }
    cl.call(
        "AdminAddUserToGroup",
        &json!({"UserPoolId": pool_id, "Username": ALICE, "GroupName": "admin"}),
    );
    let alice = sign_in(&cl, &client_id, ALICE);
    let bob = sign_in(&cl, &client_id, BOB);

    // cognito-local's issuer is its own URL plus the pool id, not a cognito-idp one; a user
    // reads it off a token, as here, and gives it as `cognito: { issuer }`.
    let iss = payload(&alice.access)["iss"].as_str().unwrap().to_owned();
    assert_eq!(iss, format!("http://{}/{pool_id}", cl.addr));
    assert_eq!(payload(&alice.id)["iss"], iss.as_str());
    // One fixed key for every pool, shipped in the npm package (kid "CognitoLocal").
    assert_eq!(header(&alice.access)["kid"], "CognitoLocal");

    let upstream = start_echo();
    // No jwks_uri: the default `{issuer}/.well-known/jwks.json` is what cognito-local serves,
    // and plain http is allowed because the host is loopback.
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: local\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: ['{client_id}']\n    token_use: [access, id]\nroutes:\n  - {{ name: admin, match: {{ path_prefix: /admin }}, require: {{ groups_any: [admin] }} }}\n  - {{ name: tenant, match: {{ path_prefix: /tenant }}, require: {{ claims: {{ 'custom:tenant': [acme] }} }} }}\n  - {{ name: any, match: {{ path_prefix: / }} }}\nforward: {{ headers: {{ x-tenant: 'custom:tenant' }} }}\n"
    );
    let tg = Tokengate::start(&config, true);
    let send = |path: &str, token: &str| tg.send(&get_with(path, &[&bearer(token)]));
    let allowed = |path: &str, token: &str, what: &str| {
        let r = send(path, token);
        assert_eq!(
            r.status,
            200,
            "{what} on {path}: {} / {}",
            String::from_utf8_lossy(&r.body),
            tg.output()
        );
        r
    };

    // Signed-in tokens: both kinds carry the identity to the upstream.
    for (token, use_) in [(&alice.access, "access"), (&alice.id, "id")] {
        let r = allowed("/admin/panel", token, use_);
        let claims = payload(token);
        let sub = claims["sub"].as_str().unwrap();
        assert!(!sub.is_empty());
        assert_eq!(r.upstream_header("x-auth-sub").as_deref(), Some(sub));
        assert_eq!(username[ALICE], sub);
        assert_eq!(
            r.upstream_header("x-auth-username"),
            Some(username[ALICE].clone())
        );
        assert_eq!(r.upstream_header("x-auth-token-use").as_deref(), Some(use_));
        assert_eq!(r.upstream_header("x-auth-issuer").as_deref(), Some("local"));
        assert_eq!(
            r.upstream_header("x-auth-client-id").as_deref(),
            Some(client_id.as_str())
        );
        assert!(r
            .upstream_header("x-auth-groups")
            .unwrap()
            .split(',')
            .any(|g| g == "admin"));
    }
    // Unlike moto, cognito-local puts the email attribute in its ID tokens.
    let r = send("/admin/panel", &alice.id);
    assert_eq!(r.upstream_header("x-auth-email").as_deref(), Some(ALICE));

    // A custom attribute is in cognito-local's ID tokens, not its access tokens.
    assert_eq!(payload(&alice.id)["custom:tenant"], "acme");
    let r = allowed("/tenant/x", &alice.id, "alice id");
    assert_eq!(r.upstream_header("x-tenant").as_deref(), Some("acme"));
    for token in [&bob.id, &alice.access] {
        let r = send("/tenant/x", token);
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["error_description"], "claim not allowed");
    }

    // Not in the group: 403 on /admin, 200 elsewhere.
    for token in [&bob.access, &bob.id] {
        let r = send("/admin/panel", token);
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["error"], "insufficient_scope");
        assert_eq!(r.json()["error_description"], "missing group");
        let r = allowed("/orders", token, "bob");
        assert_eq!(
            r.upstream_header("x-auth-username"),
            Some(username[BOB].clone())
        );
        // No `cognito:groups` claim (cognito-local leaves it out when empty): empty header.
        assert_eq!(r.upstream_header("x-auth-groups").as_deref(), Some(""));
    }

    // REFRESH_TOKEN_AUTH: new ID and access tokens, also accepted. cognito-local, like
    // Cognito, returns no new refresh token here.
    let refresh_token = alice.refresh.clone().expect("a refresh token at sign-in");
    let renewed = refresh(&cl, &client_id, &refresh_token);
    assert!(renewed.refresh.is_none());
    assert_ne!(renewed.access, alice.access);
    assert_ne!(renewed.id, alice.id);
    for (token, use_) in [(&renewed.access, "access"), (&renewed.id, "id")] {
        let r = allowed("/admin/panel", token, use_);
        assert_eq!(r.upstream_header("x-auth-token-use").as_deref(), Some(use_));
        assert_eq!(
            r.upstream_header("x-auth-username"),
            Some(username[ALICE].clone())
        );
    }

    // cognito-local's refresh token is a readable JWT signed with the same key and the same
    // iss, but with no kid and no token_use (real Cognito's is an opaque encrypted blob). As a
    // bearer token it must be refused.
    assert_eq!(header(&refresh_token)["alg"], "RS256");
    assert!(header(&refresh_token).get("kid").is_none());
    assert_eq!(payload(&refresh_token)["iss"], iss.as_str());
    assert!(payload(&refresh_token).get("token_use").is_none());
    for path in ["/orders", "/admin/panel"] {
        let r = send(path, &refresh_token);
        assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["error"], "invalid_token");
        assert_eq!(r.json()["error_description"], "kid missing");
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    }

    // The same claims re-signed with cognito-local's key (its private key ships in the npm
    // package, so anyone can) and given its kid: the signature now holds, and the missing
    // token_use is what refuses it.
    let with_kid = sign_as_cognito_local(&payload(&refresh_token));
    let r = send("/orders", &with_kid);
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"], "invalid_token");
    assert_eq!(r.json()["error_description"], "token_use missing");
    // The control: an access token's claims re-signed the same way are accepted, so the
    // refusal above is the token_use rule. (It is also why a cognito-local issuer must never
    // be configured outside local development: anyone can mint its tokens.)
    assert_eq!(
        send(
            "/admin/panel",
            &sign_as_cognito_local(&payload(&alice.access))
        )
        .status,
        200
    );

    // One claim changed: the signature no longer holds.
    let mut parts: Vec<String> = alice.access.split('.').map(str::to_owned).collect();
    let mut claims = payload(&alice.access);
    claims["username"] = json!("root");
    parts[1] = b64(claims.to_string());
    let r = send("/admin/panel", &parts.join("."));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");

    // No token at all.
    let r = tg.send(&get("/orders"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "missing_token");
}
