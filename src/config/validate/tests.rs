//! The validator's unit tests: defaults, key paths of every kind of problem, and the
//! sections' rules, each driven through `load_str` as a user's file would be.

use std::path::Path;
use std::time::Duration;

use http::Method;

use super::load_str;
use crate::config::problem::ConfigError;
use crate::config::{
    Alg, AuthMode, AuthorizationForward, Config, IssuerKind, LogFormat, PathMatch, TokenSource,
    TokenUse,
};

fn no_env(_: &str) -> Option<String> {
    None
}

const MINIMAL: &str = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_AbC123 }\n    client_ids: [abc]\n";

fn load(extra: &str) -> Result<Config, ConfigError> {
    load_str(&format!("{MINIMAL}{extra}"), &no_env)
}

fn paths(extra: &str) -> Vec<String> {
    load(extra)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| p.path)
        .collect()
}

#[test]
fn a_minimal_file_gets_every_default() {
    let c = load("").unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9901");
    assert_eq!(c.server.max_header_bytes, 16384);
    assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.server.idle_timeout, Duration::from_secs(60));
    assert_eq!(c.server.max_connections, 10000);
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(20));
    assert_eq!(
        c.upstream.as_ref().unwrap().connect_timeout,
        Duration::from_secs(2)
    );
    assert_eq!(
        c.upstream.as_ref().unwrap().timeout,
        Duration::from_secs(30)
    );
    assert!(!c.upstream.as_ref().unwrap().http2);
    assert_eq!(c.jwks.refresh_interval, Duration::from_secs(3600));
    assert_eq!(c.jwks.min_refresh_interval, Duration::from_secs(30));
    assert_eq!(c.jwks.fetch_timeout, Duration::from_secs(5));
    assert_eq!(c.jwks.max_bytes, 1_048_576);
    assert!(!c.jwks.allow_http);
    assert_eq!(c.token.sources, vec![TokenSource::Header]);
    assert_eq!(c.token.max_bytes, 8192);
    assert_eq!(c.token.cache_entries, 65536);
    assert_eq!(c.token.cache_max_bytes, 64 << 20);
    assert_eq!(c.forward.header_prefix, "x-auth-");
    assert_eq!(c.forward.claims_header.as_ref().unwrap(), "x-auth-claims");
    assert_eq!(c.forward.authorization, AuthorizationForward::Keep);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.log.level, "info");
    assert!(c.log.access_log);
    let i = &c.issuers[0];
    assert_eq!(
        i.issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
    );
    assert_eq!(
        i.jwks_uri.to_string(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json"
    );
    assert_eq!(i.algorithms, vec![Alg::RS256]);
    assert_eq!(i.clock_skew, Duration::ZERO);
    assert!(
        matches!(&i.kind, IssuerKind::Cognito { token_use, .. } if token_use == &vec![TokenUse::Access])
    );
    assert_eq!(c.routes.len(), 1);
    assert_eq!(c.routes[0].name, "0");
    assert_eq!(c.routes[0].path, PathMatch::Prefix("/".into()));
    assert_eq!(c.routes[0].auth, AuthMode::Required);
}

#[test]
fn environment_variables_are_expanded_through_the_injected_lookup() {
    let env = |name: &str| (name == "POOL").then(|| "us-east-1_Env1".to_owned());
    let text = "upstream: { url: 'http://127.0.0.1:${PORT:-3000}' }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: '${POOL}' }\n    client_ids: [abc]\nserver: { max_connections: '${MAXC:-7}' }\n";
    let c = load_str(text, &env).unwrap();
    assert_eq!(c.upstream.as_ref().unwrap().url.port_u16(), Some(3000));
    assert!(c.issuers[0].issuer.ends_with("us-east-1_Env1"));
    assert_eq!(c.server.max_connections, 7);
    let e = load_str(text, &no_env).unwrap_err();
    assert_eq!(e.problems[0].path, "issuers[0].cognito.user_pool_id");
    assert!(e.problems[0].message.contains("POOL"));
}

#[test]
fn unknown_keys_in_several_sections_are_reported_together() {
    let p = paths("server: { lisen: x, listen: bad }\ntoken: { sorces: [header] }\nextra: 1\n");
    assert!(p.contains(&"server.lisen".to_owned()));
    assert!(p.contains(&"server.listen".to_owned()));
    assert!(p.contains(&"token.sorces".to_owned()));
    assert!(p.contains(&"extra".to_owned()));
}

#[test]
fn cognito_client_ids_must_not_be_empty() {
    let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_A1 }\n    client_ids: []\n";
    let e = load_str(text, &no_env).unwrap_err();
    assert_eq!(
        e.problems[0].to_string(),
        "issuers[0].client_ids: must not be empty"
    );
}

#[test]
fn issuer_rules_are_checked_with_their_paths() {
    let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: Main!\n    cognito: { region: us-east-1, user_pool_id: eu-west-1_A1, issuer: http://x }\n    client_ids: [a]\n  - name: gen\n    issuer: https://idp.example.com\n    token_use: [id]\n  - name: both\n    issuer: https://a\n    cognito: { issuer: https://a }\n  - name: remote\n    issuer: https://b\n    audiences: [x]\n    jwks_uri: http://keys.example.com/jwks.json\n    algorithms: [HS256, none, RS1]\n";
    let e = load_str(text, &no_env).unwrap_err();
    let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "issuers[0].name",
        "issuers[0].cognito",
        "issuers[1].audiences",
        "issuers[1].token_use",
        "issuers[2]",
        "issuers[3].jwks_uri",
        "issuers[3].algorithms[0]",
        "issuers[3].algorithms[1]",
        "issuers[3].algorithms[2]",
    ] {
        assert!(p.contains(&expected), "{expected} missing from {p:?}");
    }
}

#[test]
fn http_jwks_is_allowed_on_loopback_or_with_allow_http() {
    let gen = |uri: &str, allow: bool| {
        format!("upstream: {{ url: http://127.0.0.1:3000 }}\njwks: {{ allow_http: {allow} }}\nissuers:\n  - name: g\n    issuer: https://idp\n    audiences: [a]\n    jwks_uri: {uri}\n")
    };
    assert!(load_str(&gen("http://127.0.0.1:5000/k", false), &no_env).is_ok());
    assert!(load_str(&gen("http://localhost:5000/k", false), &no_env).is_ok());
    assert!(load_str(&gen("http://[::1]:5000/k", false), &no_env).is_ok());
    assert!(load_str(&gen("http://keys.internal/k", false), &no_env).is_err());
    assert!(load_str(&gen("http://keys.internal/k", true), &no_env).is_ok());
    assert!(load_str(&gen("ftp://keys/k", true), &no_env).is_err());
}

#[test]
fn cognito_issuers_accept_audiences_for_resource_binding() {
    let c = load("").unwrap();
    assert!(
        matches!(&c.issuers[0].kind, IssuerKind::Cognito { audiences, .. } if audiences.is_empty())
    );
    let text = MINIMAL.replace(
        "client_ids: [abc]",
        "client_ids: [abc]\n    audiences: ['https://api.example.com', 'urn:orders']",
    );
    let c = load_str(&text, &no_env).unwrap();
    assert!(matches!(
        &c.issuers[0].kind,
        IssuerKind::Cognito { audiences, .. } if audiences == &["https://api.example.com", "urn:orders"]
    ));
    let text = MINIMAL.replace("client_ids: [abc]", "client_ids: [abc]\n    audiences: []");
    assert!(load_str(&text, &no_env).is_ok(), "empty: not judged");
    let text = MINIMAL.replace(
        "client_ids: [abc]",
        "client_ids: [abc]\n    audiences: [a, '']",
    );
    let e = load_str(&text, &no_env).unwrap_err();
    assert_eq!(e.problems[0].path, "issuers[0].audiences");
}

#[test]
fn duplicate_issuer_names_and_urls_are_refused() {
    let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - { name: a, issuer: 'https://x', audiences: [a] }\n  - { name: a, issuer: 'https://x', audiences: [a] }\n";
    let p: Vec<String> = load_str(text, &no_env)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| p.path)
        .collect();
    assert_eq!(p, ["issuers[1].name", "issuers[1]"]);
}

#[test]
fn route_rules_are_checked_with_their_paths() {
    let p = paths("routes:\n  - match: { path_prefix: /a, path: /b }\n  - match: { path_prefix: /x/../y }\n  - match: { path: /ok, methods: [GET, 'BAD METHOD'] }\n    auth: maybe\n  - match: { path_prefix: /pub }\n    auth: none\n    require: { groups_any: [a] }\n  - name: dup\n    match: { path: /1 }\n  - name: dup\n    match: { path: /2 }\n    require: { token_use: [refresh] }\n");
    for expected in [
        "routes[0].match",
        "routes[1].match.path_prefix",
        "routes[2].match.methods[1]",
        "routes[2].auth",
        "routes[3].require",
        "routes[5].name",
        "routes[5].require.token_use[0]",
    ] {
        assert!(
            p.contains(&expected.to_owned()),
            "{expected} missing from {p:?}"
        );
    }
}

#[test]
fn routes_are_stored_normalized_with_names_and_requirements() {
    let c = load("routes:\n  - match: { path_prefix: /admin/, methods: [get] }\n    require: { groups_any: [admin], claims: { 'custom:tenant': [acme] } }\n  - name: rest\n    match: { path: / }\n    auth: optional\n").unwrap();
    assert_eq!(c.routes[0].name, "0");
    assert_eq!(c.routes[0].path, PathMatch::Prefix("/admin".into()));
    assert_eq!(c.routes[0].methods, Some(vec![Method::GET]));
    assert_eq!(c.routes[0].require.groups_any, ["admin"]);
    assert_eq!(c.routes[0].require.claims[0].0, "custom:tenant");
    assert_eq!(c.routes[1].name, "rest");
    assert_eq!(c.routes[1].auth, AuthMode::Optional);
}

#[test]
fn claim_names_may_be_json_pointers_and_values_are_normalised_to_text() {
    let c = load("routes:\n  - match: { path_prefix: / }\n    require: { claims: { level: [5, '6'], beta: [true], ratio: [0.5], '/identities/0/providerName': [Google], '/a~1b~0c': [x] } }\n").unwrap();
    let claims = &c.routes[0].require.claims;
    let find = |name: &str| {
        claims
            .iter()
            .find(|(claim, _)| *claim == name)
            .map(|(claim, values)| (claim.is_pointer(), values.clone()))
            .unwrap_or_else(|| panic!("{name} missing from {claims:?}"))
    };
    assert_eq!(find("level"), (false, vec!["5".to_owned(), "6".to_owned()]));
    assert_eq!(find("beta"), (false, vec!["true".to_owned()]));
    assert_eq!(find("ratio"), (false, vec!["0.5".to_owned()]));
    assert_eq!(
        find("/identities/0/providerName"),
        (true, vec!["Google".to_owned()])
    );
    assert_eq!(find("/a~1b~0c"), (true, vec!["x".to_owned()]));
}

#[test]
fn bad_claim_pointers_and_values_are_refused_with_their_key_paths() {
    let e = load("routes:\n  - match: { path_prefix: / }\n    require: { claims: { '/identities/~2': [x], 'custom:tenant': [acme, null, {a: b}], empty: [], '/ok~': [y] } }\nforward: { headers: { x-idp: '/identities/0/provider~Name' } }\n").unwrap_err();
    let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        p,
        [
            "routes[0].require.claims./identities/~2",
            "routes[0].require.claims./ok~",
            "routes[0].require.claims.custom:tenant[1]",
            "routes[0].require.claims.custom:tenant[2]",
            "routes[0].require.claims.empty",
            "forward.headers.x-idp",
        ]
    );
    assert!(e.problems[0].message.contains("RFC 6901"), "{e}");
    // A name that does not start with `/` is a top-level claim: `~` is just a character.
    assert!(load(
        "routes:\n  - match: { path_prefix: / }\n    require: { claims: { 'a~2': [x] } }\n"
    )
    .is_ok());
}

#[test]
fn scopes_are_single_non_empty_words() {
    let c = load("routes:\n  - match: { path_prefix: / }\n    require: { scopes_any: [orders/read, orders/write], scopes_all: [openid] }\n").unwrap();
    assert_eq!(
        c.routes[0].require.scopes_any,
        ["orders/read", "orders/write"]
    );
    assert_eq!(c.routes[0].require.scopes_all, ["openid"]);
    let p = paths("routes:\n  - match: { path_prefix: / }\n    require: { scopes_any: [ok, 'a b', ''], scopes_all: [' x'] }\n");
    assert_eq!(
        p,
        [
            "routes[0].require.scopes_all[0]",
            "routes[0].require.scopes_any[1]",
            "routes[0].require.scopes_any[2]",
        ]
    );
}

#[test]
fn token_sources_are_parsed_and_checked() {
    let c = load("token: { sources: ['cookie:id', 'query:t', header] }\n").unwrap();
    assert_eq!(
        c.token.sources,
        vec![
            TokenSource::Cookie("id".into()),
            TokenSource::Query("t".into()),
            TokenSource::Header
        ]
    );
    let p = paths("token: { sources: ['cookie:', bearer, header, header] }\n");
    assert_eq!(
        p,
        ["token.sources[0]", "token.sources[1]", "token.sources[3]"]
    );
}

#[test]
fn a_named_token_header_is_a_valid_header_a_client_can_send() {
    let c = load("token: { sources: ['header:X-Api-Token', header, 'cookie:id'] }\n").unwrap();
    assert_eq!(
        c.token.sources,
        vec![
            TokenSource::NamedHeader(http::HeaderName::from_static("x-api-token")),
            TokenSource::Header,
            TokenSource::Cookie("id".into()),
        ]
    );
    let e = load("token: { sources: ['header:', 'header:bad name', 'header:Authorization', 'header:cookie', 'header:connection', 'header:host', 'header:x-t', 'header:X-T'] }\n").unwrap_err();
    let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        p,
        [
            "token.sources[0]",
            "token.sources[1]",
            "token.sources[2]",
            "token.sources[3]",
            "token.sources[4]",
            "token.sources[5]",
            "token.sources[7]",
        ]
    );
    let text = e.to_string();
    assert!(text.contains("use `header` for Authorization"), "{text}");
    assert!(text.contains("use `cookie:NAME`"), "{text}");
    assert!(text.contains("duplicate source"), "{text}");
}

#[test]
fn durations_are_parsed_and_bad_ones_reported() {
    let c = load("server: { header_read_timeout: 500ms, shutdown_grace: 5m }\njwks: { refresh_interval: 2h }\n").unwrap();
    assert_eq!(c.server.header_read_timeout, Duration::from_millis(500));
    assert_eq!(c.server.shutdown_grace, Duration::from_secs(300));
    assert_eq!(c.jwks.refresh_interval, Duration::from_secs(7200));
    let p = paths("server: { idle_timeout: soon }\njwks: { refresh_interval: 10s, min_refresh_interval: 1m, fetch_timeout: 0s }\n");
    assert_eq!(
        p,
        [
            "server.idle_timeout",
            "jwks.min_refresh_interval",
            "jwks.fetch_timeout"
        ]
    );
}

#[test]
fn forward_rules_are_checked() {
    let c = load("forward: { header_prefix: X-User-, claims_header: '', authorization: strip, headers: { x-tenant: 'custom:tenant' } }\n").unwrap();
    assert_eq!(c.forward.header_prefix, "x-user-");
    assert!(c.forward.claims_header.is_none());
    assert_eq!(c.forward.authorization, AuthorizationForward::Strip);
    assert_eq!(c.forward.headers[0].0, "x-tenant");
    let p = paths(
        "forward: { authorization: drop, headers: { host: sub, 'bad header': sub, x-ok: '' } }\n",
    );
    assert_eq!(
        p,
        [
            "forward.authorization",
            "forward.headers.bad header",
            "forward.headers.host",
            "forward.headers.x-ok"
        ]
    );
}

#[test]
fn forward_headers_may_not_name_a_header_tokengate_keeps_for_itself() {
    // The validator reads the runtime's one reserved list: before, `x-forwarded-for` was
    // accepted and the upstream saw the client address appended to a claim value.
    let p = paths(
        "forward: { headers: { x-forwarded-for: sub, X_Forwarded_Host: sub, x.forwarded.proto: sub, forwarded: sub, keep-alive: sub, content-length: sub, x-auth-sub: sub, x-auth-claims: sub, x-tenant: 'custom:tenant', x_tenant: sub } }\n",
    );
    assert_eq!(
        p,
        [
            "forward.headers.X_Forwarded_Host",
            "forward.headers.content-length",
            "forward.headers.forwarded",
            "forward.headers.keep-alive",
            "forward.headers.x-auth-claims",
            "forward.headers.x-auth-sub",
            "forward.headers.x-forwarded-for",
            "forward.headers.x.forwarded.proto",
            "forward.headers.x_tenant",
        ]
    );
    let e = load("forward: { headers: { x-forwarded-for: sub } }\n").unwrap_err();
    assert!(e.to_string().contains("X-Forwarded"), "{e}");
    // The claims header is checked against the same list; the prefix is folded as hygiene
    // folds names, so `X_Auth_` makes `x-auth-sub`, not `x_auth_sub`.
    assert_eq!(
        paths("forward: { claims_header: host }\n"),
        ["forward.claims_header"]
    );
    let c = load("forward: { header_prefix: X_Auth_ }\n").unwrap();
    assert_eq!(c.forward.header_prefix, "x-auth-");
    assert_eq!(c.forward.claims_header.as_ref().unwrap(), "x-auth-claims");
}

#[test]
fn server_tls_needs_both_files_and_they_must_load() {
    let p = paths("server: { tls: { cert_file: '' } }\n");
    assert_eq!(p, ["server.tls.cert_file", "server.tls.key_file"]);
    let p =
        paths("server: { tls: { cert_file: /nonexistent/a.crt, key_file: /nonexistent/a.key } }\n");
    assert_eq!(p, ["server.tls.cert_file"]);
}

#[test]
fn upstream_is_required_and_must_be_http() {
    let e = load_str("issuers: []\n", &no_env).unwrap_err();
    let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(p, ["upstream", "issuers"]);
    let text = MINIMAL.replace("http://127.0.0.1:3000", "'ftp://x?y=1'");
    assert_eq!(
        load_str(&text, &no_env).unwrap_err().problems[0].path,
        "upstream.url"
    );
}

#[test]
fn broken_yaml_and_non_mappings_are_one_clear_problem() {
    assert!(load_str("a: [", &no_env).unwrap_err().problems[0]
        .message
        .starts_with("not valid YAML"));
    assert_eq!(
        load_str("- 1\n- 2\n", &no_env).unwrap_err().problems.len(),
        1
    );
}

#[test]
fn key_lifecycle_settings_are_parsed_and_checked() {
    let c = load("jwks: { cache_dir: /var/cache/tokengate, max_stale: 2h }\n").unwrap();
    assert_eq!(
        c.jwks.cache_dir.as_deref(),
        Some(Path::new("/var/cache/tokengate"))
    );
    assert_eq!(c.jwks.max_stale, Some(Duration::from_secs(7200)));
    let p = paths("jwks: { max_stale: 30m, cache_dir: '', ca_file: /nonexistent/ca.pem }\n");
    assert_eq!(p, ["jwks.max_stale", "jwks.cache_dir", "jwks.ca_file"]);
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/README.md");
    let p = paths(&format!("jwks: {{ ca_file: '{ca}' }}\n"));
    assert_eq!(p, ["jwks.ca_file"], "a file without a certificate");
}

#[test]
fn token_cache_max_bytes_must_be_at_least_one_mib() {
    let e = load("token: { cache_max_bytes: 1048575 }\n").unwrap_err();
    assert_eq!(e.problems[0].path, "token.cache_max_bytes");
    assert_eq!(e.problems[0].message, "must be at least 1048576 (1 MiB)");
    let c = load("token: { cache_max_bytes: 1048576 }\n").unwrap();
    assert_eq!(c.token.cache_max_bytes, 1 << 20);
}

#[test]
fn max_header_bytes_must_be_at_least_1024() {
    let e = load("server: { max_header_bytes: 1023 }\n").unwrap_err();
    assert_eq!(e.problems[0].path, "server.max_header_bytes");
    assert_eq!(e.problems[0].message, "must be at least 1024");
    assert_eq!(e.problems.len(), 1);
    let c = load("server: { max_header_bytes: 1024 }\n").unwrap();
    assert_eq!(c.server.max_header_bytes, 1024);
}

/// A PEM file of `label` whose base64 is valid but whose content is not a certificate
/// or key.
fn garbage_pem(name: &str, label: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tokengate-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "-----BEGIN {label}-----\nZ2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2U=\n-----END {label}-----\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn every_pem_file_must_hold_a_valid_item_of_its_kind() {
    let ca = garbage_pem("ca.pem", "CERTIFICATE");
    let e = load(&format!("jwks: {{ ca_file: '{ca}' }}\n")).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].path, "jwks.ca_file");
    let text = MINIMAL.replace(
        "http://127.0.0.1:3000",
        &format!("https://127.0.0.1:3000, ca_file: '{ca}'"),
    );
    let e = load_str(&text, &no_env).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].path, "upstream.ca_file");

    // A good pair, then each file swapped for a garbage one.
    let dir = std::env::temp_dir().join(format!("tokengate-pem-{}", std::process::id()));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (crt, pem_key) = (dir.join("good.crt"), dir.join("good.key"));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&pem_key, key.serialize_pem()).unwrap();
    let tls =
        |c: &str, k: &str| format!("server: {{ tls: {{ cert_file: '{c}', key_file: '{k}' }} }}\n");
    let (crt, pem_key) = (crt.display().to_string(), pem_key.display().to_string());
    assert!(load(&tls(&crt, &pem_key)).is_ok());
    let bad_crt = garbage_pem("tls.crt", "CERTIFICATE");
    assert_eq!(paths(&tls(&bad_crt, &pem_key)), ["server.tls.cert_file"]);
    let bad_key = garbage_pem("tls.key", "PRIVATE KEY");
    assert_eq!(paths(&tls(&crt, &bad_key)), ["server.tls.key_file"]);
    // A key file holding a certificate (the wrong kind) is no key.
    assert_eq!(paths(&tls(&crt, &crt)), ["server.tls.key_file"]);
}

#[test]
fn cors_preflight_is_an_opt_in_for_auth_none_routes_without_methods() {
    let c = load("routes:\n  - { match: { path_prefix: /api, cors_preflight: true }, auth: none }\n  - { match: { path_prefix: /api } }\n").unwrap();
    assert!(c.routes[0].cors_preflight);
    assert!(!c.routes[1].cors_preflight);
    let c = load("routes:\n  - { match: { path_prefix: /api, cors_preflight: false } }\n").unwrap();
    assert!(!c.routes[0].cors_preflight);
    let e = load("routes:\n  - { match: { path_prefix: /api, cors_preflight: true, methods: [OPTIONS] }, auth: none }\n").unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].path, "routes[0].match.cors_preflight");
    assert!(e.problems[0].message.contains("methods"), "{e}");
    for auth in ["required", "optional"] {
        let e = load(&format!(
            "routes:\n  - {{ match: {{ path: /api, cors_preflight: true }}, auth: {auth} }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.problems[0].path, "routes[0].match.cors_preflight");
    }
    let e = load("routes:\n  - { match: { path: /api, cors_preflight: true } }\n").unwrap_err();
    assert_eq!(
        e.problems[0].path, "routes[0].match.cors_preflight",
        "default auth is required"
    );
}

const ALB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";

fn alb_file(alb: &str, rest: &str) -> String {
    format!("upstream: {{ url: http://127.0.0.1:3000 }}\nissuers:\n  - name: alb\n    alb: {alb}\n{rest}")
}

fn alb_paths(alb: &str, rest: &str) -> Vec<String> {
    load_str(&alb_file(alb, rest), &no_env)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| p.path)
        .collect()
}

#[test]
fn an_alb_issuer_gets_es256_and_the_key_url_of_its_region() {
    let c = load_str(
        &alb_file(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123' }}"),
            "    client_ids: [c1]\ntoken: { sources: [alb, header] }\n",
        ),
        &no_env,
    )
    .unwrap();
    let alb = &c.issuers[0];
    assert!(alb.is_alb());
    assert_eq!(alb.algorithms, [Alg::ES256]);
    assert_eq!(
        alb.jwks_uri.to_string(),
        "https://public-keys.auth.elb.us-east-1.amazonaws.com/"
    );
    assert!(
        matches!(&alb.kind, IssuerKind::Alb { arns, client_ids } if arns[0] == ALB_ARN && client_ids[0] == "c1")
    );
    assert_eq!(c.token.sources, [TokenSource::Alb, TokenSource::Header]);
    // GovCloud keys are in S3.
    let gov =
        "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/web/1";
    let c = load_str(
        &alb_file(
            &format!("{{ arns: ['{gov}'], issuer: i }}"),
            "    client_ids: [c1]\ntoken: { sources: [alb] }\n",
        ),
        &no_env,
    )
    .unwrap();
    assert_eq!(
        c.issuers[0].jwks_uri.to_string(),
        "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1"
    );
}

#[test]
fn alb_problems_have_their_key_paths() {
    let ok_rest = "    client_ids: [c1]\ntoken: { sources: [alb] }\n";
    assert_eq!(alb_paths("{ issuer: i }", ok_rest), ["issuers[0].alb.arns"]);
    assert_eq!(
        alb_paths(
            "{ arns: ['arn:aws:s3:::bucket', 'nope'], issuer: i }",
            ok_rest
        ),
        ["issuers[0].alb.arns[0]", "issuers[0].alb.arns[1]"]
    );
    assert_eq!(
        alb_paths(&format!("{{ arns: ['{ALB_ARN}'] }}"), ok_rest),
        ["issuers[0].alb.issuer"]
    );
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: i }}"),
            "token: { sources: [alb] }\n"
        ),
        ["issuers[0].client_ids"]
    );
    let west = ALB_ARN.replace("us-east-1", "eu-west-1");
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}', '{west}'], issuer: i }}"),
            ok_rest
        ),
        ["issuers[0].alb.arns"]
    );
    // Two regions with a key_url: fine.
    assert!(load_str(
        &alb_file(&format!("{{ arns: ['{ALB_ARN}', '{west}'], issuer: i, key_url: 'https://keys.example.com' }}"), ok_rest),
        &no_env
    )
    .is_ok());
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: i, key_url: 'http://keys.example.com' }}"),
            ok_rest
        ),
        ["issuers[0].alb.key_url"]
    );
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: i, typo: 1 }}"),
            ok_rest
        )
        .len(),
        1
    );
    assert_eq!(
        alb_paths(&format!("{{ arns: ['{ALB_ARN}'], issuer: i }}"), "    client_ids: [c1]\n    algorithms: [RS256]\n    audiences: [a]\ntoken: { sources: [alb] }\n"),
        ["issuers[0].audiences", "issuers[0].algorithms"]
    );
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: i }}\n    issuer: https://x"),
            ok_rest
        ),
        ["issuers[0]"]
    );
}

#[test]
fn the_alb_source_and_an_alb_issuer_come_together() {
    assert_eq!(
        alb_paths(
            &format!("{{ arns: ['{ALB_ARN}'], issuer: i }}"),
            "    client_ids: [c1]\n"
        ),
        ["issuers[0].alb"]
    );
    assert_eq!(
        paths("token: { sources: [header, alb] }\n"),
        ["token.sources[1]"]
    );
    assert_eq!(
        paths("token: { sources: ['header:x-amzn-oidc-data'] }\n"),
        ["token.sources[0]"]
    );
    assert_eq!(
        paths("forward: { headers: { x-amzn-oidc-identity: sub } }\n"),
        ["forward.headers.x-amzn-oidc-identity"]
    );
}

#[test]
fn an_alb_issuer_may_share_its_iss_with_the_user_pool_it_fronts() {
    let pool = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123";
    let c = load_str(
        &format!("upstream: {{ url: http://127.0.0.1:3000 }}\nissuers:\n  - name: main\n    cognito: {{ region: us-east-1, user_pool_id: us-east-1_AbC123 }}\n    client_ids: [abc]\n  - name: alb\n    alb: {{ arns: ['{ALB_ARN}'], issuer: '{pool}' }}\n    client_ids: [abc]\ntoken: {{ sources: [alb, header] }}\n"),
        &no_env,
    )
    .unwrap();
    assert_eq!(c.issuers[0].issuer, c.issuers[1].issuer);
}
