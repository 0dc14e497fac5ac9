//! The JSON Schema of the values in `raw.rs` whose Rust type says less than the file
//! accepts or means: numbers and booleans also written as strings (`raw.rs` `number`,
//! `boolean`), durations, the words validation accepts, and `${NAME}` wherever a string is read.
//! Used only through `#[schemars(with = ...)]`; `config/schema.rs` builds the whole schema.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

/// A duration as `humantime::parse_duration` reads it after `trim()` (`config/validate/values.rs`
/// `duration`): `0`, or one or more `number[.fraction] unit` terms, spaces allowed between
/// them and before a unit; the units are humantime's, case-sensitive (`M` is months, `m`
/// minutes). Looser than humantime only where a number overflows.
pub const DURATION_PATTERN: &str = concat!(
    r"^\s*(?:0|(?:[0-9]+(?:\.[0-9]+)?\s*",
    "(?:nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s",
    "|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w",
    r"|months|month|M|years|year|yrs|yr|y)\s*)+)\s*$"
);

/// A string holding a `${NAME}` or `${NAME:-default}` reference (`config/interpolate.rs`):
/// it is replaced before the value is read, so the schema cannot judge what it becomes.
pub const INTERPOLATED_PATTERN: &str = r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}";

/// A string with a `${NAME}` reference; one definition (`$defs/interpolated`) the other
/// shapes refer to.
pub struct Interpolated;

impl JsonSchema for Interpolated {
    fn schema_name() -> Cow<'static, str> {
        "interpolated".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`${NAME}` or `${NAME:-default}`: the environment variable NAME (or the default when it is unset) replaces it before the value is read; an unset NAME without a default is an error. `$$` is a literal `$`.",
            "type": "string",
            "pattern": INTERPOLATED_PATTERN,
        })
    }
}

/// A unit struct whose schema is written inline where a field uses it (`$generator` names
/// the generator in `$schema`, for the shapes that refer to `Interpolated`).
macro_rules! shape {
    ($(#[$doc:meta])* $name:ident($generator:ident) = $schema:expr;) => {
        $(#[$doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema($generator: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

shape! {
    /// `raw.rs` `number`: a non-negative integer, or a string holding one (`+` and
    /// surrounding whitespace allowed, as `u64::from_str` after `trim()`), or a `${NAME}` string.
    Count(g) = json_schema!({
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": r"^\s*\+?[0-9]+\s*$" },
            g.subschema_for::<Interpolated>(),
        ]
    });
}

shape! {
    /// `raw.rs` `boolean`: `true`/`false`, or a string holding one (surrounding whitespace
    /// allowed), or a `${NAME}` string.
    Flag(g) = json_schema!({
        "anyOf": [
            { "type": "boolean" },
            { "type": "string", "pattern": r"^\s*(?:true|false)\s*$" },
            g.subschema_for::<Interpolated>(),
        ]
    });
}

shape! {
    /// A duration string (`DURATION_PATTERN`) or a `${NAME}` string. A YAML number is
    /// refused as the loader refuses it: a duration has a unit.
    Duration(g) = json_schema!({
        "anyOf": [
            {
                "type": "string",
                "pattern": DURATION_PATTERN,
                "examples": ["500ms", "30s", "5m", "1h", "1h 30m"],
            },
            g.subschema_for::<Interpolated>(),
        ]
    });
}

shape! {
    /// `token.sources[]`: `header`, `header:NAME`, `cookie:NAME`, `query:NAME` or `alb`
    /// (`config/validate/token.rs`; which header names are refused is checked there only).
    TokenSource(g) = json_schema!({
        "anyOf": [
            { "type": "string", "enum": ["header", "alb"] },
            { "type": "string", "pattern": "^header:[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
            { "type": "string", "pattern": "^(?:cookie|query):[A-Za-z0-9._-]+$" },
            g.subschema_for::<Interpolated>(),
        ],
        "examples": ["header", "header:x-id-token", "cookie:id_token", "query:access_token", "alb"],
    });
}

shape! {
    /// `routes[].require.claims.NAME`: at least one accepted value, each a string, number or
    /// boolean (`config/validate/routes.rs` `claim_rules`; null, lists and maps never match).
    ClaimValues(_g) = json_schema!({
        "type": "array",
        "items": { "type": ["string", "number", "boolean"] },
        "minItems": 1,
    });
}

/// One word type per set of words validation accepts for a key: the words as an `enum` (what
/// an editor completes), or a `${NAME}` string.
macro_rules! words {
    ($($(#[$doc:meta])* $name:ident = [$($word:literal),+ $(,)?];)+) => {$(
        shape! {
            $(#[$doc])*
            $name(g) = json_schema!({
                "anyOf": [
                    { "type": "string", "enum": [$($word),+] },
                    g.subschema_for::<Interpolated>(),
                ]
            });
        }
    )+};
}

words! {
    /// `mode` (`config/validate.rs`).
    ModeWord = ["proxy", "authz"];
    /// `routes[].auth` (`config/validate/routes.rs`).
    AuthWord = ["none", "optional", "required"];
    /// `routes[].action` (`config/validate/routes.rs`).
    ActionWord = ["logout"];
    /// `issuers[].token_use[]`, `routes[].require.token_use[]` (`config/validate/values.rs`).
    TokenUseWord = ["access", "id"];
    /// `issuers[].algorithms[]`: `config::Alg::ALL`'s JOSE names (`none` and `HS*` never).
    AlgorithmWord = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
    /// `forward.authorization` (`config/validate/forward.rs`).
    AuthorizationWord = ["keep", "strip"];
    /// `log.format` (`config/validate/log.rs`).
    LogFormatWord = ["json", "text"];
    /// `revocation.store` (`config/validate/revocation.rs`).
    StoreWord = ["memory", "redis"];
    /// `revocation.on_unavailable` (`config/validate/revocation.rs`).
    OnUnavailableWord = ["deny", "allow"];
}
