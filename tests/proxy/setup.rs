//! The standard scene most scenarios share: issuer `main` (JWKS served, key k1), issuer
//! `down` (its JWKS endpoint answers 500), an echo upstream, and routes of every kind.

use serde_json::json;

use crate::harness::*;

pub struct Scene {
    pub key: Signer,
    pub jwks: JwksServer,
    pub down: JwksServer,
    pub iss: String,
    pub down_iss: String,
    pub tg: Tokengate,
}

pub const ROUTES: &str = r#"
routes:
  - name: public
    match: { path_prefix: /public }
    auth: none
  - name: maybe
    match: { path_prefix: /maybe }
    auth: optional
  - name: admin
    match: { path_prefix: /admin }
    require: { groups_any: [admin] }
  - name: all-groups
    match: { path_prefix: /both }
    require: { groups_all: [admin, dev] }
  - name: orders
    match: { path_prefix: /orders }
    require: { scopes_all: [orders/write] }
  - name: tenant
    match: { path_prefix: /tenant }
    require: { claims: { "custom:tenant": [acme] } }
  - name: access-only
    match: { path_prefix: /access-only }
    require: { token_use: [access] }
  - name: posts
    match: { path: /exact, methods: [POST] }
  - name: api
    match: { path_prefix: /api }
"#;

impl Scene {
    pub fn start() -> Scene {
        Scene::with("")
    }

    /// The standard scene plus extra YAML sections (e.g. `token:` or `forward:`).
    pub fn with(extra: &str) -> Scene {
        Scene::build(ROUTES, extra)
    }

    /// The standard issuers and upstream with `routes` (a whole `routes:` section) instead
    /// of the standard routes.
    pub fn with_routes(routes: &str) -> Scene {
        Scene::build(routes, "")
    }

    fn build(routes: &str, extra: &str) -> Scene {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let down = JwksServer::start(&json!({"keys": []}));
        down.status.store(500, std::sync::atomic::Ordering::SeqCst);
        let upstream = start_echo();
        let iss = jwks.issuer("us-east-1_Main");
        let down_iss = down.issuer("us-east-1_Down");
        let forward = if extra.contains("forward:") {
            String::new()
        } else {
            "forward:\n  headers: { tenant-id: 'custom:tenant' }\n".to_owned()
        };
        let config = format!(
            "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n    token_use: [access, id]\n  - name: down\n    cognito: {{ issuer: '{down_iss}' }}\n    client_ids: [{CLIENT}]\n{routes}{forward}{extra}"
        );
        let tg = Tokengate::start(&config, false);
        // `main` must have its keys before the scenario runs (`down` never will).
        for _ in 0..200 {
            let keys = tg.admin_get("/keys").json();
            if keys["issuers"][0]["source"] == "fetch" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Scene {
            key,
            jwks,
            down,
            iss,
            down_iss,
            tg,
        }
    }

    pub fn access(&self, user: &str, groups: &[&str]) -> String {
        self.key.sign(&access_claims(&self.iss, user, groups))
    }

    pub fn id(&self, user: &str) -> String {
        self.key.sign(&id_claims(&self.iss, user))
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.tg.send(&get_with(path, &[&bearer(token)]))
    }
}
