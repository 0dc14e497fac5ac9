//! The configuration's JSON Schema (`config/tokengate.schema.json`, for editors and CI) is
//! what `tokengate config-schema` prints; it accepts every configuration the repository
//! ships and the value shapes the loader accepts (numbers and booleans as strings,
//! durations, `${NAME}`); it refuses, at the same place, unknown keys, unknown words,
//! durations without a unit, malformed numbers and booleans, as `check-config` does; and
//! the words it offers for completion are exactly ones the loader accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/schema.rs"]
mod schema;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use tokengate::config::{load_str, Alg};

const BIN: &str = env!("CARGO_BIN_EXE_tokengate");

/// A configuration the loader accepts; each case changes one key of it.
const MINIMAL: &str = "upstream: { url: 'http://127.0.0.1:3000' }
issuers:
  - name: main
    cognito: { region: us-east-1, user_pool_id: us-east-1_AbC123 }
    client_ids: [abc]
routes:
  - match: { path_prefix: / }
revocation: {}
";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `MINIMAL` with `value` (YAML) at `path` (`routes[0].match.path`, `server.tls`); `None`
/// removes the key.
fn changed(path: &str, value: Option<&str>) -> Yaml {
    let mut config: Yaml = serde_yaml::from_str(MINIMAL).unwrap();
    let (parents, last) = path.rsplit_once('.').map_or(("", path), |(p, l)| (p, l));
    let mut node = &mut config;
    for step in parents.split('.').filter(|s| !s.is_empty()) {
        node = match step.split_once('[') {
            Some((key, index)) => {
                let index: usize = index.trim_end_matches(']').parse().unwrap();
                &mut node[key][index]
            }
            None => {
                let map = node.as_mapping_mut().unwrap();
                map.entry(step.into())
                    .or_insert_with(|| Yaml::Mapping(Default::default()))
            }
        };
    }
    let map = node.as_mapping_mut().unwrap();
    match value {
        Some(v) => map.insert(last.into(), serde_yaml::from_str(v).unwrap()),
        None => map.remove(last),
    };
    config
}

/// The loader's problems, as `path: message`, with an empty environment.
fn loader_problems(config: &Yaml) -> Vec<String> {
    match load_str(&serde_yaml::to_string(config).unwrap(), &|_| None) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

fn schema_refusals(config: &Yaml) -> Vec<String> {
    schema::refusals(&serde_json::to_value(config).unwrap())
}

/// `issuers[0].algorithms[0]` as a JSON Pointer: `/issuers/0/algorithms/0`.
fn pointer(path: &str) -> String {
    let mut out = String::new();
    for step in path.split('.') {
        for part in step.split('[') {
            out.push('/');
            out.push_str(part.trim_end_matches(']'));
        }
    }
    out
}

#[test]
fn the_shipped_schema_is_what_config_schema_prints() {
    let out = Command::new(BIN).arg("config-schema").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = std::fs::read(repo(schema::FILE)).unwrap();
    assert!(
        out.stdout == shipped,
        "{} is not what `tokengate config-schema` prints: run `{}`",
        schema::FILE,
        schema::REGENERATE
    );
    let printed: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(printed["title"], "tokengate configuration");
    assert!(printed["$id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(out.stdout.ends_with(b"}\n"), "no trailing newline");
    assert!(
        jsonschema::meta::is_valid(&printed),
        "not a valid draft 2020-12 schema"
    );
}

/// Files of their own that are tokengate configurations: `config/`, and the Kustomize
/// config files (`tokengate.yaml` under `deploy/kubernetes/`).
fn config_files() -> Vec<PathBuf> {
    fn tokengate_yaml_under(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                tokengate_yaml_under(&path, out);
            } else if path.file_name().is_some_and(|n| n == "tokengate.yaml") {
                out.push(path);
            }
        }
    }
    let mut files = vec![repo("config/tokengate.yaml")];
    for entry in std::fs::read_dir(repo("config/examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    tokengate_yaml_under(&repo("deploy/kubernetes"), &mut files);
    files.sort();
    files
}

#[test]
fn every_shipped_config_file_names_the_schema_on_its_first_line() {
    let schema_file = repo(schema::FILE).canonicalize().unwrap();
    let files = config_files();
    assert!(files.len() >= 7, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| {
                panic!(
                    "{}: the first line must be `# yaml-language-server: $schema=<relative path to {}>`",
                    file.display(),
                    schema::FILE
                )
            });
        let resolved = file.parent().unwrap().join(target).canonicalize();
        assert!(
            resolved.as_ref().is_ok_and(|r| *r == schema_file),
            "{}: $schema={target} is not {}",
            file.display(),
            schema::FILE
        );
    }
}

/// README's YAML blocks that are tokengate configuration: whole files, sections, or lists
/// of routes (as `routes:`); an `issuers` entry is added where a block shows none. Blocks of
/// other tools (Kustomize) are left out.
fn readme_configs() -> Vec<(String, Json)> {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let sections: Vec<&String> = schema::shipped()["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let minimal = schema::json_of(MINIMAL);
    let mut configs = Vec::new();
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let text = block.split("```").next().unwrap();
        let mut config = match schema::json_of(text) {
            list @ Json::Array(_) => serde_json::json!({ "routes": list }),
            Json::Object(map) if map.keys().all(|k| sections.contains(&k)) => Json::Object(map),
            _ => continue,
        };
        if config.get("issuers").is_none() {
            config["issuers"] = minimal["issuers"].clone();
        }
        configs.push((format!("README.md yaml block {}", i + 1), config));
    }
    configs
}

#[test]
fn every_shipped_configuration_is_valid_against_the_schema() {
    let mut checked = 0;
    for file in config_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        schema::assert_accepts(&text, &file.display().to_string());
        checked += 1;
    }
    // The Istio example embeds its configuration in a ConfigMap.
    let istio = std::fs::read_to_string(repo("deploy/istio/tokengate-authz.yaml")).unwrap();
    for doc in serde_yaml::Deserializer::from_str(&istio) {
        let doc = Yaml::deserialize(doc).unwrap();
        if let Some(text) = doc["data"]["tokengate.yaml"].as_str() {
            schema::assert_accepts(text, "deploy/istio/tokengate-authz.yaml's ConfigMap");
            checked += 1;
        }
    }
    schema::assert_accepts(tokengate::cmd::demo::CONFIG, "the demo's configuration");
    let readme = readme_configs();
    assert!(readme.len() >= 10, "only {} README blocks", readme.len());
    for (what, config) in readme {
        let refusals = schema::refusals(&config);
        assert!(refusals.is_empty(), "{what}: {refusals:#?}");
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} configurations checked");
}

#[test]
fn what_the_loader_refuses_in_shape_the_schema_refuses_at_the_same_place() {
    // (key changed, its new value, where the loader reports the problem)
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("zzz", Some("1"), "zzz"),
        ("server.listn", Some("x"), "server.listn"),
        ("routes[0].match.zzz", Some("1"), "routes[0].match.zzz"),
        ("routes[0].auth", Some("requried"), "routes[0].auth"),
        ("log.format", Some("xml"), "log.format"),
        ("mode", Some("sidecar"), "mode"),
        (
            "issuers[0].algorithms",
            Some("[HS256]"),
            "issuers[0].algorithms[0]",
        ),
        ("issuers[0].token_use", Some("[]"), "issuers[0].token_use"),
        ("token.sources", Some("[bearer]"), "token.sources[0]"),
        ("server.idle_timeout", Some("'30'"), "server.idle_timeout"),
        ("server.idle_timeout", Some("30"), "server.idle_timeout"),
        (
            "issuers[0].clock_skew",
            Some("5 sec ago"),
            "issuers[0].clock_skew",
        ),
        ("token.max_bytes", Some("-1"), "token.max_bytes"),
        ("token.max_bytes", Some("12kb"), "token.max_bytes"),
        ("log.access_log", Some("'yes'"), "log.access_log"),
        (
            "routes[0].match.cors_preflight",
            Some("'true'"),
            "routes[0].match.cors_preflight",
        ),
        (
            "routes[0].match.methods",
            Some("[]"),
            "routes[0].match.methods",
        ),
        (
            "routes[0].require",
            Some("{ claims: { tenant: [] } }"),
            "routes[0].require.claims.tenant",
        ),
        (
            "routes[0].require",
            Some("{ claims: { tenant: [null] } }"),
            "routes[0].require.claims.tenant[0]",
        ),
        (
            "server.tls",
            Some("{ cert_file: /etc/tls/cert.pem }"),
            "server.tls.key_file",
        ),
        (
            "revocation",
            Some("{ store: redis, redis: { key_prefix: 'a:' } }"),
            "revocation.redis.url",
        ),
        ("routes", Some("[]"), "routes"),
        ("issuers", None, "issuers"),
        ("issuers[0].name", None, "issuers[0].name"),
        ("routes[0].match", None, "routes[0].match"),
        ("upstream.url", None, "upstream.url"),
    ];
    for (key, value, at) in cases {
        let config = changed(key, *value);
        let problems = loader_problems(&config);
        assert!(
            problems.iter().any(|p| p.starts_with(&format!("{at}: "))),
            "{key} = {value:?}: the loader reports no problem at {at}: {problems:?}"
        );
        let refusals = schema_refusals(&config);
        assert!(
            refusals
                .iter()
                .any(|r| pointer(at).starts_with(r.split(':').next().unwrap())),
            "{key} = {value:?}: the schema does not refuse it at {} or above: {refusals:?}",
            pointer(at)
        );
    }
}

#[test]
fn numbers_booleans_and_durations_are_judged_as_the_loader_judges_them() {
    // (key, values in YAML): for each, the schema accepts exactly when the loader does.
    let cases: &[(&str, &[&str])] = &[
        (
            "token.cache_entries",
            &[
                "0",
                "65536",
                "'42'",
                "' +7 '",
                "-1",
                "'-1'",
                "1.5",
                "'4k'",
                "''",
                "true",
                "'${N:-9}'",
                "[]",
                "null",
            ],
        ),
        (
            "log.access_log",
            &[
                "true",
                "false",
                "'true'",
                "' false '",
                "'yes'",
                "'True'",
                "1",
                "''",
                "'${F:-false}'",
                "null",
            ],
        ),
        (
            "issuers[0].clock_skew",
            &[
                "30s",
                "'1h 30m'",
                "1h30m",
                "1.5s",
                "'0'",
                "0",
                "' 5m '",
                "500ms",
                "'2 min'",
                "3days",
                "1M",
                "5µs",
                "1w",
                "'30'",
                "30S",
                "s30",
                "'1.s'",
                "''",
                "-5s",
                "'5 m s'",
                "5mm",
                "'${SKEW:-2s}'",
                "null",
            ],
        ),
    ];
    let mut disagree = Vec::new();
    for (key, values) in cases {
        for value in *values {
            let config = changed(key, Some(value));
            let loader = loader_problems(&config);
            let schema = schema_refusals(&config);
            if loader.is_empty() != schema.is_empty() {
                disagree.push(format!(
                    "{key}: {value}: loader {loader:?}, schema {schema:?}"
                ));
            }
        }
    }
    assert!(disagree.is_empty(), "{disagree:#?}");
}

#[test]
fn every_word_the_schema_offers_is_one_the_loader_accepts_there() {
    let enums = schema::enums();
    let keys: Vec<&str> = enums.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "mode",
        "routes[].auth",
        "routes[].action",
        "issuers[].algorithms[]",
        "issuers[].token_use[]",
        "routes[].require.token_use[]",
        "token.sources[]",
        "forward.authorization",
        "log.format",
        "revocation.store",
        "revocation.on_unavailable",
    ] {
        assert!(keys.contains(&expected), "no enum at {expected}: {keys:?}");
    }
    for (key, words) in &enums {
        // `routes[].auth` -> set `routes[0].auth`; `x[]` (a list's items) -> `x: [word]`.
        let (set, list) = match key.strip_suffix("[]") {
            Some(k) => (k.replace("[]", "[0]"), true),
            None => (key.replace("[]", "[0]"), false),
        };
        let at = if list {
            format!("{set}[0]")
        } else {
            set.clone()
        };
        let yaml = |word: &str| {
            if list {
                format!("['{word}']")
            } else {
                format!("'{word}'")
            }
        };
        for word in words {
            let word = word.as_str().unwrap();
            let config = changed(&set, Some(&yaml(word)));
            let problems = loader_problems(&config);
            // A word that needs other keys (`alb` needs an `alb:` issuer) is a known word:
            // the loader says what it needs, which the schema leaves to check-config.
            assert!(
                !problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{at}: ")) && !p.contains(" needs ")),
                "{at}: the schema offers `{word}`, the loader refuses it: {problems:?}"
            );
            assert!(schema_refusals(&config).is_empty(), "{at}: {word}");
        }
        let config = changed(&set, Some(&yaml("zzz-not-a-word")));
        assert!(
            loader_problems(&config)
                .iter()
                .any(|p| p.starts_with(&format!("{at}: "))),
            "{at}: the loader accepts a word the schema refuses"
        );
        assert!(!schema_refusals(&config).is_empty(), "{at}");
    }
    let algorithms = enums
        .iter()
        .find(|(k, _)| k == "issuers[].algorithms[]")
        .unwrap();
    let all: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        algorithms.1, all,
        "the schema's algorithms are not Alg::ALL"
    );
}

#[test]
fn every_named_default_is_the_schemas_default() {
    use tokengate::config::defaults::{DefaultValue, DEFAULTS};
    let properties: std::collections::BTreeMap<String, &Json> =
        schema::properties().into_iter().collect();
    for (key, value) in DEFAULTS {
        let property = properties
            .get(*key)
            .unwrap_or_else(|| panic!("{key}: not in the schema"));
        let default = &property["default"];
        let ok = match value {
            DefaultValue::Duration(d) => default
                .as_str()
                .is_some_and(|t| humantime::parse_duration(t).is_ok_and(|t| t == *d)),
            DefaultValue::Number(n) => default.as_u64() == Some(*n),
            DefaultValue::Addr(a) => default.as_str() == Some(a.to_string().as_str()),
            DefaultValue::Flag(b) => default.as_bool() == Some(*b),
            DefaultValue::Word(w) => default.as_str() == Some(*w),
            DefaultValue::Words(ws) => *default == serde_json::json!(ws),
            DefaultValue::TokenUses(us) => {
                let words: Vec<&str> = us.iter().map(|u| u.as_str()).collect();
                *default == serde_json::json!(words)
            }
            // Computed from another key: no JSON default.
            DefaultValue::Appended { .. } => default.is_null(),
        };
        assert!(
            ok,
            "{key}: the schema's default is {default}, the code's {value:?}; run `{}`",
            schema::REGENERATE
        );
    }
}
