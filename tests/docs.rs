//! The configuration reference in README.md cannot drift from the parser: every key the
//! parser accepts (read from its own "expected one of" answers to an unknown key in every
//! section) is documented, and every documented key is one the parser accepts; every
//! default README states is the named one in `config::defaults`; and the shipped JSON Schema
//! (`config/tokengate.schema.json`) describes the same keys, stating README's defaults.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use tokengate::config::defaults::{DefaultValue, DEFAULTS};

#[path = "support/schema.rs"]
mod schema;

/// An unknown key in every section and sub-section the parser has.
const PROBE: &str = "zzz: 1
server: { zzz: 1, tls: { zzz: 1 } }
admin: { zzz: 1 }
upstream: { zzz: 1 }
issuers: [ { zzz: 1, cognito: { zzz: 1 } } ]
jwks: { zzz: 1 }
token: { zzz: 1 }
routes: [ { zzz: 1, match: { zzz: 1 }, require: { zzz: 1 } } ]
forward: { zzz: 1 }
authz: { zzz: 1 }
log: { zzz: 1 }
revocation: { zzz: 1, redis: { zzz: 1 } }
";

/// Section path (`issuers[]`, `` for the top level) -> the keys the parser accepts there.
fn parser_sections() -> BTreeMap<String, Vec<String>> {
    let problems = tokengate::config::load_str(PROBE, &|_| None)
        .unwrap_err()
        .problems;
    let mut sections = BTreeMap::new();
    for p in problems {
        let Some(section) = p.path.strip_suffix("zzz") else {
            continue;
        };
        let section = section.trim_end_matches('.').replace("[0]", "[]");
        let keys: Vec<String> = p
            .message
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|k| *k != "zzz")
            .map(str::to_owned)
            .collect();
        assert!(!keys.is_empty(), "no key list in: {}", p.message);
        sections.insert(section, keys);
    }
    sections
}

/// Every leaf key path the parser accepts (sections themselves are not leaves).
fn parser_leaves(sections: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let mut leaves = BTreeSet::new();
    for (section, keys) in sections {
        for key in keys {
            let path = if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            };
            let as_list = format!("{path}[]");
            if !sections.contains_key(&path) && !sections.contains_key(&as_list) {
                leaves.insert(path);
            }
        }
    }
    leaves
}

/// README's configuration table: documented key -> the text of its row. Cells like
/// "`a.b.c` + `.d`" or "`a.b.c`, `.d`" document `a.b.c` and `a.b.d`.
fn documented() -> BTreeMap<String, String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Configuration reference")
        .nth(1)
        .expect("README has a Configuration reference")
        .split("\n## ")
        .next()
        .unwrap();
    let mut keys = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap();
        let names: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
        let first = names[0];
        let parent = first.rsplit_once('.').map_or("", |(p, _)| p);
        for name in names {
            let full = match name.strip_prefix('.') {
                Some(rest) => format!("{parent}.{rest}"),
                None => name.to_owned(),
            };
            keys.insert(full, row.to_owned());
        }
    }
    assert!(keys.len() > 30, "the configuration table was not found");
    keys
}

#[test]
fn every_parser_key_is_documented_and_every_documented_key_exists() {
    let sections = parser_sections();
    for expected in [
        "",
        "server",
        "server.tls",
        "issuers[]",
        "issuers[].cognito",
        "routes[].require",
        "authz",
        "revocation",
        "revocation.redis",
    ] {
        assert!(
            sections.contains_key(expected),
            "section {expected:?} not probed: {sections:?}"
        );
    }
    let leaves = parser_leaves(&sections);
    let docs = documented();

    let mut missing = Vec::new();
    for leaf in &leaves {
        // Documented as its own row, or in the row of its section naming it (`require`).
        let in_parent_row = leaf.rsplit_once('.').is_some_and(|(parent, name)| {
            docs.get(parent)
                .is_some_and(|row| row.contains(&format!("`{name}`")))
        });
        if !docs.contains_key(leaf) && !in_parent_row {
            missing.push(leaf.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "keys the parser accepts but README does not document: {missing:?}"
    );

    let known: BTreeSet<String> = leaves
        .iter()
        .cloned()
        .chain(sections.keys().cloned())
        .collect();
    let unknown: Vec<&String> = docs.keys().filter(|k| !known.contains(*k)).collect();
    assert!(
        unknown.is_empty(),
        "README documents keys the parser refuses: {unknown:?}"
    );
}

/// The default column of README's row for `key`, without surrounding spaces.
fn readme_default<'a>(docs: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    let row = docs
        .get(key)
        .unwrap_or_else(|| panic!("README has no row for {key}"));
    row.split('|').nth(2).unwrap().trim()
}

/// Whether README's default cell (`` `60s` ``) states `value`.
fn states(cell: &str, value: DefaultValue) -> bool {
    let Some(text) = cell
        .strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .filter(|t| !t.contains('`'))
    else {
        return false;
    };
    let words = |words: &[&str]| format!("[{}]", words.join(", "));
    match value {
        DefaultValue::Duration(d) => humantime::parse_duration(text).is_ok_and(|t| t == d),
        DefaultValue::Number(n) => text.parse::<u64>().is_ok_and(|t| t == n),
        DefaultValue::Addr(a) => text.parse::<SocketAddr>().is_ok_and(|t| t == a),
        DefaultValue::Flag(b) => text == b.to_string(),
        DefaultValue::Word(w) => text == w,
        DefaultValue::Words(list) => text == words(list),
        DefaultValue::TokenUses(list) => {
            let list: Vec<&str> = list.iter().map(|t| t.as_str()).collect();
            text == words(&list)
        }
        DefaultValue::Appended { to, suffix } => text == format!("{{{to}}}{suffix}"),
    }
}

#[test]
fn every_default_in_readme_is_the_one_the_code_uses() {
    let docs = documented();
    let mut wrong = Vec::new();
    for (key, value) in DEFAULTS {
        let cell = readme_default(&docs, key);
        if !states(cell, *value) {
            wrong.push(format!("{key}: README says {cell}, the code {value:?}"));
        }
    }
    assert!(wrong.is_empty(), "README's defaults disagree: {wrong:#?}");

    // Every literal default README states is a named one (absent and empty values aside).
    let named: BTreeSet<&str> = DEFAULTS.iter().map(|(key, _)| *key).collect();
    let unnamed: Vec<&String> = docs
        .keys()
        .filter(|key| {
            let cell = readme_default(&docs, key);
            let literal =
                cell.starts_with('`') && cell.ends_with('`') && cell.matches('`').count() == 2;
            literal
                && !["`null`", "`{}`", "`\"\"`"].contains(&cell)
                && !named.contains(key.as_str())
        })
        .collect();
    assert!(
        unnamed.is_empty(),
        "README states defaults config::defaults::DEFAULTS does not list: {unnamed:?}"
    );
}

/// What an editor shows from the schema agrees with README: each documented key is a schema
/// property whose description states README's default (or that it is required), and each
/// schema property is a documented key, a section, or named in its section's row.
#[test]
fn the_schema_describes_every_documented_key_with_readmes_default() {
    let docs = documented();
    let sections = parser_sections();
    let properties: BTreeMap<String, &serde_json::Value> =
        schema::properties().into_iter().collect();
    let mut wrong = Vec::new();
    for key in docs.keys() {
        let Some(property) = properties.get(key) else {
            wrong.push(format!("{key}: documented, not in the schema"));
            continue;
        };
        let description = property["description"].as_str().unwrap_or_default();
        let cell = readme_default(&docs, key);
        let literal =
            cell.starts_with('`') && cell.ends_with('`') && cell.matches('`').count() == 2;
        let states = if literal {
            description.contains(&format!("Default {cell}"))
        } else if cell.starts_with("required") {
            description.to_lowercase().contains("required")
        } else {
            !description.is_empty()
        };
        if !states {
            wrong.push(format!(
                "{key}: README says {cell}, the schema {description:?}"
            ));
        }
    }
    for path in properties.keys() {
        let in_parent_row = path.rsplit_once('.').is_some_and(|(parent, name)| {
            docs.get(parent)
                .is_some_and(|row| row.contains(&format!("`{name}`")))
        });
        let known = docs.contains_key(path)
            || sections.contains_key(path)
            || sections.contains_key(&format!("{path}[]"))
            || in_parent_row;
        if !known {
            wrong.push(format!("{path}: in the schema, not documented"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the schema and README disagree (edit the field's doc comment in src/config/raw.rs, \
         then run `{}`): {wrong:#?}",
        schema::REGENERATE
    );
}

/// The backticked repository paths (`src/...`, `tests/...`, or a `src/`-relative file such
/// as `proxy/path.rs`) and test names ARCHITECTURE.md names exist, so the map cannot point
/// at a file or a test that moved; and no document links outside the repository.
#[test]
fn architecture_md_names_only_files_and_tests_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut sources = String::new();
    let mut stack = vec![root.join("src"), root.join("tests")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut missing = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        // `a/b.rs` or `a/{b,c}.rs` or `tests/x.rs` or `build.rs`.
        // Patterns (`cmd/*.rs`, `config/validate/<section>.rs`) name families, not files.
        if span.contains('*') || span.contains('<') {
            continue;
        }
        if let Some(file) = span.strip_suffix(".rs") {
            let (dir, names) = match file.split_once('{') {
                Some((dir, names)) => (dir, names.trim_end_matches('}').split(',').collect()),
                None => ("", vec![file]),
            };
            for name in names {
                let rel = format!("{dir}{name}.rs");
                let found = [root.join(&rel), root.join("src").join(&rel)]
                    .iter()
                    .any(|p| p.exists());
                if !found {
                    missing.push(rel);
                }
            }
            continue;
        }
        let snake = span
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if snake && span.matches('_').count() >= 3 && !sources.contains(&format!("fn {span}(")) {
            missing.push(format!("test {span}"));
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md names: {missing:?}");
    for doc in ["README.md", "ARCHITECTURE.md", "docs/reference.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        assert!(
            !text.contains("](../") && !text.contains("shared/the reference"),
            "{doc} links outside the repository"
        );
    }
}
