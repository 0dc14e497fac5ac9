//! The serde view of the configuration file: every struct `deny_unknown_fields`, every key
//! optional here (requirements are checked in `validate/`, with key paths; what an omitted
//! key becomes is named in `defaults.rs`). Each type also derives its JSON Schema: the field
//! docs are the schema's descriptions, `raw/shape.rs` the values serde's types do not say.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

mod shape;

/// The whole file, for its JSON Schema only (`config/schema.rs`): `validate.rs` reads the
/// top-level mapping section by section (`SECTIONS`) so that every section's problems are
/// reported, and deserializes each section into the types below.
#[derive(Debug, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `proxy` (verify, then forward to `upstream`) or `authz` (answer a gateway's checks;
    /// README, "Authz mode"). Default `proxy`.
    #[schemars(with = "Option<shape::ModeWord>")]
    pub mode: Option<String>,
    /// The data-plane listener, its limits and TLS.
    pub server: Option<RawServer>,
    /// The admin listener: `/healthz`, `/readyz`, `/keys`, `/metrics`.
    pub admin: Option<RawAdmin>,
    /// Where verified requests are forwarded. Required in proxy mode, forbidden in authz
    /// mode (the gateway forwards).
    pub upstream: Option<RawUpstream>,
    /// The token issuers (Cognito user pools or generic OIDC issuers); at least one. Names
    /// and issuer URLs are unique.
    #[schemars(length(min = 1))]
    pub issuers: Vec<RawIssuer>,
    /// How every issuer's JWKS is fetched, refreshed and kept.
    pub jwks: Option<RawJwks>,
    /// Where tokens are found, and their limits.
    pub token: Option<RawToken>,
    /// First match wins. Omitted: one route, any path, auth required.
    #[schemars(length(min = 1))]
    pub routes: Option<Vec<RawRoute>>,
    /// What reaches the upstream: identity headers and the Authorization header.
    pub forward: Option<RawForward>,
    /// Authz mode's settings; refused in proxy mode.
    pub authz: Option<RawAuthz>,
    /// The process's log and the access log.
    pub log: Option<RawLog>,
    /// Revoked sessions and tokens. Without this section nothing is revoked or checked.
    pub revocation: Option<RawRevocation>,
}

/// `server`: the data-plane listener, its limits and TLS.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Data-plane address, `IP:PORT` (HTTP/1.1 keep-alive and h2c; HTTPS with `tls`).
    /// Default `0.0.0.0:8080`.
    pub listen: Option<String>,
    /// HTTPS with ALPN h2/http1.1, TLS 1.2/1.3; both files re-read on SIGHUP.
    pub tls: Option<RawTls>,
    /// A larger request head is answered 431, to the byte; at least 1024. In bytes.
    /// Default `16384`.
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub max_header_bytes: Option<u64>,
    /// From the first byte of a request head (or the TCP accept, for a TLS handshake) until
    /// the head is complete; else the connection is closed. A duration (`10s`).
    /// Default `10s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub header_read_timeout: Option<String>,
    /// A keep-alive connection with no request in flight this long is closed. A duration.
    /// Default `60s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub idle_timeout: Option<String>,
    /// Concurrent connections; past it, new connections wait in the kernel's accept
    /// backlog. Default `10000`.
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub max_connections: Option<u64>,
    /// How long in-flight requests get after SIGTERM/SIGINT. A duration. Default `20s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub shutdown_grace: Option<String>,
}

/// `server.tls`: the PEM files of HTTPS, both required.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain, leaf first. Required.
    #[schemars(required, length(min = 1))]
    pub cert_file: Option<String>,
    /// PEM private key (RSA or ECDSA) of the leaf certificate. Required.
    #[schemars(required, length(min = 1))]
    pub key_file: Option<String>,
}

/// `admin`: the admin listener.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Admin address, `IP:PORT` (`/healthz`, `/readyz`, `/keys`, `/metrics`).
    /// Default `127.0.0.1:9901`.
    pub listen: Option<String>,
}

/// `upstream`: where proxy mode forwards verified requests.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// `http://` or `https://` URL without a query; its path, if any, is prepended to every
    /// forwarded path. Required.
    #[schemars(required)]
    pub url: Option<String>,
    /// A slower connect is answered 502. A duration. Default `2s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub connect_timeout: Option<String>,
    /// Until the upstream's response head arrives, else 504. A duration. Default `30s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub timeout: Option<String>,
    /// `true`: HTTP/2 to the upstream (h2c prior knowledge for `http://`, ALPN for
    /// `https://`), e.g. for gRPC services. Default `false`.
    #[serde(default, deserialize_with = "boolean")]
    #[schemars(with = "Option<shape::Flag>")]
    pub http2: Option<bool>,
    /// PEM bundle trusted for an `https://` upstream besides the bundled web PKI roots.
    pub ca_file: Option<String>,
}

/// `issuers[]`: one token issuer, Cognito (`cognito:`) or generic OIDC (`issuer:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIssuer {
    /// Made of `[a-z0-9_-]`, unique; used in metrics, logs, `x-auth-issuer`, `verify`.
    /// Required.
    #[schemars(required)]
    pub name: Option<String>,
    /// A Cognito user pool: `region` + `user_pool_id`, or `issuer`. Either this or
    /// `issuer`.
    pub cognito: Option<RawCognito>,
    /// An ALB that signs `x-amzn-oidc-data` itself (instead of `cognito`/`issuer`; reference
    /// section 9).
    pub alb: Option<RawAlb>,
    /// A generic OIDC issuer URL (instead of `cognito`).
    pub issuer: Option<String>,
    /// JWKS URL; `http://` only for loopback hosts or with `jwks.allow_http`.
    /// Default `{issuer}/.well-known/jwks.json`.
    pub jwks_uri: Option<String>,
    /// Cognito: an ID token's `aud` / an access token's `client_id` must be one of these.
    /// Required with `cognito`, refused otherwise.
    pub client_ids: Option<Vec<String>>,
    /// Generic issuers (required): `aud` must intersect. Cognito (optional): when non-empty,
    /// an access token's `aud` must intersect (RFC 8707 resource binding).
    pub audiences: Option<Vec<String>>,
    /// Cognito only: the token uses accepted, a subset of `[access, id]`.
    /// Default `[access]`.
    #[schemars(with = "Option<Vec<shape::TokenUseWord>>", length(min = 1))]
    pub token_use: Option<Vec<String>>,
    /// Signature algorithms accepted; `none` and `HS*` are refused. Default `[RS256]`.
    #[schemars(with = "Option<Vec<shape::AlgorithmWord>>", length(min = 1))]
    pub algorithms: Option<Vec<String>>,
    /// Leeway for `exp` and `nbf`. A duration. Default `0s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub clock_skew: Option<String>,
}

/// `issuers[].cognito`: `region` + `user_pool_id` (AWS), or `issuer` (an emulator).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCognito {
    /// AWS region of the user pool (`us-east-1`); with `user_pool_id`.
    pub region: Option<String>,
    /// User pool id, `{region}_{letters and digits}`; the issuer is
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`.
    pub user_pool_id: Option<String>,
    /// Instead of `region` + `user_pool_id` (both is an error): Cognito rules with another
    /// issuer URL (cognito-local, moto, LocalStack).
    pub issuer: Option<String>,
}

/// `issuers[].alb`: an issuer of ALB-signed `x-amzn-oidc-data` tokens (reference section 9).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlb {
    /// The load balancers' ARNs (`arn:aws:elasticloadbalancing:{region}:...`); the token
    /// header's `signer` must be one of them. Required, one region unless `key_url` is given.
    #[schemars(required, length(min = 1))]
    pub arns: Option<Vec<String>>,
    /// The `iss` the ALB writes (the user pool's issuer URL). Required.
    #[schemars(required)]
    pub issuer: Option<String>,
    /// Where the ALB's PEM keys are, fetched as `{key_url}/{kid}`.
    /// Default `https://public-keys.auth.elb.{region}.amazonaws.com` from the ARNs' region.
    pub key_url: Option<String>,
}

/// `jwks`: how every issuer's key set is fetched, refreshed and kept.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwks {
    /// Background refresh period, +-10% jitter. A duration. Default `1h`.
    #[schemars(with = "Option<shape::Duration>")]
    pub refresh_interval: Option<String>,
    /// Floor between a fetch's start and a refetch caused by an unknown kid; at most
    /// `refresh_interval`. A duration. Default `30s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub min_refresh_interval: Option<String>,
    /// One fetch: connect, response head and body. A duration. Default `5s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub fetch_timeout: Option<String>,
    /// A larger JWKS document fails the fetch. In bytes. Default `1048576`.
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub max_bytes: Option<u64>,
    /// Directory where each issuer's last good JWKS is kept and read at start-up (created
    /// mode 0700 if missing).
    pub cache_dir: Option<String>,
    /// Keys not confirmed by a successful fetch for this long are dropped (fail closed);
    /// longer than `refresh_interval`. A duration. Default `null` (kept forever).
    #[schemars(with = "Option<shape::Duration>")]
    pub max_stale: Option<String>,
    /// PEM bundle trusted for https JWKS endpoints besides the bundled web PKI roots.
    /// Default `null` (the web PKI roots only).
    pub ca_file: Option<String>,
    /// Allow `http://` JWKS URIs on non-loopback hosts (logged as a warning).
    /// Default `false`.
    #[serde(default, deserialize_with = "boolean")]
    #[schemars(with = "Option<shape::Flag>")]
    pub allow_http: Option<bool>,
}

/// `token`: where tokens are found, and their limits.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    /// Where to look, in order: `header` (`Authorization: Bearer`), `header:NAME`,
    /// `cookie:NAME`, `query:NAME`. Default `[header]`.
    #[schemars(with = "Option<Vec<shape::TokenSource>>", length(min = 1))]
    pub sources: Option<Vec<String>>,
    /// A longer token is refused with 401 `token too large`. In bytes. Default `8192`.
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub max_bytes: Option<u64>,
    /// Verified-token cache size, in entries; `0` disables it. Default `65536`.
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub cache_entries: Option<u64>,
    /// Verified-token cache bound, in bytes of estimated memory (a cached Cognito token
    /// costs about 5.6 times its length); at least `1048576`. Default `67108864` (64 MiB).
    #[serde(default, deserialize_with = "number")]
    #[schemars(with = "Option<shape::Count>")]
    pub cache_max_bytes: Option<u64>,
}

/// `routes[]`: which requests a route matches and what it asks of their token.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Which requests: exactly one of `path_prefix` or `path`. Required.
    #[serde(rename = "match")]
    #[schemars(required)]
    pub matcher: Option<RawMatch>,
    /// Used in metrics and logs; unique. Default: the route's index.
    pub name: Option<String>,
    /// `none` (token never looked at), `optional` (no token: forwarded without identity; a
    /// token must be valid) or `required`. Default `required`.
    #[schemars(with = "Option<shape::AuthWord>")]
    pub auth: Option<String>,
    /// What a valid token must also carry; refused on `auth: none` routes.
    pub require: Option<RawRequire>,
    /// `logout`: revoke the token's session and answer 204 (needs `auth: required` and a
    /// `revocation` section). Omitted: forward.
    #[schemars(with = "Option<shape::ActionWord>")]
    pub action: Option<String>,
}

/// `routes[].match`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Whole-segment path prefix (`/api` matches `/api` and `/api/x`, not `/apix`).
    pub path_prefix: Option<String>,
    /// Exact path (instead of `path_prefix`).
    pub path: Option<String>,
    /// HTTP methods (`[GET, POST]`). Omitted: all.
    #[schemars(length(min = 1))]
    pub methods: Option<Vec<String>>,
    /// `true`: matches only CORS preflights (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`); needs `auth: none`, refused with `methods`.
    /// Default `false`.
    pub cors_preflight: Option<bool>,
}

/// `routes[].require`: every list given must be satisfied; empty lists require nothing.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequire {
    /// The token's `token_use` must be one of these (`access`, `id`).
    #[schemars(with = "Option<Vec<shape::TokenUseWord>>", length(min = 1))]
    pub token_use: Option<Vec<String>>,
    /// `cognito:groups` must hold at least one of these.
    pub groups_any: Option<Vec<String>>,
    /// `cognito:groups` must hold all of these.
    pub groups_all: Option<Vec<String>>,
    /// The `scope` claim must hold all of these (each scope one word).
    pub scopes_all: Option<Vec<String>>,
    /// The `scope` claim must hold at least one of these (each scope one word).
    pub scopes_any: Option<Vec<String>>,
    /// Claim name, or JSON Pointer (`/identities/0/providerName`) -> accepted values:
    /// strings, numbers or booleans (YAML may give `5` or `true` unquoted); turned into text
    /// by validation.
    #[schemars(with = "Option<BTreeMap<String, shape::ClaimValues>>")]
    pub claims: Option<BTreeMap<String, Vec<serde_yaml::Value>>>,
}

/// `forward`: what reaches the upstream.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawForward {
    /// Every incoming header with this prefix (in any `_`/`.`/case alias) is removed;
    /// identity headers carry it. Default `x-auth-`.
    pub header_prefix: Option<String>,
    /// The header carrying the verified claims as JSON; `""` disables it.
    /// Default `{header_prefix}claims`.
    pub claims_header: Option<String>,
    /// `keep` or `strip` the Authorization header, and every `header:NAME` token header,
    /// towards the upstream (proxy mode). Default `keep`.
    #[schemars(with = "Option<shape::AuthorizationWord>")]
    pub authorization: Option<String>,
    /// Extra header -> claim name, or a JSON Pointer into the payload
    /// (`x-idp: /identities/0/providerName`). Default `{}`.
    pub headers: Option<BTreeMap<String, String>>,
}

/// `authz`: authz mode's settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuthz {
    /// Removed from a check request's path when no `X-Forwarded-Uri`/`X-Original-URI` is
    /// sent (Envoy HTTP ext_authz's `path_prefix`): `""` or a normalized path like `/ext`.
    /// Default `""`.
    pub path_prefix: Option<String>,
    /// Address, `IP:PORT`, of the Envoy ext_authz gRPC listener
    /// (`envoy.service.auth.v3.Authorization/Check`, `grpc.health.v1.Health`).
    /// Default `null` (none).
    pub grpc_listen: Option<String>,
}

/// `log`: the process's log and the access log.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// One JSON object per line, or human-readable text. Default `json`.
    #[schemars(with = "Option<shape::LogFormatWord>")]
    pub format: Option<String>,
    /// A tracing filter directive (`info`, `debug`, `tokengate=debug`); `RUST_LOG`
    /// overrides it. Default `info`.
    pub level: Option<String>,
    /// One line per request. Default `true`.
    #[serde(default, deserialize_with = "boolean")]
    #[schemars(with = "Option<shape::Flag>")]
    pub access_log: Option<bool>,
}

/// `revocation`: revoked sessions and tokens.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// `memory` (this process; kept in `jwks.cache_dir` when set) or `redis` (shared by
    /// every replica). Default `memory`.
    #[schemars(with = "Option<shape::StoreWord>")]
    pub store: Option<String>,
    /// The Redis server of `store: redis`; refused with `store: memory`.
    pub redis: Option<RawRedis>,
    /// An entry is kept this long after the time it applies to; whole seconds. A duration.
    /// Default `24h`.
    #[schemars(with = "Option<shape::Duration>")]
    pub max_token_lifetime: Option<String>,
    /// `redis`: how stale the local list may get before `on_unavailable` decides.
    /// A duration. Default `10s`.
    #[schemars(with = "Option<shape::Duration>")]
    pub max_lag: Option<String>,
    /// `deny`: 503 `keys_unavailable` on token routes while the list is too stale (fail
    /// closed); `allow`: go on with the last list. Default `deny`.
    #[schemars(with = "Option<shape::OnUnavailableWord>")]
    pub on_unavailable: Option<String>,
    /// A file holding the admin API's secret; enables `/revocations` on the admin listener.
    /// Default `null` (no revocation API).
    pub api_token_file: Option<String>,
}

/// `revocation.redis`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://` or `rediss://` (TLS), `user:password@` allowed (use `${NAME}`); never
    /// logged. Required.
    #[schemars(required)]
    pub url: Option<String>,
    /// PEM CA bundle for `rediss://` besides the web PKI roots. Default `null`.
    pub ca_file: Option<String>,
    /// Every key tokengate writes in Redis starts with it. Default `tokengate:`.
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
