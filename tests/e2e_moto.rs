//! End-to-end against moto's Cognito emulator: a real user pool, app client, group and
//! users; real ID and access tokens from USER_PASSWORD_AUTH sent through tokengate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/harness.rs"]
mod harness;

#[path = "support/cognito_api.rs"]
mod cognito_api;

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use cognito_api::{header, payload};
use harness::*;

/// moto_server, killed by its PID on drop.
struct Moto {
    addr: SocketAddr,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto, or `None` when it is not installed (allowed only outside CI).
    fn start() -> Option<Moto> {
        let port = free_port();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "moto_server is required in CI (.ci/run installs it): {e}"
                );
                eprintln!("SKIPPED: moto_server not installed (pip install 'moto[server]')");
                return None;
            }
        };
        let moto = Moto {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            child,
        };
        for _ in 0..300 {
            if TcpStream::connect(moto.addr).is_ok() {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not start on {}", moto.addr);
    }

    /// One call of the Cognito JSON API.
    fn call(&self, operation: &str, body: &Value) -> Value {
        cognito_api::call(self.addr, operation, body, "")
    }
}

struct Tokens {
    id: String,
    access: String,
}

fn sign_in(moto: &Moto, client: &str, user: &str) -> Tokens {
    let r = moto.call(
        "InitiateAuth",
        &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client,
            "AuthParameters": {"USERNAME": user, "PASSWORD": "Passw0rd!Passw0rd"}}),
    );
    let result = &r["AuthenticationResult"];
    Tokens {
        id: result["IdToken"].as_str().unwrap().to_owned(),
        access: result["AccessToken"].as_str().unwrap().to_owned(),
    }
}

#[test]
fn moto_tokens_through_tokengate_allowed_forbidden_and_wrong_use() {
    let Some(moto) = Moto::start() else { return };
    // A custom attribute, `custom:tenant`, declared in the pool's schema as in a real pool.
    let pool = moto.call(
        "CreateUserPool",
        &json!({"PoolName": "tokengate-e2e", "Schema": [
            {"Name": "tenant", "AttributeDataType": "String", "Mutable": true}]}),
    );
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client = moto.call(
        "CreateUserPoolClient",
        &json!({"UserPoolId": pool_id, "ClientName": "web",
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    );
    let client_id = client["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    moto.call(
        "CreateGroup",
        &json!({"UserPoolId": pool_id, "GroupName": "admin"}),
    );
    for (user, tenant) in [("alice", "acme"), ("bob", "globex")] {
        moto.call(
            "AdminCreateUser",
            &json!({"UserPoolId": pool_id, "Username": user,
                "UserAttributes": [{"Name": "email", "Value": format!("{user}@example.com")},
                                   {"Name": "email_verified", "Value": "true"},
                                   {"Name": "custom:tenant", "Value": tenant}]}),
        );
        moto.call(
            "AdminSetUserPassword",
            &json!({"UserPoolId": pool_id, "Username": user,
                "Password": "Passw0rd!Passw0rd", "Permanent": true}),
        );
    }
    moto.call(
        "AdminAddUserToGroup",
        &json!({"UserPoolId": pool_id, "Username": "alice", "GroupName": "admin"}),
    );
    let alice = sign_in(&moto, &client_id, "alice");
    let bob = sign_in(&moto, &client_id, "bob");

    // Moto issues tokens with the real Cognito issuer URL for the pool.
    let iss = payload(&alice.access)["iss"].as_str().unwrap().to_owned();
    assert_eq!(
        iss,
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")
    );
    assert_eq!(header(&alice.id)["typ"], "JWT");

    let upstream = start_echo();
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: moto\n    cognito: {{ region: us-east-1, user_pool_id: '{pool_id}' }}\n    jwks_uri: 'http://{}/{pool_id}/.well-known/jwks.json'\n    client_ids: ['{client_id}']\n    token_use: [access, id]\nroutes:\n  - {{ name: admin, match: {{ path_prefix: /admin }}, require: {{ groups_any: [admin] }} }}\n  - {{ name: access-only, match: {{ path_prefix: /access-only }}, require: {{ token_use: [access] }} }}\n  - {{ name: tenant, match: {{ path_prefix: /tenant }}, require: {{ claims: {{ 'custom:tenant': [acme] }} }} }}\n  - {{ name: any, match: {{ path_prefix: / }} }}\nforward: {{ headers: {{ x-tenant: 'custom:tenant' }} }}\n",
        moto.addr
    );
    let tg = Tokengate::start(&config, true);
    let send = |path: &str, token: &str| tg.send(&get_with(path, &[&bearer(token)]));

    for (token, use_) in [(&alice.id, "id"), (&alice.access, "access")] {
        let r = send("/admin/panel", token);
        assert_eq!(
            r.status,
            200,
            "{use_}: {} / {}",
            String::from_utf8_lossy(&r.body),
            tg.output()
        );
        assert_eq!(
            r.upstream_header("x-auth-username").as_deref(),
            Some("alice")
        );
        assert!(r
            .upstream_header("x-auth-groups")
            .unwrap()
            .split(',')
            .any(|g| g == "admin"));
        assert_eq!(r.upstream_header("x-auth-token-use").as_deref(), Some(use_));
        assert_eq!(r.upstream_header("x-auth-issuer").as_deref(), Some("moto"));
        assert_eq!(
            r.upstream_header("x-auth-client-id").as_deref(),
            Some(client_id.as_str())
        );
        let sub = payload(token)["sub"].as_str().unwrap().to_owned();
        assert_eq!(r.upstream_header("x-auth-sub"), Some(sub));
    }
    let r = send("/admin/panel", &alice.id);
    // moto leaves attributes such as email out of its ID tokens; forward what is there.
    let email = payload(&alice.id)["email"].as_str().map(str::to_owned);
    assert_eq!(r.upstream_header("x-auth-email"), email);

    let r = send("/admin/panel", &bob.access);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_scope");
    assert_eq!(r.json()["error_description"], "missing group");

    let r = send("/access-only/x", &bob.id);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error_description"], "wrong token_use");
    assert_eq!(send("/access-only/x", &bob.access).status, 200);

    // A custom attribute: moto puts it in ID tokens (as Cognito does; access tokens carry
    // custom attributes only through a V2 pre-token-generation trigger).
    assert_eq!(payload(&alice.id)["custom:tenant"], "acme");
    let r = send("/tenant/x", &alice.id);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.upstream_header("x-tenant").as_deref(), Some("acme"));
    for token in [&bob.id, &alice.access] {
        let r = send("/tenant/x", token);
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["error_description"], "claim not allowed");
    }

    let r = tg.send(&get("/anything"));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "missing_token");

    // One payload character changed: the signature no longer holds.
    let mut parts: Vec<String> = alice.access.split('.').map(str::to_owned).collect();
    let mut claims = payload(&alice.access);
    claims["username"] = json!("root");
    parts[1] = b64(claims.to_string());
    let r = send("/admin/panel", &parts.join("."));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_token");
}
