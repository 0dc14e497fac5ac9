//! Real gateways in front of one running tokengate (`mode: authz`): nginx with
//! `auth_request` and Caddy with `forward_auth`, each run from the very example files under
//! `deploy/`, on loopback, before the echo upstream. Each process is stopped by its PID.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/harness.rs"]
mod harness;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use harness::*;

/// A gateway process, killed by its PID on drop.
struct Gateway {
    addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    fn wait_ready(self) -> Gateway {
        for _ in 0..200 {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return self;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("gateway did not start; see {}", self.dir.display());
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tg-gw-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary, or `None` outside CI when it is not installed.
fn binary(name: &str) -> Option<()> {
    let found = Command::new(name)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is required in CI (.ci/run installs it with apt-get)"
    );
    eprintln!("SKIPPED: {name} not installed (apt-get install -y {name})");
    None
}

/// nginx from `deploy/nginx/tokengate.conf.template`, rendered as its header says (the
/// three `${...}` addresses), included in a minimal main config of the test's own.
fn start_nginx(tokengate: SocketAddr, upstream: SocketAddr) -> Gateway {
    let dir = temp_dir("nginx");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let site = std::fs::read_to_string(repo("deploy/nginx/tokengate.conf.template"))
        .unwrap()
        .replace("${LISTEN}", &addr.to_string())
        .replace("${TOKENGATE}", &tokengate.to_string())
        .replace("${UPSTREAM}", &upstream.to_string());
    std::fs::write(dir.join("tokengate.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/tokengate.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Gateway { addr, child, dir }.wait_ready()
}

/// Caddy from `deploy/caddy/Caddyfile` as it is, addresses given in the environment.
fn start_caddy(tokengate: SocketAddr, upstream: SocketAddr) -> Gateway {
    let dir = temp_dir("caddy");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = std::fs::File::create(dir.join("caddy.log")).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(repo("deploy/caddy/Caddyfile"))
        .env("GATEWAY_LISTEN", format!(":{port}"))
        .env("GATEWAY_BIND", "127.0.0.1")
        .env("TOKENGATE", tokengate.to_string())
        .env("UPSTREAM", upstream.to_string())
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    Gateway { addr, child, dir }.wait_ready()
}

/// One tokengate in authz mode for both gateways.
struct Scene {
    tg: Tokengate,
    jwks: JwksServer,
    key: Signer,
    upstream: SocketAddr,
}

impl Scene {
    fn start() -> Scene {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let config = format!(
            "mode: authz\nserver: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - {{ match: {{ path_prefix: /public }}, auth: none }}\n  - {{ match: {{ path_prefix: /admin }}, require: {{ groups_any: [admin] }} }}\n  - {{ match: {{ path_prefix: /app }} }}\n",
            jwks.issuer("p")
        );
        Scene {
            tg: Tokengate::start(&config, true),
            jwks,
            key,
            upstream: start_echo(),
        }
    }

    fn token(&self, user: &str, groups: &[&str]) -> String {
        self.key
            .sign(&access_claims(&self.jwks.issuer("p"), user, groups))
    }
}

/// What every gateway must get right, whatever its configuration language.
fn gateway_decisions(scene: &Scene, gateway: &Gateway, name: &str) {
    let alice = bearer(&scene.token("alice", &["admin"]));
    let bob = bearer(&scene.token("bob", &[]));
    let send =
        |path: &str, headers: &[&str]| try_request(gateway.addr, &get_with(path, headers)).unwrap();

    // Allowed: the upstream sees tokengate's identity, not the client's.
    let r = send(
        "/admin/reports?x=1",
        &[
            &alice,
            "X-Auth-Sub: spoofed",
            "X-Auth-Groups: root",
            "X-Auth-Email: boss@example.com",
        ],
    );
    assert_eq!(
        r.status,
        200,
        "{name}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.upstream_header("x-auth-sub").as_deref(),
        Some("sub-alice"),
        "{name}"
    );
    assert_eq!(
        r.upstream_header("x-auth-groups").as_deref(),
        Some("admin"),
        "{name}"
    );
    assert_eq!(
        r.upstream_header("x-auth-issuer").as_deref(),
        Some("main"),
        "{name}"
    );
    assert_eq!(
        r.upstream_header("x-auth-scope").as_deref(),
        Some("openid orders/read"),
        "{name}"
    );
    let email = r.upstream_header("x-auth-email");
    assert!(
        email.as_deref().is_none_or(str::is_empty),
        "{name}: a spoofed header tokengate does not set is removed, got {email:?}"
    );
    assert_eq!(
        r.json()["path"],
        "/admin/reports?x=1",
        "{name}: the upstream gets the original request"
    );

    // Refused with tokengate's status and challenge; the upstream is never asked.
    let r = send("/app/x", &[]);
    assert_eq!(r.status, 401, "{name}");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="tokengate""#),
        "{name}"
    );
    let r = send("/app/x", &["Authorization: Bearer not.a.jwt"]);
    assert_eq!(r.status, 401, "{name}");
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token"),
        "{name}"
    );
    let r = send("/admin/x", &[&bob, "X-Auth-Groups: admin"]);
    assert_eq!(
        r.status, 403,
        "{name}: spoofed groups do not open an admin route"
    );

    // The original URI goes through the path rules.
    assert_eq!(send("/public/../admin/x", &[&bob]).status, 403, "{name}");
    // Public: no token needed, and no identity reaches the upstream.
    let r = send("/public/page", &["X-Auth-Sub: spoofed"]);
    assert_eq!(r.status, 200, "{name}");
    let sub = r.upstream_header("x-auth-sub");
    assert!(sub.as_deref().is_none_or(str::is_empty), "{name}: {sub:?}");
}

#[test]
fn nginx_auth_request_from_the_deploy_example() {
    if binary("nginx").is_none() {
        return;
    }
    let scene = Scene::start();
    let nginx = start_nginx(scene.tg.addr, scene.upstream);
    gateway_decisions(&scene, &nginx, "nginx");
    // auth_request knows only 2xx/401/403; the example maps tokengate's 404 back.
    let r = try_request(nginx.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "no route is 404 through nginx too");
}

#[test]
fn caddy_forward_auth_from_the_deploy_example() {
    if binary("caddy").is_none() {
        return;
    }
    let scene = Scene::start();
    let caddy = start_caddy(scene.tg.addr, scene.upstream);
    gateway_decisions(&scene, &caddy, "caddy");
    let r = try_request(caddy.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "caddy passes tokengate's refusals through");
    assert_eq!(r.json()["error"], "no_route");
}

/// Every YAML document of one example file.
fn documents(path: &str) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(repo(path)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

#[test]
fn the_envoy_traefik_and_istio_examples_point_at_the_authz_example_config() {
    let config =
        tokengate::config::load_file(&repo("config/examples/authz.yaml"), &|_| None).unwrap();
    let grpc = config.authz.grpc_listen.unwrap().port().to_string();
    let http = config.server.listen.port().to_string();

    let text = |path: &str| std::fs::read_to_string(repo(path)).unwrap();
    let envoy_grpc = text("deploy/envoy/envoy-grpc.yaml");
    assert_eq!(documents("deploy/envoy/envoy-grpc.yaml").len(), 1);
    assert!(envoy_grpc.contains(&format!("port_value: {grpc}")));
    assert!(envoy_grpc.contains("failure_mode_allow: false"));
    assert!(envoy_grpc.contains("grpc_health_check"));

    let envoy_http = text("deploy/envoy/envoy-http.yaml");
    assert_eq!(documents("deploy/envoy/envoy-http.yaml").len(), 1);
    assert!(envoy_http.contains(&format!("port_value: {http}")));
    assert!(envoy_http.contains(&format!("path_prefix: {}", config.authz.path_prefix)));
    assert!(envoy_http.contains("failure_mode_allow: false"));
    assert!(envoy_http.contains("allowed_upstream_headers"));

    let traefik = &documents("deploy/traefik/dynamic.yaml")[0];
    let forward = &traefik["http"]["middlewares"]["tokengate"]["forwardAuth"];
    assert_eq!(
        forward["address"].as_str(),
        Some(&*format!("http://127.0.0.1:{http}/"))
    );
    assert_eq!(forward["trustForwardHeader"].as_bool(), Some(false));
    assert_eq!(
        forward["authResponseHeaders"].as_sequence().map(Vec::len),
        Some(9)
    );
    assert_eq!(
        forward["authResponseHeadersRegex"].as_str(),
        Some("^X-Auth-")
    );

    let istio = documents("deploy/istio/tokengate-authz.yaml");
    let kinds: Vec<&str> = istio.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Deployment", "Service", "AuthorizationPolicy"]
    );
    let policy = &istio[3]["spec"];
    assert_eq!(policy["action"].as_str(), Some("CUSTOM"));
    assert_eq!(policy["provider"]["name"].as_str(), Some("tokengate"));
    // The embedded tokengate config is one the loader accepts.
    let embedded = istio[0]["data"]["tokengate.yaml"].as_str().unwrap();
    let embedded = tokengate::config::load_str(embedded, &|_| None).unwrap();
    assert_eq!(embedded.authz.grpc_listen.map(|a| a.port()), Some(9191));
    let mesh = &documents("deploy/istio/mesh-config.yaml")[0];
    let provider = &mesh["spec"]["meshConfig"]["extensionProviders"][0];
    assert_eq!(provider["name"].as_str(), Some("tokengate"));
    assert_eq!(provider["envoyExtAuthzGrpc"]["port"].as_u64(), Some(9191));
    assert_eq!(
        provider["envoyExtAuthzGrpc"]["failOpen"].as_bool(),
        Some(false)
    );
}
