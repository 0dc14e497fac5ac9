//! The serde view of the configuration file: every struct `deny_unknown_fields`, every key
//! optional here (requirements are checked in `validate/`, with key paths; what an omitted
//! key becomes is named in `defaults.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub tls: Option<RawTls>,
    #[serde(default, deserialize_with = "number")]
    pub max_header_bytes: Option<u64>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    #[serde(default, deserialize_with = "number")]
    pub max_connections: Option<u64>,
    pub shutdown_grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub url: Option<String>,
    pub connect_timeout: Option<String>,
    pub timeout: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    pub http2: Option<bool>,
    pub ca_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIssuer {
    pub name: Option<String>,
    pub cognito: Option<RawCognito>,
    pub alb: Option<RawAlb>,
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub client_ids: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    pub token_use: Option<Vec<String>>,
    pub algorithms: Option<Vec<String>>,
    pub clock_skew: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCognito {
    pub region: Option<String>,
    pub user_pool_id: Option<String>,
    pub issuer: Option<String>,
}

/// `issuers[].alb`: an issuer of ALB-signed `x-amzn-oidc-data` tokens (reference section 9).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlb {
    pub arns: Option<Vec<String>>,
    pub issuer: Option<String>,
    pub key_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJwks {
    pub refresh_interval: Option<String>,
    pub min_refresh_interval: Option<String>,
    pub fetch_timeout: Option<String>,
    #[serde(default, deserialize_with = "number")]
    pub max_bytes: Option<u64>,
    pub cache_dir: Option<String>,
    pub max_stale: Option<String>,
    pub ca_file: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    pub allow_http: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub sources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "number")]
    pub max_bytes: Option<u64>,
    #[serde(default, deserialize_with = "number")]
    pub cache_entries: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    #[serde(rename = "match")]
    pub matcher: Option<RawMatch>,
    pub name: Option<String>,
    pub auth: Option<String>,
    pub require: Option<RawRequire>,
    pub action: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub path_prefix: Option<String>,
    pub path: Option<String>,
    pub methods: Option<Vec<String>>,
    pub cors_preflight: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequire {
    pub token_use: Option<Vec<String>>,
    pub groups_any: Option<Vec<String>>,
    pub groups_all: Option<Vec<String>>,
    pub scopes_all: Option<Vec<String>>,
    pub scopes_any: Option<Vec<String>>,
    /// claim name -> accepted values: strings, numbers or booleans (YAML may give
    /// `5` or `true` unquoted); turned into text by validation.
    pub claims: Option<BTreeMap<String, Vec<serde_yaml::Value>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForward {
    pub header_prefix: Option<String>,
    pub claims_header: Option<String>,
    pub authorization: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthz {
    pub path_prefix: Option<String>,
    pub grpc_listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
    pub level: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    pub access_log: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    pub store: Option<String>,
    pub redis: Option<RawRedis>,
    pub max_token_lifetime: Option<String>,
    pub max_lag: Option<String>,
    pub on_unavailable: Option<String>,
    pub api_token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    pub url: Option<String>,
    pub ca_file: Option<String>,
    pub key_prefix: Option<String>,
}

/// A number, or a string holding one (what `${NAME}` expansion produces).
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Text(String),
    }
    match Option::<N>::deserialize(d)? {
        None => Ok(None),
        Some(N::Num(n)) => Ok(Some(n)),
        Some(N::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a non-negative integer")),
    }
}

/// A boolean, or a string `true`/`false` (what `${NAME}` expansion produces).
fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(None),
        Some(B::Bool(b)) => Ok(Some(b)),
        Some(B::Text(s)) => match s.trim() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom("expected true or false")),
        },
    }
}
