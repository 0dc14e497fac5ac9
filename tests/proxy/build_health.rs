//! Which build is running (`--version`, `version --json`), the Docker health command
//! (`tokengate healthcheck`) and the process metrics every proxy dashboard starts from.

use std::process::Command;

use crate::harness::*;
use crate::setup::Scene;

fn tokengate(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TOKENGATE_CONFIG")
        .output()
        .unwrap()
}

/// The commit of the checkout the tests run in (CI runs them in a fresh clone).
fn head_commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git is needed to check the version's commit");
    assert!(out.status.success(), "not a git checkout");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let head = head_commit();
    let out = tokengate(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("tokengate 0."), "{text}");
    assert!(text.contains(&format!("commit {}", &head[..12])), "{text}");
    assert!(text.contains("built 20"), "{text}");

    let out = tokengate(&["version", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["commit"].as_str().unwrap().starts_with(&head),
        "{json}"
    );
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    let date = json["build_date"].as_str().unwrap();
    assert!(date.len() == 20 && date.ends_with('Z'), "{date}");
    assert!(json["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "ext-authz-grpc"));
}

#[test]
fn healthcheck_exits_0_when_ready_and_1_when_not_or_unreachable() {
    let s = Scene::start();
    // Issuer `down` has no keys: /readyz is 503, so the container is not healthy.
    let config = s.tg.config.to_str().unwrap();
    let out = tokengate(&["healthcheck", "--config", config]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("503"),
        "{out:?}"
    );

    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&serde_json::json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let ready = Tokengate::start(
        &format!(
            "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: a\n    cognito: {{ issuer: '{}' }}\n    client_ids: [c]\n",
            jwks.issuer("us-east-1_A")
        ),
        true,
    );
    let out = tokengate(&["healthcheck", "--config", ready.config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // A reader that is gone (`| head -c0`) changes nothing: still 0, and no panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["healthcheck", "--config", ready.config.to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Nothing listens on the admin address of a stopped instance.
    let config = ready.config.clone();
    drop(ready);
    let out = tokengate(&[
        "healthcheck",
        "--config",
        config.to_str().unwrap(),
        "--timeout",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let out = tokengate(&["healthcheck", "--config", "/nonexistent/tokengate.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn metrics_carry_the_process_families() {
    let s = Scene::start();
    let text = String::from_utf8(s.tg.admin_get("/metrics").body).unwrap();
    for family in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
        "process_start_time_seconds",
    ] {
        assert!(text.contains(family), "{family} missing");
    }
    assert!(s.tg.metric("process_resident_memory_bytes") > 1_000_000.0);
}
