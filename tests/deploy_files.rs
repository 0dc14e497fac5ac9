//! The deployment files say what they do. Each Kustomize overlay under
//! `deploy/kubernetes/overlays/` is rendered with `kubectl kustomize` (the test fails, never
//! skips, without kubectl) and checked as rendered: every ConfigMap's tokengate config passes
//! the real binary's `check-config` with its container's environment; probes hit the admin
//! port; the grace period covers preStop plus `shutdown_grace`; Services target tokengate,
//! not the application or the admin port; the sidecar overlay is a native sidecar; the
//! authz overlay runs `mode: authz` and publishes its check ports; the gateway overlay
//! autoscales. The Dockerfile's command and environment run the shipped config.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_yaml::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tokengate");
const OVERLAYS: [&str; 3] = ["sidecar", "gateway", "authz"];
const IMAGE: &str = "ghcr.io/tokengate/tokengate:";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn parse(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|d: &Value| !d.is_null())
        .collect()
}

fn documents(path: &Path) -> Vec<Value> {
    parse(&std::fs::read_to_string(path).unwrap())
}

/// `kubectl kustomize` of one overlay directory.
fn render(overlay: &str) -> Vec<Value> {
    let dir = repo(&format!("deploy/kubernetes/overlays/{overlay}"));
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "kubectl kustomize {}: {e}; kubectl is needed to render the overlays \
                 (.ci/check-deploy installs it)",
                dir.display()
            )
        });
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8(out.stdout).unwrap())
}

/// One set of manifests: a rendered overlay, or a plain file.
struct Manifests {
    name: String,
    docs: Vec<Value>,
    /// Rendered from deploy/kubernetes (the full checks apply).
    overlay: bool,
}

/// Every overlay, rendered once per test binary, and the Istio example.
fn manifests() -> &'static [Manifests] {
    static ALL: OnceLock<Vec<Manifests>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<Manifests> = OVERLAYS
            .iter()
            .map(|o| Manifests {
                name: format!("overlays/{o}"),
                docs: render(o),
                overlay: true,
            })
            .collect();
        all.push(Manifests {
            name: "deploy/istio/tokengate-authz.yaml".into(),
            docs: documents(&repo("deploy/istio/tokengate-authz.yaml")),
            overlay: false,
        });
        all
    })
}

fn overlay(name: &str) -> &'static [Value] {
    &manifests()
        .iter()
        .find(|m| m.name == format!("overlays/{name}"))
        .unwrap()
        .docs
}

fn kind<'a>(docs: &'a [Value], kind: &'static str) -> impl Iterator<Item = &'a Value> + 'a {
    docs.iter().filter(move |d| d["kind"] == kind)
}

fn named<'a>(docs: &'a [Value], k: &'static str, name: &str) -> &'a Value {
    kind(docs, k)
        .find(|d| d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {k} named {name}"))
}

/// A pod spec's containers, init containers (native sidecars among them) first.
fn all_containers(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["initContainers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_sequence().into_iter().flatten())
}

fn tokengate_container<'a>(spec: &'a Value, name: &str) -> &'a Value {
    all_containers(spec)
        .find(|c| c["name"] == "tokengate")
        .unwrap_or_else(|| panic!("{name}: no tokengate container"))
}

/// A container's environment: `envFrom` ConfigMaps (from the same documents), then `env`.
fn container_env(container: &Value, docs: &[Value]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for source in container["envFrom"].as_sequence().into_iter().flatten() {
        assert!(source["prefix"].is_null(), "envFrom prefix is not handled");
        let name = source["configMapRef"]["name"].as_str().unwrap();
        let data = named(docs, "ConfigMap", name)["data"].as_mapping().unwrap();
        for (k, v) in data {
            env.push((
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            ));
        }
    }
    for e in container["env"].as_sequence().into_iter().flatten() {
        env.push((
            e["name"].as_str().unwrap().to_owned(),
            e["value"].as_str().unwrap_or("").to_owned(),
        ));
    }
    env
}

/// The tokengate config a Deployment mounts, with `${NAME}` expanded from `env`.
fn mounted_config(docs: &[Value], deployment: &Value, env: &[(String, String)]) -> Value {
    let spec = &deployment["spec"]["template"]["spec"];
    let name = spec["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v["configMap"]["name"].as_str())
        .find(|n| named(docs, "ConfigMap", n)["data"]["tokengate.yaml"].is_string())
        .expect("no volume with a tokengate config");
    let text = named(docs, "ConfigMap", name)["data"]["tokengate.yaml"]
        .as_str()
        .unwrap();
    let mut config: Value = serde_yaml::from_str(text).unwrap();
    let lookup = |k: &str| {
        env.iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let mut problems = Vec::new();
    tokengate::config::interpolate::expand_tree(&mut config, "", &lookup, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    config
}

fn port_of(listen: &Value) -> u64 {
    listen
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn seconds(text: &str) -> u64 {
    humantime::parse_duration(text).unwrap().as_secs()
}

fn pre_stop(container: &Value) -> u64 {
    container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0)
}

/// Runs `check-config` on `text` with `env`; returns (exit code, output).
fn check_config(text: &str, env: &[(String, String)], name: &str) -> (Option<i32>, String) {
    // One directory per call (tests run in parallel threads), removed afterwards.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tg-deploy-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&file)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn every_configmap_passes_check_config_with_its_containers_environment() {
    let mut checked = 0;
    for m in manifests() {
        let docs = &m.docs;
        for config_map in kind(docs, "ConfigMap") {
            let name = config_map["metadata"]["name"].as_str().unwrap();
            let Some(text) = config_map["data"]["tokengate.yaml"].as_str() else {
                continue; // the environment ConfigMap
            };
            // The environment of the tokengate container whose pod mounts this ConfigMap.
            let mut env = Vec::new();
            for deployment in kind(docs, "Deployment") {
                let spec = &deployment["spec"]["template"]["spec"];
                let mounts_it = spec["volumes"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .any(|v| v["configMap"]["name"].as_str() == Some(name));
                if mounts_it {
                    env.extend(container_env(tokengate_container(spec, &m.name), docs));
                }
            }
            assert!(
                !env.is_empty() || !m.overlay,
                "{}: {name} is mounted nowhere",
                m.name
            );
            let (code, out) = check_config(text, &env, &format!("{name}.yaml"));
            assert_eq!(code, Some(0), "{}: ConfigMap {name}: {out}", m.name);
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} tokengate ConfigMaps found");
}

#[test]
fn probes_grace_periods_and_services_fit_the_config() {
    let mut deployments = 0;
    for m in manifests() {
        let (docs, name) = (&m.docs, &m.name);
        for deployment in kind(docs, "Deployment") {
            deployments += 1;
            let spec = &deployment["spec"]["template"]["spec"];
            let tokengate = tokengate_container(spec, name);
            let config = mounted_config(docs, deployment, &container_env(tokengate, docs));
            let admin_port = port_of(&config["admin"]["listen"]);
            let grace = config["server"]["shutdown_grace"]
                .as_str()
                .map_or(20, seconds);
            let ports = tokengate["ports"].as_sequence().unwrap();
            let port = |port: &str| {
                ports
                    .iter()
                    .find(|p| p["name"] == port)
                    .and_then(|p| p["containerPort"].as_u64())
            };
            assert_eq!(port("admin"), Some(admin_port), "{name}");
            for (probe, target) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
                let get = &tokengate[probe]["httpGet"];
                assert_eq!(get["path"].as_str(), Some(target), "{name}: {probe}");
                assert_eq!(get["port"].as_str(), Some("admin"), "{name}: {probe}");
            }
            let security = &tokengate["securityContext"];
            assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
            assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
            assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
            assert_eq!(security["capabilities"]["drop"][0].as_str(), Some("ALL"));
            if !m.overlay {
                continue;
            }
            assert_eq!(security["runAsUser"].as_u64(), Some(65532), "{name}");
            assert_eq!(
                spec["securityContext"]["seccompProfile"]["type"].as_str(),
                Some("RuntimeDefault"),
                "{name}"
            );
            let image = tokengate["image"].as_str().unwrap();
            let tag = image.strip_prefix(IMAGE).unwrap_or_else(|| {
                panic!("{name}: image {image} is not {IMAGE}TAG (kustomization `images:`)")
            });
            assert!(!tag.is_empty() && tag != "latest", "{name}: tag {tag}");
            assert!(
                tokengate["resources"]["limits"]["memory"].is_string(),
                "{name}: no memory limit"
            );
            // The grace period: a native sidecar is sent SIGTERM only after the
            // application containers have exited, so their preStop and their drain (given
            // shutdown_grace as well) come first.
            let period = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
            let sidecar = tokengate["restartPolicy"] == "Always";
            let before = if sidecar {
                let apps = spec["containers"].as_sequence().unwrap();
                apps.iter().map(pre_stop).max().unwrap_or(0) + grace
            } else {
                0
            };
            let needed = before + pre_stop(tokengate) + grace;
            assert!(
                period > needed,
                "{name}: terminationGracePeriodSeconds {period} must exceed {needed} \
                 (application preStop + drain, then tokengate's preStop {} + shutdown_grace {grace})",
                pre_stop(tokengate)
            );
            let cache = config["jwks"]["cache_dir"].as_str().unwrap();
            let mounted = tokengate["volumeMounts"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|m| m["mountPath"].as_str() == Some(cache));
            assert!(mounted, "{name}: cache_dir {cache} is not a volume");
            // Every Service and the NetworkPolicy select this Deployment's pods, and every
            // Service port targets a named tokengate port other than admin.
            let pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
                .as_mapping()
                .unwrap();
            let selects = |selector: &Value| {
                let selector = selector.as_mapping().unwrap();
                !selector.is_empty() && selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
            };
            assert!(
                selects(&deployment["spec"]["selector"]["matchLabels"]),
                "{name}"
            );
            for policy in kind(docs, "NetworkPolicy") {
                assert!(
                    selects(&policy["spec"]["podSelector"]["matchLabels"]),
                    "{name}"
                );
            }
            for service in kind(docs, "Service") {
                assert!(selects(&service["spec"]["selector"]), "{name}");
                for p in service["spec"]["ports"].as_sequence().unwrap() {
                    let target = p["targetPort"].as_str().unwrap();
                    assert!(
                        port(target).is_some(),
                        "{name}: {target} is no tokengate port"
                    );
                    assert_ne!(target, "admin", "{name}: a Service exposes the admin port");
                }
            }
        }
        for service in kind(docs, "Service") {
            let admin = kind(docs, "Deployment")
                .map(|d| tokengate_container(&d["spec"]["template"]["spec"], name))
                .flat_map(|c| c["ports"].as_sequence().unwrap())
                .find(|p| p["name"] == "admin")
                .and_then(|p| p["containerPort"].as_u64());
            for p in service["spec"]["ports"].as_sequence().unwrap() {
                let target = &p["targetPort"];
                assert!(
                    target.as_str() != Some("admin") && target.as_u64() != admin,
                    "{name}: a Service must not expose the admin port"
                );
            }
        }
    }
    assert!(deployments >= 4);
}

#[test]
fn the_sidecar_overlay_is_a_native_sidecar_before_a_loopback_only_application() {
    let docs = overlay("sidecar");
    let deployments: Vec<&Value> = kind(docs, "Deployment").collect();
    assert_eq!(deployments.len(), 1);
    let spec = &deployments[0]["spec"]["template"]["spec"];
    // tokengate: an init container restarted whenever it exits (a native sidecar), with
    // startup, readiness and liveness probes on the admin port.
    let init = spec["initContainers"].as_sequence().unwrap();
    assert_eq!(
        init[0]["name"], "tokengate",
        "tokengate is the first init container"
    );
    let tokengate = &init[0];
    assert_eq!(tokengate["restartPolicy"].as_str(), Some("Always"));
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            tokengate[probe]["httpGet"]["port"].as_str(),
            Some("admin"),
            "{probe}"
        );
    }
    assert!(
        spec["containers"]
            .as_sequence()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "tokengate"),
        "tokengate is not also a regular container"
    );
    // The application: a regular container, no port of its own, bound to loopback, where
    // tokengate's upstream points.
    let app = spec["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "app")
        .expect("the application container");
    assert!(app["ports"].is_null(), "the application exposes no port");
    let listen = app["env"][0]["value"].as_str().unwrap();
    assert!(listen.starts_with("127.0.0.1:"));
    let config = mounted_config(docs, deployments[0], &container_env(tokengate, docs));
    assert_eq!(config["mode"].as_str(), Some("proxy"));
    assert_eq!(
        config["upstream"]["url"].as_str(),
        Some(&*format!("http://{listen}"))
    );
    // The Service reaches tokengate's data port.
    for service in kind(docs, "Service") {
        for p in service["spec"]["ports"].as_sequence().unwrap() {
            assert_eq!(p["targetPort"].as_str(), Some("http"));
        }
    }
}

#[test]
fn the_authz_overlay_runs_authz_mode_and_publishes_both_check_ports() {
    let docs = overlay("authz");
    let deployment = kind(docs, "Deployment").next().unwrap();
    let spec = &deployment["spec"]["template"]["spec"];
    let tokengate = tokengate_container(spec, "overlays/authz");
    let config = mounted_config(docs, deployment, &container_env(tokengate, docs));
    assert_eq!(config["mode"].as_str(), Some("authz"));
    assert!(config["upstream"].is_null());
    let ports: Vec<(&str, u64)> = tokengate["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    let http = port_of(&config["server"]["listen"]);
    let grpc = port_of(&config["authz"]["grpc_listen"]);
    assert!(ports.contains(&("http-authz", http)), "{ports:?}");
    assert!(ports.contains(&("grpc-authz", grpc)), "{ports:?}");
    let service = kind(docs, "Service").next().unwrap();
    let published: Vec<(&str, &str)> = service["spec"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["targetPort"].as_str().unwrap(),
                p["appProtocol"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(published, [("http-authz", "http"), ("grpc-authz", "grpc")]);
    // deploy/istio/mesh-config.yaml names tokengate-authz.<namespace>.svc.cluster.local:9191.
    let mesh = &documents(&repo("deploy/istio/mesh-config.yaml"))[0];
    let provider = &mesh["spec"]["meshConfig"]["extensionProviders"][0]["envoyExtAuthzGrpc"];
    let host = provider["service"].as_str().unwrap();
    assert!(host.starts_with(&format!(
        "{}.",
        service["metadata"]["name"].as_str().unwrap()
    )));
    assert_eq!(provider["port"].as_u64(), Some(grpc));
    // The check ports are open only to labelled namespaces, never to everyone.
    let policy = kind(docs, "NetworkPolicy").next().unwrap();
    for rule in policy["spec"]["ingress"].as_sequence().unwrap() {
        assert!(
            rule["from"].is_sequence(),
            "an ingress rule open to all: {rule:?}"
        );
    }
}

#[test]
fn the_gateway_overlay_autoscales_on_cpu_and_keeps_one_pod_through_disruptions() {
    let docs = overlay("gateway");
    let deployment = kind(docs, "Deployment").next().unwrap();
    let name = deployment["metadata"]["name"].as_str().unwrap();
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the HorizontalPodAutoscaler owns the replica count"
    );
    let hpa = kind(docs, "HorizontalPodAutoscaler").next().unwrap();
    assert_eq!(hpa["apiVersion"].as_str(), Some("autoscaling/v2"));
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["kind"].as_str(),
        Some("Deployment")
    );
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"].as_str(), Some(name));
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    let metric = &hpa["spec"]["metrics"][0];
    assert_eq!(metric["resource"]["name"].as_str(), Some("cpu"));
    let tokengate = tokengate_container(&deployment["spec"]["template"]["spec"], name);
    assert!(
        tokengate["resources"]["requests"]["cpu"].is_string(),
        "CPU utilization is measured against the request"
    );
    let pdb = kind(docs, "PodDisruptionBudget").next().unwrap();
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = pdb["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
    assert!(selector.len() >= 2);
    assert!(selector.iter().all(|(k, v)| &pod_labels[k] == v));
    assert_eq!(
        selector,
        deployment["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .unwrap()
    );
}

#[test]
fn the_dockerfile_runs_the_shipped_config_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked --bin tokengate"));
    assert!(dockerfile.contains("USER 65532:65532"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["tokengate"]"#));
    assert!(dockerfile.contains(r#"CMD ["run", "--config", "/etc/tokengate/tokengate.yaml"]"#));
    assert!(dockerfile.contains("COPY config/tokengate.yaml /etc/tokengate/tokengate.yaml"));
    // The image's environment (ENV lines) makes the shipped config valid and listening
    // beyond loopback.
    let mut env = Vec::new();
    let mut in_env = false;
    for line in dockerfile.lines() {
        let line = line.trim();
        let rest = if let Some(rest) = line.strip_prefix("ENV ") {
            rest
        } else if in_env {
            line
        } else {
            continue;
        };
        in_env = rest.ends_with('\\');
        if let Some((k, v)) = rest.trim_end_matches('\\').trim().split_once('=') {
            env.push((k.to_owned(), v.to_owned()));
        }
    }
    assert!(env
        .iter()
        .any(|(k, v)| k == "TOKENGATE_ADMIN_LISTEN" && v == "0.0.0.0:9901"));
    let shipped = std::fs::read_to_string(repo("config/tokengate.yaml")).unwrap();
    let (code, out) = check_config(&shipped, &env, "image.yaml");
    assert_eq!(code, Some(0), "{out}");
}
