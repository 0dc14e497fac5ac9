//! The deployment files say what they do: every ConfigMap's tokengate config passes the real
//! binary's `check-config` with its Deployment's environment; probes hit the admin port;
//! the grace period covers preStop plus `shutdown_grace`; Services target tokengate, not the
//! application; the Dockerfile's command and environment run the shipped config.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_yaml::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tokengate");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn manifests() -> Vec<(PathBuf, Vec<Value>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.push(repo("deploy/istio/tokengate-authz.yaml"));
    files
        .into_iter()
        .map(|p| (p.clone(), documents(&p)))
        .collect()
}

fn seconds(text: &str) -> u64 {
    humantime::parse_duration(text).unwrap().as_secs()
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
fn every_configmap_passes_check_config_with_its_deployments_environment() {
    let mut checked = 0;
    for (path, docs) in manifests() {
        for config_map in docs.iter().filter(|d| d["kind"] == "ConfigMap") {
            let name = config_map["metadata"]["name"].as_str().unwrap();
            let text = config_map["data"]["tokengate.yaml"].as_str().unwrap();
            // The environment of the container that mounts this ConfigMap.
            let mut env = Vec::new();
            for deployment in docs.iter().filter(|d| d["kind"] == "Deployment") {
                let spec = &deployment["spec"]["template"]["spec"];
                let mounts_it = spec["volumes"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .any(|v| v["configMap"]["name"].as_str() == Some(name));
                if !mounts_it {
                    continue;
                }
                for container in spec["containers"].as_sequence().unwrap() {
                    for e in container["env"].as_sequence().into_iter().flatten() {
                        env.push((
                            e["name"].as_str().unwrap().to_owned(),
                            e["value"].as_str().unwrap_or("").to_owned(),
                        ));
                    }
                }
            }
            let (code, out) = check_config(text, &env, &format!("{name}.yaml"));
            assert_eq!(code, Some(0), "{}: ConfigMap {name}: {out}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} ConfigMaps found");
}

#[test]
fn probes_grace_periods_and_services_fit_the_config() {
    let mut deployments = 0;
    for (path, docs) in manifests() {
        let config: Option<&str> = docs
            .iter()
            .find(|d| d["kind"] == "ConfigMap")
            .and_then(|c| c["data"]["tokengate.yaml"].as_str());
        let config: Value = serde_yaml::from_str(config.unwrap()).unwrap();
        let admin_port = config["admin"]["listen"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        let grace = config["server"]["shutdown_grace"]
            .as_str()
            .map_or(20, seconds);
        for deployment in docs.iter().filter(|d| d["kind"] == "Deployment") {
            deployments += 1;
            let spec = &deployment["spec"]["template"]["spec"];
            let tokengate = spec["containers"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "tokengate")
                .unwrap_or_else(|| panic!("{}: no tokengate container", path.display()));
            let ports = tokengate["ports"].as_sequence().unwrap();
            let named = |name: &str| {
                ports
                    .iter()
                    .find(|p| p["name"] == name)
                    .and_then(|p| p["containerPort"].as_u64())
            };
            assert_eq!(named("admin"), Some(admin_port), "{}", path.display());
            for (probe, target) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
                let get = &tokengate[probe]["httpGet"];
                assert_eq!(
                    get["path"].as_str(),
                    Some(target),
                    "{}: {probe}",
                    path.display()
                );
                assert_eq!(
                    get["port"].as_str(),
                    Some("admin"),
                    "{}: {probe}",
                    path.display()
                );
            }
            let security = &tokengate["securityContext"];
            assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
            assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
            assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
            assert_eq!(security["capabilities"]["drop"][0].as_str(), Some("ALL"));
            if path.starts_with(repo("deploy/kubernetes")) {
                let pre_stop = tokengate["lifecycle"]["preStop"]["sleep"]["seconds"]
                    .as_u64()
                    .unwrap_or(0);
                let period = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
                assert!(
                    period > pre_stop + grace,
                    "{}: terminationGracePeriodSeconds {period} must exceed preStop {pre_stop} + shutdown_grace {grace}",
                    path.display()
                );
                let cache = config["jwks"]["cache_dir"].as_str().unwrap();
                let mounted = tokengate["volumeMounts"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|m| m["mountPath"].as_str() == Some(cache));
                assert!(
                    mounted,
                    "{}: cache_dir {cache} is not a volume",
                    path.display()
                );
            }
        }
        for service in docs.iter().filter(|d| d["kind"] == "Service") {
            for port in service["spec"]["ports"].as_sequence().unwrap() {
                let target = &port["targetPort"];
                assert!(
                    target.as_str() != Some("admin") && target.as_u64() != Some(admin_port),
                    "{}: a Service must not expose the admin port",
                    path.display()
                );
            }
        }
    }
    assert!(deployments >= 3);
}

#[test]
fn the_sidecar_application_listens_on_loopback_only() {
    let docs = documents(&repo("deploy/kubernetes/sidecar.yaml"));
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let config: Value =
        serde_yaml::from_str(config_map["data"]["tokengate.yaml"].as_str().unwrap()).unwrap();
    assert!(config["upstream"]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let app = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(app["ports"].is_null(), "the application exposes no port");
    assert!(app["env"][0]["value"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
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
