//! Every configuration file shipped in `config/` is accepted by the real loader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tokengate::config::{load_file, AuthMode, IssuerKind, TokenSource};

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_main_example_is_accepted_with_an_empty_environment() {
    let c = load_file(Path::new("config/tokengate.yaml"), &no_env).unwrap();
    assert_eq!(c.issuers.len(), 1);
    assert_eq!(
        c.issuers[0].issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
    );
    assert_eq!(c.routes.len(), 3);
    assert_eq!(c.routes[0].auth, AuthMode::None);
}

#[test]
fn every_file_in_config_examples_is_accepted() {
    let mut seen = 0;
    for entry in std::fs::read_dir("config/examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let result = load_file(&path, &no_env);
            assert!(
                result.is_ok(),
                "{}: {}",
                path.display(),
                result.unwrap_err()
            );
            seen += 1;
        }
    }
    assert!(seen >= 3, "expected at least three examples, found {seen}");
}

#[test]
fn the_multi_pool_example_has_three_issuers_and_its_requirements() {
    let c = load_file(Path::new("config/examples/multi-pool.yaml"), &no_env).unwrap();
    assert_eq!(c.issuers.len(), 3);
    assert!(matches!(c.issuers[2].kind, IssuerKind::Generic { .. }));
    let billing = c.routes.iter().find(|r| r.name == "billing-write").unwrap();
    assert_eq!(billing.require.scopes_all, ["billing/write"]);
    assert_eq!(c.upstream.as_ref().unwrap().path_prefix(), "/api");
}

#[test]
fn the_cookie_example_reads_cookie_then_query_then_header() {
    let c = load_file(Path::new("config/examples/cookie-source.yaml"), &no_env).unwrap();
    assert_eq!(
        c.token.sources,
        vec![
            TokenSource::Cookie("id_token".into()),
            TokenSource::Query("access_token".into()),
            TokenSource::Header
        ]
    );
}

#[test]
fn the_alb_example_reads_the_alb_header_then_bearer_tokens() {
    let c = load_file(Path::new("config/examples/alb.yaml"), &no_env).unwrap();
    assert_eq!(c.token.sources, vec![TokenSource::Alb, TokenSource::Header]);
    assert!(matches!(c.issuers[0].kind, IssuerKind::Alb { .. }));
    assert_eq!(
        c.issuers[0].jwks_uri.to_string(),
        "https://public-keys.auth.elb.us-east-1.amazonaws.com/"
    );
    assert_eq!(c.issuers[0].issuer, c.issuers[1].issuer);
}
