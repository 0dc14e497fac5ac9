//! Starts each real gateway from its example under `deploy/`, changed only where the file
//! says addresses go (rendered into a temp dir), and stops it by its PID on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{free_port, get, try_request};

/// A gateway process, killed by its PID on drop.
pub struct Gateway {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    child: Child,
}

impl Drop for Gateway {
    /// Stops the process; its directory (rendered config, log) is kept when a test failed.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Gateway {
    /// Runs `command` with its output in `<dir>/<name>.log`; returns once a public request
    /// goes all the way through (gateway, tokengate, upstream) with 200.
    fn spawn(name: &'static str, addr: SocketAddr, dir: PathBuf, command: &mut Command) -> Self {
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
        let mut gateway = Gateway {
            name,
            addr,
            dir,
            child,
        };
        for _ in 0..300 {
            if let Ok(Some(status)) = gateway.child.try_wait() {
                panic!("{name} exited ({status}): {}", gateway.log());
            }
            if try_request(addr, &get("/public/ready")).is_ok_and(|r| r.status == 200) {
                return gateway;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{name} did not pass a public request: {}", gateway.log());
    }

    pub fn log(&self) -> String {
        let path = self.dir.join(format!("{}.log", self.name));
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

pub fn repo(path: &str) -> PathBuf {
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

fn loopback() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}

/// Whether `program` runs (`version` are the arguments that print its version).
pub fn binary(program: &str, version: &[&str], install: &str) -> bool {
    let found = Command::new(program)
        .args(version)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    present(program, found, install)
}

/// Outside CI a missing gateway skips its test; with `CI` set it fails it.
pub fn present(what: &str, found: bool, install: &str) -> bool {
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is required in CI (.ci/run installs it: {install})"
    );
    eprintln!("SKIPPED: {what} not installed ({install})");
    false
}

/// An example file with each `(from, to)` replaced; every `from` must occur, so a change
/// to the example's shape fails here rather than testing a gateway on the wrong ports.
fn render(path: &str, replace: &[(&str, String)]) -> String {
    let mut text = std::fs::read_to_string(repo(path)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{path} no longer contains {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// The headers-more module nginx loads for `more_clear_input_headers`, if installed.
pub fn nginx_headers_more() -> Option<PathBuf> {
    let out = Command::new("nginx").arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let modules = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--modules-path="))
        .unwrap_or("/usr/lib/nginx/modules");
    let module = Path::new(modules).join("ngx_http_headers_more_filter_module.so");
    module.exists().then_some(module)
}

/// nginx from `deploy/nginx/tokengate.conf.template`, rendered as its header says, in a
/// main config of the test's own that loads headers-more as Debian's package does.
pub fn nginx(tokengate: SocketAddr, upstream: SocketAddr, module: &Path) -> Gateway {
    let dir = temp_dir("nginx");
    let addr = loopback();
    let site = render(
        "deploy/nginx/tokengate.conf.template",
        &[
            ("${LISTEN}", addr.to_string()),
            ("${TOKENGATE}", tokengate.to_string()),
            ("${UPSTREAM}", upstream.to_string()),
        ],
    );
    std::fs::write(dir.join("tokengate.conf"), site).unwrap();
    let (d, m) = (dir.display(), module.display());
    let main = format!(
        "load_module {m};\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/tokengate.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let mut command = Command::new("nginx");
    command
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"));
    Gateway::spawn("nginx", addr, dir, &mut command)
}

/// Caddy from `deploy/caddy/Caddyfile` as it is, addresses given in the environment.
pub fn caddy(tokengate: SocketAddr, upstream: SocketAddr) -> Gateway {
    let dir = temp_dir("caddy");
    let addr = loopback();
    let mut command = Command::new("caddy");
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(repo("deploy/caddy/Caddyfile"))
        .env("GATEWAY_LISTEN", format!(":{}", addr.port()))
        .env("GATEWAY_BIND", "127.0.0.1")
        .env("TOKENGATE", tokengate.to_string())
        .env("UPSTREAM", upstream.to_string())
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir);
    Gateway::spawn("caddy", addr, dir, &mut command)
}

/// Traefik from `deploy/traefik/traefik.yaml` (static) and `dynamic.yaml`, with the
/// listen address, the dynamic file's path and the two service addresses replaced.
pub fn traefik(tokengate: SocketAddr, upstream: SocketAddr) -> Gateway {
    let dir = temp_dir("traefik");
    let addr = loopback();
    let dynamic = dir.join("dynamic.yaml");
    let text = render(
        "deploy/traefik/dynamic.yaml",
        &[
            ("http://127.0.0.1:8081/", format!("http://{tokengate}/")),
            ("http://127.0.0.1:3000", format!("http://{upstream}")),
        ],
    );
    std::fs::write(&dynamic, text).unwrap();
    let text = render(
        "deploy/traefik/traefik.yaml",
        &[
            ("address: \":8080\"", format!("address: \"{addr}\"")),
            (
                "filename: /etc/traefik/dynamic.yaml",
                format!("filename: {}", dynamic.display()),
            ),
        ],
    );
    std::fs::write(dir.join("traefik.yaml"), text).unwrap();
    let mut command = Command::new("traefik");
    command.arg(format!(
        "--configFile={}",
        dir.join("traefik.yaml").display()
    ));
    Gateway::spawn("traefik", addr, dir, &mut command)
}

/// The ports of an Envoy example: listener, tokengate's HTTP and gRPC ports, application.
pub fn envoy_ports(
    listen: SocketAddr,
    http: SocketAddr,
    grpc: SocketAddr,
    upstream: SocketAddr,
) -> Vec<(&'static str, String)> {
    let socket = |a: SocketAddr| format!("{{ address: 127.0.0.1, port_value: {} }}", a.port());
    vec![
        ("{ address: 0.0.0.0, port_value: 8080 }", socket(listen)),
        ("{ address: 127.0.0.1, port_value: 8081 }", socket(http)),
        ("uri: http://127.0.0.1:8081", format!("uri: http://{http}")),
        ("{ address: 127.0.0.1, port_value: 9191 }", socket(grpc)),
        ("{ address: 127.0.0.1, port_value: 3000 }", socket(upstream)),
    ]
}

/// Envoy from `deploy/envoy/<file>` with the ports of [`envoy_ports`] that occur in it,
/// then `adjust`ed (the identity for the examples as shipped).
pub fn envoy(
    name: &'static str,
    file: &str,
    ports: impl Fn(SocketAddr) -> Vec<(&'static str, String)>,
    adjust: impl Fn(String) -> String,
) -> Gateway {
    let dir = temp_dir(name);
    let addr = loopback();
    let path = format!("deploy/envoy/{file}");
    let original = std::fs::read_to_string(repo(&path)).unwrap();
    let used: Vec<(&str, String)> = ports(addr)
        .into_iter()
        .filter(|(from, _)| original.contains(from))
        .collect();
    assert!(
        used.iter().any(|(from, _)| from.contains("8080")),
        "{path}: no listener on 0.0.0.0:8080"
    );
    let config = adjust(render(&path, &used));
    std::fs::write(dir.join("envoy.yaml"), config).unwrap();
    let mut command = Command::new("envoy");
    command.arg("-c").arg(dir.join("envoy.yaml")).args([
        "--disable-hot-restart",
        "--concurrency",
        "1",
        "-l",
        "warning",
    ]);
    Gateway::spawn(name, addr, dir, &mut command)
}
