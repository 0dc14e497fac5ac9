//! The spoof battery every shipped gateway example must pass: a client cannot change the
//! request tokengate judges (forwarded URI, method, host, proto), cannot hand the
//! application an identity of its own (any case, `_`/`.` aliases), and cannot reach a
//! protected path by encoding it. "Reached" is read off the echo upstream's record.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::harness::{bearer, get_with, try_request, Reply};
use crate::launch::Gateway;
use crate::paths::{app_view, protected};
use crate::recorder::{Recorder, Seen};
use crate::Scene;

/// One request through the gateway and what each hop received meanwhile.
struct Exchange {
    reply: Reply,
    upstream: Vec<Arc<Seen>>,
    checks: Vec<Arc<Seen>>,
}

/// Runs every case, collecting failures, and fails once with all of them.
pub fn run(scene: &Scene, gateway: &Gateway, tap: Option<&Recorder>) {
    let (up, checks) = (scene.upstream.count(), tap.map_or(0, Recorder::count));
    let mut b = Battery {
        scene,
        gateway,
        tap,
        failures: Vec::new(),
    };
    b.forwarded_headers_without_a_token();
    b.forwarded_headers_with_a_token_lacking_the_group();
    b.identity_headers_in_every_spelling();
    b.encoded_and_dot_segment_paths();
    b.admin_token_passes_with_tokengate_identity();
    b.refusals_carry_tokengate_status();
    // Not vacuous: the upstream (and the tap, where there is one) saw requests.
    assert!(
        scene.upstream.count() > up,
        "{}: no request reached the upstream",
        gateway.name
    );
    if let Some(tap) = tap {
        assert!(
            tap.count() > checks,
            "{}: no check went through the tap",
            gateway.name
        );
    }
    assert!(
        b.failures.is_empty(),
        "{}: {} spoof battery failures:\n  {}\n--- gateway log ---\n{}",
        gateway.name,
        b.failures.len(),
        b.failures.join("\n  "),
        gateway.log()
    );
}

struct Battery<'a> {
    scene: &'a Scene,
    gateway: &'a Gateway,
    tap: Option<&'a Recorder>,
    failures: Vec<String>,
}

const SPOOFED_URI: &[&[&str]] = &[
    &["X-Forwarded-Uri: /public/x"],
    &["X-Original-URI: /public/x"],
    &["X-Forwarded-Uri: /public/x", "X-Original-URI: /public/x"],
    &[
        "X-Forwarded-Uri: /public/x",
        "X-Original-URI: /public/x",
        "X-Forwarded-Method: GET",
        "X-Forwarded-Host: public.example",
        "X-Forwarded-Proto: https",
    ],
];

/// Client-sent identity headers; no value may reach the upstream.
const SPOOFED_IDENTITY: &[&str] = &[
    "X-Auth-Sub: spoofed-sub",
    "x_auth_sub: spoofed-underscore",
    "x.auth.sub: spoofed-dot",
    "X-AUTH-GROUPS: spoofed-groups",
    "X_Auth_Groups: spoofed-groups-underscore",
    "x-auth_groups: spoofed-groups-mixed",
    "x-auth-tenant: spoofed-tenant",
    "X-Auth-Claims: spoofed-claims",
    "x.auth.claims: spoofed-claims-dot",
    "X-Auth-Email: spoofed@example.com",
];

/// Paths that are `/admin/secret` to some reader once decoded or resolved.
const TRICKY_PATHS: &[&str] = &[
    "/public/../admin/secret",
    "/public/./../admin/secret",
    "/public/%2e%2e/admin/secret",
    "/public/%2E%2E/admin/secret",
    "/public/..%2Fadmin/secret",
    "/public%2F..%2Fadmin/secret",
    "/public/..%5Cadmin/secret",
    "/public/..;/admin/secret",
    "/%61dmin/secret",
    "/%2561dmin/secret",
    "/admin%2Fsecret",
    "/admin;x=y/secret",
    "//admin/secret",
    "/ADMIN/secret",
];

impl Battery<'_> {
    fn send(&self, method: &str, path: &str, headers: &[&str]) -> Exchange {
        let (up, checks) = (
            self.scene.upstream.count(),
            self.tap.map_or(0, Recorder::count),
        );
        let raw = get_with(path, headers).replacen("GET", method, 1);
        let reply = try_request(self.gateway.addr, &raw).unwrap_or_else(|_| Reply {
            status: 0,
            headers: BTreeMap::new(),
            body: Vec::new(),
        });
        Exchange {
            reply,
            upstream: self.scene.upstream.since(up),
            checks: self.tap.map_or_else(Vec::new, |t| t.since(checks)),
        }
    }

    fn fail(&mut self, case: &str, request: &str, what: String) {
        self.failures.push(format!("({case}) {request}: {what}"));
    }

    /// No request the client could not make with the right token reached the application;
    /// every check tokengate got described this request, whatever the client claimed.
    fn judge(&mut self, case: &str, method: &str, path: &str, x: &Exchange, allowed: bool) {
        let request = format!("{method} {path}");
        if !allowed {
            if x.reply.status == 200 {
                self.fail(case, &request, "answered 200".into());
            }
            for seen in &x.upstream {
                if protected(&seen.method, &seen.path) {
                    let what = format!("upstream reached: {} {}", seen.method, seen.path);
                    self.fail(case, &request, what);
                }
            }
        }
        for check in &x.checks {
            for problem in check_problems(check, method, path) {
                self.fail(case, &request, format!("tokengate was asked: {problem}"));
            }
        }
    }

    /// (a) No token; forwarded URI/method/host/proto headers name a public request.
    fn forwarded_headers_without_a_token(&mut self) {
        for path in ["/admin/secret", "/app/data"] {
            for spoof in SPOOFED_URI {
                let x = self.send("GET", path, spoof);
                self.judge("a", "GET", path, &x, false);
            }
        }
        let spoof = ["X-Forwarded-Method: GET", "X-Forwarded-Uri: /reports/1"];
        let x = self.send("DELETE", "/reports/1", &spoof);
        self.judge("a", "DELETE", "/reports/1", &x, false);
    }

    /// (b) A valid token without the admin group, forwarded headers naming a public path.
    fn forwarded_headers_with_a_token_lacking_the_group(&mut self) {
        let bob = bearer(&self.scene.token("bob", &[]));
        for spoof in SPOOFED_URI {
            let headers: Vec<&str> = spoof.iter().copied().chain([bob.as_str()]).collect();
            let x = self.send("GET", "/admin/secret", &headers);
            self.judge("b", "GET", "/admin/secret", &x, false);
            if x.reply.status != 403 {
                let what = format!("{} instead of 403", x.reply.status);
                self.fail("b", "GET /admin/secret", what);
            }
        }
        let headers = [bob.as_str(), "X-Forwarded-Method: GET"];
        let x = self.send("DELETE", "/reports/1", &headers);
        self.judge("b", "DELETE", "/reports/1", &x, false);
    }

    /// (c) A valid admin token and identity headers of the client's own in every spelling:
    /// the application sees exactly tokengate's identity headers.
    fn identity_headers_in_every_spelling(&mut self) {
        let alice = bearer(&self.scene.token("alice", &["admin"]));
        let expected = self.scene.identity(&alice, "/admin/reports");
        let headers: Vec<&str> = [alice.as_str()]
            .into_iter()
            .chain(SPOOFED_IDENTITY.iter().copied())
            .collect();
        for path in ["/admin/reports", "/public/page"] {
            let x = self.send("GET", path, &headers);
            self.judge("c", "GET", path, &x, true);
            let request = format!("GET {path}");
            if x.reply.status != 200 || x.upstream.len() != 1 {
                let what = format!(
                    "{} with {} upstream requests",
                    x.reply.status,
                    x.upstream.len()
                );
                self.fail("c", &request, what);
                continue;
            }
            // A public route carries no identity at all.
            let want = if path.starts_with("/public") {
                BTreeMap::new()
            } else {
                expected.clone()
            };
            for problem in identity_problems(&x.upstream[0], &want) {
                self.fail("c", &request, problem);
            }
        }
    }

    /// (d) Encoded, dot-segment and parameter paths, without a token and with one lacking
    /// the group: the protected path is never reached.
    fn encoded_and_dot_segment_paths(&mut self) {
        let bob = bearer(&self.scene.token("bob", &[]));
        for path in TRICKY_PATHS {
            for headers in [&[][..], &[bob.as_str()][..]] {
                let x = self.send("GET", path, headers);
                // 200 is fine if what the application got is not protected.
                self.judge("d", "GET", path, &x, true);
                for seen in &x.upstream {
                    if protected(&seen.method, &seen.path) {
                        let what = format!("upstream reached: {}", seen.path);
                        self.fail("d", &format!("GET {path}"), what);
                    }
                }
            }
        }
    }

    /// (e) A valid admin token: 200, the application gets the request as sent (method,
    /// path, query) with tokengate's identity.
    fn admin_token_passes_with_tokengate_identity(&mut self) {
        let alice = bearer(&self.scene.token("alice", &["admin"]));
        let expected = self.scene.identity(&alice, "/admin/reports");
        for (method, path) in [("GET", "/admin/reports?x=1"), ("DELETE", "/reports/1")] {
            let x = self.send(method, path, &[alice.as_str()]);
            self.judge("e", method, path, &x, true);
            let request = format!("{method} {path}");
            match (x.reply.status, x.upstream.as_slice()) {
                (200, [seen]) => {
                    if seen.method != method || seen.path != path {
                        let what = format!("upstream got {} {}", seen.method, seen.path);
                        self.fail("e", &request, what);
                    }
                    for problem in identity_problems(seen, &expected) {
                        self.fail("e", &request, problem);
                    }
                }
                (status, seen) => {
                    let what = format!("{status} with {} upstream requests", seen.len());
                    self.fail("e", &request, what);
                }
            }
        }
    }

    /// (f) Refusals reach the client with tokengate's status and challenge.
    fn refusals_carry_tokengate_status(&mut self) {
        let x = self.send("GET", "/app/x", &[]);
        let challenge = x.reply.header("www-authenticate").unwrap_or_default();
        if x.reply.status != 401 || challenge != r#"Bearer realm="tokengate""# {
            let what = format!("{} with WWW-Authenticate {challenge:?}", x.reply.status);
            self.fail("f", "GET /app/x", what);
        }
        let x = self.send("GET", "/app/x", &["Authorization: Bearer not.a.jwt"]);
        let challenge = x.reply.header("www-authenticate").unwrap_or_default();
        if x.reply.status != 401 || !challenge.contains("invalid_token") {
            let what = format!("{} with WWW-Authenticate {challenge:?}", x.reply.status);
            self.fail("f", "GET /app/x (bad token)", what);
        }
    }
}

/// Beyond the the reference's `_` and `.`: an identity header spelled with another separator HTTP
/// allows in a name (`X!Auth!Sub`, which CGI also reads as `HTTP_X_AUTH_SUB`) does not
/// reach the upstream either. Only for the examples that claim it (README).
pub fn other_separators_removed(scene: &Scene, gateway: &Gateway) {
    let alice = bearer(&scene.token("alice", &["admin"]));
    let n = scene.upstream.count();
    let headers = [
        alice.as_str(),
        "X!Auth!Sub: spoofed-bang",
        "x~auth~groups: spoofed-tilde",
    ];
    let r = try_request(gateway.addr, &get_with("/admin/reports", &headers)).unwrap();
    assert_eq!(r.status, 200, "{}", gateway.name);
    for seen in scene.upstream.since(n) {
        for (name, value) in &seen.headers {
            assert!(
                !value.contains("spoofed"),
                "{}: upstream got {name}: {value}",
                gateway.name
            );
        }
    }
}

/// What tokengate was told about the original request that was not the gateway's own view
/// of the request the client sent (`method path` on its request line, host `test.local`).
fn check_problems(check: &Seen, method: &str, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |name: &str, ok: &dyn Fn(&str) -> bool| {
        let values = check.values(name);
        if values.len() > 1 || values.iter().any(|v| !ok(v)) {
            problems.push(format!("{name}: {values:?}"));
        }
    };
    expect("x-forwarded-uri", &|v| app_view(v) == app_view(path));
    expect("x-original-uri", &|v| app_view(v) == app_view(path));
    expect("x-forwarded-method", &|v| v == method);
    expect("x-forwarded-host", &|v| v == "test.local");
    expect("x-forwarded-proto", &|v| v == "http");
    // Both URI headers, if sent, say the same (reference section 5: two that differ -> 400).
    let (forwarded, original) = (
        check.values("x-forwarded-uri"),
        check.values("x-original-uri"),
    );
    if !forwarded.is_empty() && !original.is_empty() && forwarded != original {
        problems.push(format!(
            "x-forwarded-uri {forwarded:?} but x-original-uri {original:?}"
        ));
    }
    problems
}

/// Differences between the identity headers the upstream got (any spelling that folds to
/// `x-auth-*`) and tokengate's own answer (`want`, names lower-case, empty values left out).
fn identity_problems(seen: &Seen, want: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut got: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, value) in &seen.headers {
        let folded = name.to_ascii_lowercase().replace(['_', '.'], "-");
        if value.contains("spoofed") {
            problems.push(format!("upstream got the client's {name}: {value}"));
        }
        if !folded.starts_with("x-auth-") || value.is_empty() {
            continue;
        }
        if *name != folded {
            problems.push(format!("upstream got an alias {name}: {value}"));
        }
        got.entry(folded).or_default().push(value);
    }
    for (name, values) in &got {
        match want.get(name) {
            Some(v) if values.as_slice() == [v.as_str()] => {}
            Some(v) => problems.push(format!("{name}: {values:?}, tokengate said {v:?}")),
            None => problems.push(format!("{name}: {values:?}, tokengate sent none")),
        }
    }
    for name in want.keys().filter(|n| !got.contains_key(*n)) {
        problems.push(format!("{name} from tokengate did not reach the upstream"));
    }
    problems
}
