//! The shipped JSON Schema of the configuration (`config/tokengate.schema.json`) as a
//! validator, for the schema's own tests and for the harness, which checks every
//! configuration a test runs the binary with against it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

/// Where the schema is shipped, from the repository root.
pub const FILE: &str = "config/tokengate.schema.json";

/// What to run when the schema no longer matches the code.
pub const REGENERATE: &str = "cargo run -- config-schema > config/tokengate.schema.json";

/// The shipped schema, parsed.
pub fn shipped() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `{REGENERATE}`", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{FILE}: {e}; run `{REGENERATE}`"))
    })
}

/// The shipped schema compiled once (draft 2020-12, from its `$schema`).
pub fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(shipped())
            .unwrap_or_else(|e| panic!("{FILE} is not a usable schema: {e}"))
    })
}

/// A YAML document as the JSON value the schema judges (an empty file is `null`).
pub fn json_of(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"))
}

/// Every place where the schema refuses `instance`, as `/json/pointer: message`.
pub fn refusals(instance: &Value) -> Vec<String> {
    validator()
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Panics, naming `what` and each refusal, unless the schema accepts the YAML text.
pub fn assert_accepts(yaml: &str, what: &str) {
    let refusals = refusals(&json_of(yaml));
    assert!(
        refusals.is_empty(),
        "{FILE} refuses {what}, which tokengate accepts (if the code changed, run `{REGENERATE}`):\n{}\n--- {what}:\n{yaml}",
        refusals.join("\n")
    );
}

/// Every property of the shipped schema by README-style key path (`server.listen`,
/// `issuers[].cognito.region`; `[]` for a list's items), with its schema: `$ref`s followed,
/// `anyOf` members looked into.
pub fn properties() -> Vec<(String, &'static Value)> {
    let mut out = Vec::new();
    walk(shipped(), "", &mut |path, node| {
        for (name, property) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.push((join(path, name), property));
        }
    });
    out
}

/// Every `enum` of the shipped schema by the key path of the value it constrains
/// (`routes[].auth`, `issuers[].algorithms[]`).
pub fn enums() -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    walk(shipped(), "", &mut |path, node| {
        if let Some(Value::Array(words)) = node.get("enum") {
            out.push((path.to_owned(), words.clone()));
        }
    });
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Calls `visit` with every schema node and the key path of the value it describes.
fn walk(node: &'static Value, path: &str, visit: &mut dyn FnMut(&str, &'static Value)) {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let target = reference.strip_prefix('#').expect("a local $ref");
        walk(
            shipped().pointer(target).expect("$ref resolves"),
            path,
            visit,
        );
    }
    visit(path, node);
    for member in node
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(member, path, visit);
    }
    for (name, property) in node
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        walk(property, &join(path, name), visit);
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}[]"), visit);
    }
}
