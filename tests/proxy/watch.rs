//! Reload without a signal: a change of the config file (written in place, or swapped the
//! way Kubernetes updates a mounted ConfigMap) is handled like SIGHUP within 5 seconds and
//! counted in `tokengate_config_reloads_total`; an invalid file is refused once and not
//! retried; one change is one reload, and nothing (reading the files, the access log
//! written beside them) makes more.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::harness::*;

const OK: &str = "tokengate_config_reloads_total{result=\"ok\"}";
const ERROR: &str = "tokengate_config_reloads_total{result=\"error\"}";

/// reference section 7: a change is handled within 5 seconds.
const BOUND: Duration = Duration::from_secs(5);

fn config(upstream: std::net::SocketAddr, jwks: &JwksServer, routes: &[&str]) -> String {
    let routes: String = routes
        .iter()
        .map(|p| format!("  - {{ match: {{ path_prefix: {p} }}, auth: none }}\n"))
        .collect();
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\nroutes:\n{routes}",
        jwks.issuer("p")
    )
}

fn scene() -> (JwksServer, std::net::SocketAddr) {
    let key = Signer::issuer_key();
    (
        JwksServer::start(&json!({"keys": [key.jwk()]})),
        start_echo(),
    )
}

#[test]
fn an_in_place_rewrite_of_the_config_takes_effect_without_a_signal() {
    let (jwks, upstream) = scene();
    let tg = Tokengate::start(&config(upstream, &jwks, &["/a"]), true);
    assert_eq!(tg.send(&get("/b")).status, 404);

    // Written in place (same inode), as `kubectl cp` or an editor without a backup would.
    std::fs::write(&tg.config, tg.fill(&config(upstream, &jwks, &["/a", "/b"]))).unwrap();
    within(BOUND, "the new route", || tg.send(&get("/b")).status == 200);
    assert_eq!(tg.metric(OK), 1.0);
    assert_eq!(tg.metric(ERROR), 0.0);
    assert!(tg.output().contains("watched files changed: reloading"));
}

#[test]
fn one_change_is_one_reload_and_nothing_follows() {
    let (jwks, upstream) = scene();
    let tg = Tokengate::start(&config(upstream, &jwks, &["/a"]), true);
    tg.rewrite_config(&config(upstream, &jwks, &["/a", "/b"]));
    within(BOUND, "the reload", || tg.metric(OK) == 1.0);
    // Requests keep writing the access log beside the config file; the reload read the
    // file; neither is a change.
    let quiet = Instant::now() + Duration::from_secs(4);
    while Instant::now() < quiet {
        assert_eq!(tg.send(&get("/b")).status, 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(tg.metric(OK), 1.0, "exactly one reload for one change");
    assert_eq!(tg.metric(ERROR), 0.0);
}

#[test]
fn an_invalid_file_is_refused_once_and_the_running_config_stays() {
    let (jwks, upstream) = scene();
    let good = config(upstream, &jwks, &["/a"]);
    let tg = Tokengate::start(&good, true);
    tg.rewrite_config("server: [unclosed");
    within(BOUND, "the refused reload", || tg.metric(ERROR) == 1.0);
    assert_eq!(tg.send(&get("/a")).status, 200, "the old routes still hold");
    assert_eq!(tg.admin_get("/readyz").status, 200);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        tg.metric(ERROR),
        1.0,
        "an unchanged broken file is not retried"
    );
    assert_eq!(tg.metric(OK), 0.0);

    // Fixed: picked up like any change.
    tg.rewrite_config(&config(upstream, &jwks, &["/a", "/b"]));
    within(BOUND, "the fixed file", || {
        tg.send(&get("/b")).status == 200
    });
    assert_eq!(tg.metric(OK), 1.0);
}

/// Kubernetes' atomic writer: the files live in `..<timestamp>/`, `..data` points at the
/// current one, and `name -> ..data/name`; an update writes a new directory, points
/// `..data_tmp` at it, renames that over `..data`, and removes the old directory.
#[cfg(unix)]
fn publish(dir: &Path, version: &str, text: &str, old: Option<&str>) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir(dir.join(version)).unwrap();
    std::fs::write(dir.join(version).join("tokengate.yaml"), text).unwrap();
    symlink(version, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    if let Some(old) = old {
        std::fs::remove_dir_all(dir.join(old)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_kubernetes_configmap_update_by_symlink_swap_is_reloaded_each_time() {
    use std::os::unix::fs::symlink;
    let (jwks, upstream) = scene();
    let tg = Tokengate::start_laid_out(
        &config(upstream, &jwks, &["/a"]),
        true,
        |dir, text| -> PathBuf {
            publish(dir, "..2026_01_01_00_00_00.1", text, None);
            symlink("..data/tokengate.yaml", dir.join("tokengate.yaml")).unwrap();
            dir.join("tokengate.yaml")
        },
    );
    let dir = tg.config.parent().unwrap().to_owned();
    assert_eq!(tg.send(&get("/b")).status, 404);

    publish(
        &dir,
        "..2026_01_01_00_01_00.2",
        &tg.fill(&config(upstream, &jwks, &["/a", "/b"])),
        Some("..2026_01_01_00_00_00.1"),
    );
    within(BOUND, "the first swap", || {
        tg.send(&get("/b")).status == 200
    });
    assert_eq!(tg.metric(OK), 1.0);

    // The second swap replaces the directory the first one pointed at.
    publish(
        &dir,
        "..2026_01_01_00_02_00.3",
        &tg.fill(&config(upstream, &jwks, &["/a", "/b", "/c"])),
        Some("..2026_01_01_00_01_00.2"),
    );
    within(BOUND, "the second swap", || {
        tg.send(&get("/c")).status == 200
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(tg.metric(OK), 2.0, "one reload per swap");
    assert_eq!(tg.metric(ERROR), 0.0);
}

#[test]
fn sighup_still_reloads_and_the_watch_adds_no_second_reload() {
    let (jwks, upstream) = scene();
    let tg = Tokengate::start(&config(upstream, &jwks, &["/a"]), true);
    tg.rewrite_config(&config(upstream, &jwks, &["/a", "/b"]));
    tg.signal("-HUP");
    within(BOUND, "the reload", || tg.send(&get("/b")).status == 200);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(tg.metric(OK), 1.0, "the watch saw the same contents");
    assert!(tg.output().contains("SIGHUP received"));
}
