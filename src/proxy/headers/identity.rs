//! Identity hygiene (reference section 5): strips every client-sent alias of the identity
//! headers, `claims_header` and `forward.headers`, then sets them from a verified token.
//! Runs per request: no lock, no I/O; names are precomputed once in [`HeaderRules::new`].

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::fold::{fold, folded_eq, folded_starts_with, remove_where};
use super::reserved::IdentityHeader;
use super::{hop_by_hop, set, HeaderError};
use crate::auth::identity::encode;
use crate::auth::Identity;
use crate::config::{AuthorizationForward, ClaimPath, ForwardConfig, TokenSource};

/// The identity header names, precomputed from `forward.header_prefix`.
#[derive(Debug, Clone)]
struct IdentityNames {
    sub: HeaderName,
    username: HeaderName,
    email: HeaderName,
    groups: HeaderName,
    scope: HeaderName,
    client_id: HeaderName,
    token_use: HeaderName,
    issuer: HeaderName,
}

impl IdentityNames {
    /// `None` when `prefix` (folded) does not form valid header names.
    fn new(prefix: &str) -> Option<IdentityNames> {
        let name = |header: IdentityHeader| {
            HeaderName::from_bytes(format!("{prefix}{}", header.suffix()).as_bytes()).ok()
        };
        Some(IdentityNames {
            sub: name(IdentityHeader::Sub)?,
            username: name(IdentityHeader::Username)?,
            email: name(IdentityHeader::Email)?,
            groups: name(IdentityHeader::Groups)?,
            scope: name(IdentityHeader::Scope)?,
            client_id: name(IdentityHeader::ClientId)?,
            token_use: name(IdentityHeader::TokenUse)?,
            issuer: name(IdentityHeader::Issuer)?,
        })
    }
}

/// What `forward` says, in the form each request needs. Built once per config.
#[derive(Debug, Clone)]
pub struct HeaderRules {
    /// `header_prefix`, folded (lower case, `_` and `.` read as `-`).
    prefix: String,
    /// `claims_header` and every `forward.headers` name, folded, removed whatever their prefix.
    reserved: Vec<String>,
    strip_authorization: bool,
    /// The `header:NAME` token sources: removed with Authorization when it is stripped.
    token_headers: Vec<HeaderName>,
    /// `None` only if the prefix cannot make header names (validation refuses that config).
    identity: Option<IdentityNames>,
    claims_header: Option<HeaderName>,
    extra: Vec<(HeaderName, ClaimPath)>,
}

impl HeaderRules {
    /// Precomputes the rules of `forward`. A `header_prefix` that cannot form header names
    /// (refused by validation) logs a warning and sets no identity headers.
    pub fn new(forward: &ForwardConfig) -> HeaderRules {
        let prefix = fold(&forward.header_prefix);
        let identity = IdentityNames::new(&prefix);
        if identity.is_none() {
            tracing::warn!(
                header_prefix = %forward.header_prefix,
                "header_prefix does not form valid header names; identity headers are not set"
            );
        }
        let reserved = forward
            .claims_header
            .iter()
            .chain(forward.headers.iter().map(|(name, _)| name))
            .map(|name| fold(name.as_str()))
            .collect();
        HeaderRules {
            prefix,
            reserved,
            strip_authorization: forward.authorization == AuthorizationForward::Strip,
            token_headers: Vec::new(),
            identity,
            claims_header: forward.claims_header.clone(),
            extra: forward.headers.clone(),
        }
    }

    /// The rules with the `header:NAME` token sources among `sources`: like Authorization,
    /// such a header carries a credential, so `forward.authorization: strip` removes it too.
    #[must_use]
    pub fn with_token_sources(mut self, sources: &[TokenSource]) -> HeaderRules {
        self.token_headers = sources
            .iter()
            .filter_map(|source| match source {
                TokenSource::NamedHeader(name) => Some(name.clone()),
                // `x-amzn-oidc-data` is the ALB's, forwarded only when it verified.
                TokenSource::Header
                | TokenSource::Cookie(_)
                | TokenSource::Query(_)
                | TokenSource::Alb => None,
            })
            .collect();
        self
    }

    /// Request hygiene, in the reference order: hop-by-hop and `Connection`-named headers (never
    /// `Host`; `te: trailers` survives for gRPC), then every header whose folded name starts
    /// with the prefix, then `claims_header` and `forward.headers` names (folded), then
    /// `Authorization` and the `header:NAME` token headers when `forward.authorization` is
    /// `strip`.
    ///
    /// Returns the client's `Upgrade` value when it asked for one (`Connection: upgrade` and
    /// exactly one `Upgrade`), so the caller can put it back with
    /// [`restore_upgrade`](super::restore_upgrade) after adding its own headers (WebSocket).
    pub fn strip_request(&self, headers: &mut HeaderMap) -> Option<HeaderValue> {
        let upgrade = hop_by_hop::strip(headers);
        remove_where(headers, |name| self.is_reserved(name));
        if self.strip_authorization {
            headers.remove(AUTHORIZATION);
            for name in &self.token_headers {
                headers.remove(name);
            }
        }
        upgrade
    }

    /// Whether a client-sent header of this name would be removed as a possible identity
    /// spoof: the folded name starts with the prefix, or is `claims_header` or a
    /// `forward.headers` name.
    pub fn is_reserved(&self, name: &str) -> bool {
        // An empty prefix (refused by validation) must not strip every header.
        (!self.prefix.is_empty() && folded_starts_with(name, &self.prefix))
            || self.reserved.iter().any(|r| folded_eq(name, r))
    }

    /// Sets (replacing) the identity headers of a verified token, `claims_header` and each
    /// `forward.headers` entry whose claim is present and not `null`, encoded by
    /// [`encode`] (reference section 5, "Identity header values": escaped, never skipped).
    /// Call after [`HeaderRules::strip_request`].
    ///
    /// # Errors
    /// [`HeaderError::TooManyHeaders`] when the map is full.
    pub fn add_identity(
        &self,
        headers: &mut HeaderMap,
        identity: &Identity,
        claims: &Map<String, Value>,
    ) -> Result<(), HeaderError> {
        for (name, claim) in &self.extra {
            if let Some(value) = claim.lookup(claims).and_then(encode::header_value) {
                set(headers, name.clone(), value)?;
            }
        }
        if let Some(name) = &self.claims_header {
            set(headers, name.clone(), identity.claims.clone())?;
        }
        // Built-in identity headers last, so no configured extra can shadow them.
        let Some(names) = &self.identity else {
            return Ok(());
        };
        set(headers, names.sub.clone(), identity.sub.clone())?;
        set(headers, names.username.clone(), identity.username.clone())?;
        if let Some(email) = &identity.email {
            set(headers, names.email.clone(), email.clone())?;
        }
        set(headers, names.groups.clone(), identity.groups.clone())?;
        if let Some(scope) = &identity.scope {
            set(headers, names.scope.clone(), scope.clone())?;
        }
        set(headers, names.client_id.clone(), identity.client_id.clone())?;
        set(headers, names.token_use.clone(), identity.token_use.clone())?;
        set(headers, names.issuer.clone(), identity.issuer.clone())?;
        Ok(())
    }
}
