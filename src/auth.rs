//! Token verification: `Verifier::verify(token, now)` is synchronous and pure: it reads the
//! issuer's current key set with one lock-free load and never fetches, locks or blocks.

pub mod alb;
pub mod cache;
pub mod claim_path;
pub mod claims;
pub mod identity;
pub mod jwt;
pub mod policy;
pub mod token;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::config::{Alg, IssuerConfig, TokenUse};
use crate::jwks::{IssuerKeys, KeyFamily, VerifyKey};
use crate::revocation::entry::Kind;
use crate::revocation::set::RevocationClaims;

pub use claims::ClaimError;
pub use identity::Identity;
pub use jwt::ParseError;
pub use policy::PolicyError;
pub use token::Token;

/// One configured issuer: its rules and its key-set handle.
#[derive(Debug)]
pub struct Issuer {
    pub config: IssuerConfig,
    pub keys: Arc<IssuerKeys>,
}

/// A token that passed every rule of reference section 3.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Index into `Verifier::issuers()`.
    pub issuer: usize,
    pub kid: String,
    /// Generation of the key set the signature was checked against.
    pub generation: u64,
    /// The key that checked the signature (a cached verdict needs it still in the set).
    pub key: Arc<VerifyKey>,
    /// `exp`, seconds since the epoch.
    pub exp: f64,
    /// `None` for generic issuers.
    pub token_use: Option<TokenUse>,
    /// The verified payload, parsed.
    pub claims: Map<String, Value>,
    /// Header values derived from the claims, computed once.
    pub identity: Identity,
    /// The claims the revocation check reads, read once (reference section 8).
    pub revocation: RevocationClaims,
}

/// Why a token was refused. Each variant is a fact; `description()` is the text users see.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("token of {len} bytes exceeds {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("malformed token: {0}")]
    Malformed(ParseError),
    #[error("no iss claim")]
    MissingIssuer,
    #[error("iss matches no configured issuer")]
    UnknownIssuer,
    #[error("issuer {issuer} has no keys yet")]
    KeysUnavailable { issuer: usize },
    #[error("issuer {issuer}: {rule}")]
    Rejected { issuer: usize, rule: Rule },
    /// Valid by every rule of reference section 3, but a revocation entry of this `kind` names it
    /// (decided by the verify phase after `verify`, cached verdicts included).
    #[error("issuer {issuer}: token revoked ({})", kind.as_str())]
    Revoked { issuer: usize, kind: Kind },
}

/// A rule broken once the issuer is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rule {
    #[error("alg missing")]
    AlgMissing,
    #[error("alg not allowed")]
    AlgNotAllowed,
    #[error("kid missing")]
    KidMissing,
    #[error("crit header present")]
    Crit,
    #[error("unknown kid")]
    UnknownKid,
    #[error("key does not fit the alg")]
    KeyMismatch,
    #[error("bad signature")]
    BadSignature,
    #[error("{0}")]
    Claim(ClaimError),
    /// ALB token: the header's `signer` is none of the issuer's `arns` (reference section 9).
    #[error("signer not allowed")]
    SignerNotAllowed,
    /// ALB token: the header's `client` is none of the issuer's `client_ids`.
    #[error("client not allowed")]
    ClientNotAllowed,
    /// ALB token: the `kid` is not a UUID, so it is never looked up or fetched.
    #[error("kid not a UUID")]
    KidNotUuid,
    /// ALB token: the signature is not 64 bytes of `R||S` (a DER signature, say).
    #[error("signature of {len} bytes, not 64 (R||S)")]
    SignatureNotRaw { len: usize },
}

impl AuthError {
    /// The configured issuer the token was matched to, when verification got that far.
    pub fn issuer(&self) -> Option<usize> {
        match self {
            AuthError::KeysUnavailable { issuer }
            | AuthError::Rejected { issuer, .. }
            | AuthError::Revoked { issuer, .. } => Some(*issuer),
            AuthError::TooLarge { .. }
            | AuthError::Malformed(_)
            | AuthError::MissingIssuer
            | AuthError::UnknownIssuer => None,
        }
    }

    /// Whether a refetch of the issuer's key set could change the verdict.
    pub fn is_unknown_kid(&self) -> bool {
        matches!(
            self,
            AuthError::Rejected {
                rule: Rule::UnknownKid,
                ..
            }
        )
    }

    /// The `error_description` of the 401: names the rule, never echoes the token.
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::TooLarge { .. } => "token too large",
            AuthError::Malformed(ParseError::DuplicateKey { .. }) => "duplicate JSON key",
            AuthError::Malformed(ParseError::Base64 { .. }) => "token not base64url",
            AuthError::Malformed(_) => "malformed token",
            AuthError::MissingIssuer => "iss missing",
            AuthError::UnknownIssuer => "unknown issuer",
            AuthError::KeysUnavailable { .. } => "issuer has no keys yet",
            AuthError::Revoked { .. } => "token revoked",
            AuthError::Rejected { rule, .. } => match rule {
                Rule::AlgMissing => "alg missing",
                Rule::AlgNotAllowed => "alg not allowed",
                Rule::KidMissing => "kid missing",
                Rule::Crit => "crit header not supported",
                Rule::UnknownKid => "unknown kid",
                Rule::KeyMismatch => "key does not match alg",
                Rule::BadSignature => "bad signature",
                Rule::Claim(c) => c.description(),
                Rule::SignerNotAllowed => "signer not allowed",
                Rule::ClientNotAllowed => "client not allowed",
                Rule::KidNotUuid => "kid not a UUID",
                Rule::SignatureNotRaw { .. } => "signature not 64 bytes (R||S)",
            },
        }
    }
}

#[derive(Debug)]
pub struct Verifier {
    issuers: Vec<Issuer>,
    max_bytes: usize,
    cache: cache::VerifyCache,
}

/// Whether a verdict came from the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Hit,
    Miss,
    Disabled,
}

impl Verifier {
    /// A verifier without a verified-token cache.
    pub fn new(issuers: Vec<Issuer>, max_bytes: usize) -> Verifier {
        Verifier::with_cache(issuers, max_bytes, 0, 0)
    }

    /// A verifier with a verified-token cache of at most `cache_entries` entries (0: none)
    /// and at most `cache_max_bytes` bytes of estimated memory ([`cache::entry_bytes`]).
    pub fn with_cache(
        issuers: Vec<Issuer>,
        max_bytes: usize,
        cache_entries: usize,
        cache_max_bytes: u64,
    ) -> Verifier {
        Verifier {
            issuers,
            max_bytes,
            cache: cache::VerifyCache::new(cache_entries, cache_max_bytes),
        }
    }

    /// The verified-token cache's entries and their total weight in bytes (each entry
    /// weighs its estimated bytes, at least `cache_max_bytes / cache_entries`).
    pub fn cache_usage(&self) -> (usize, u64) {
        self.cache.usage()
    }

    /// `verify` through the verified-token cache: a hit skips parsing, signature and claim
    /// work; only successful verdicts are cached.
    pub fn verify_cached(
        &self,
        token: &str,
        now: SystemTime,
    ) -> (Result<Arc<Verified>, AuthError>, CacheUse) {
        self.cached(token, now, false)
    }

    /// `verify_alb` through the verified-token cache, like [`Verifier::verify_cached`]. A
    /// verdict is used only for the kind of source it was made for: an ALB verdict never
    /// answers a bearer token of the same text, nor the reverse.
    pub fn verify_alb_cached(
        &self,
        token: &str,
        now: SystemTime,
    ) -> (Result<Arc<Verified>, AuthError>, CacheUse) {
        self.cached(token, now, true)
    }

    fn cached(
        &self,
        token: &str,
        now: SystemTime,
        alb: bool,
    ) -> (Result<Arc<Verified>, AuthError>, CacheUse) {
        let verify = |token| {
            if alb {
                self.verify_alb(token, now)
            } else {
                self.verify(token, now)
            }
        };
        if !self.cache.enabled() {
            return (verify(token).map(Arc::new), CacheUse::Disabled);
        }
        let hit = self.cache.get(token, &self.issuers, now).filter(|hit| {
            self.issuers
                .get(hit.issuer)
                .is_some_and(|i| i.config.is_alb() == alb)
        });
        if let Some(hit) = hit {
            return (Ok(hit), CacheUse::Hit);
        }
        let result = verify(token).map(Arc::new);
        if let Ok(verified) = &result {
            self.cache.insert(token, Arc::clone(verified));
        }
        (result, CacheUse::Miss)
    }

    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// Verifies an ALB `x-amzn-oidc-data` token against the `alb:` issuers at time `now`
    /// (reference section 9; the rules are in [`alb::verify`]), after the `token.max_bytes`
    /// cap.
    pub fn verify_alb(&self, token: &str, now: SystemTime) -> Result<Verified, AuthError> {
        if token.len() > self.max_bytes {
            return Err(AuthError::TooLarge {
                len: token.len(),
                limit: self.max_bytes,
            });
        }
        alb::verify(&self.issuers, token, now)
    }

    /// Verifies `token` against every rule of reference section 3 at time `now`. `alb:`
    /// issuers are never chosen here: their tokens come from the `alb` source only.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Verified, AuthError> {
        if token.len() > self.max_bytes {
            return Err(AuthError::TooLarge {
                len: token.len(),
                limit: self.max_bytes,
            });
        }
        let parsed = jwt::parse(token).map_err(AuthError::Malformed)?;
        let iss = match parsed.payload.get("iss") {
            Some(Value::String(iss)) => iss,
            _ => return Err(AuthError::MissingIssuer),
        };
        let (index, issuer) = self
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.config.issuer == *iss && !i.config.is_alb())
            .ok_or(AuthError::UnknownIssuer)?;
        let reject = |rule: Rule| AuthError::Rejected {
            issuer: index,
            rule,
        };

        // Header rules.
        let alg = match parsed.header.get("alg") {
            Some(Value::String(a)) => a,
            _ => return Err(reject(Rule::AlgMissing)),
        };
        let alg = Alg::parse(alg)
            .filter(|a| issuer.config.algorithms.contains(a))
            .ok_or_else(|| reject(Rule::AlgNotAllowed))?;
        if parsed.header.contains_key("crit") {
            return Err(reject(Rule::Crit));
        }
        let kid = match parsed.header.get("kid") {
            Some(Value::String(k)) if !k.is_empty() => k,
            _ => return Err(reject(Rule::KidMissing)),
        };

        // Key: only from the configured key set (jku, x5u, jwk, x5c are never read).
        let set = issuer
            .keys
            .load()
            .ok_or(AuthError::KeysUnavailable { issuer: index })?;
        let key = set.get(kid).ok_or_else(|| reject(Rule::UnknownKid))?;
        if !key.family.fits(alg) || key.alg.is_some_and(|a| a != alg) {
            return Err(reject(Rule::KeyMismatch));
        }
        let valid = match (&key.parsed, alg) {
            (Some(rs256), Alg::RS256) if key.family == KeyFamily::Rsa => rs256
                .verify_sig(parsed.signing_input.as_bytes(), &parsed.signature)
                .is_ok(),
            _ => jsonwebtoken::crypto::verify(
                parsed.signature_b64,
                parsed.signing_input.as_bytes(),
                &key.key,
                algorithm(alg),
            )
            .unwrap_or(false),
        };
        if !valid {
            return Err(reject(Rule::BadSignature));
        }

        // Claims.
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let checked = claims::check(&issuer.config, &parsed.payload, now)
            .map_err(|c| reject(Rule::Claim(c)))?;
        // Infallible: no claim character makes a valid token fail (reference section 3, item 8).
        let identity = Identity::build(
            &issuer.config,
            &parsed.payload,
            &checked,
            parsed.payload_b64,
        );
        Ok(Verified {
            issuer: index,
            kid: kid.clone(),
            generation: set.generation,
            key: Arc::clone(key),
            exp: checked.exp,
            token_use: checked.token_use,
            revocation: RevocationClaims::of(&parsed.payload, checked.token_use),
            claims: parsed.payload,
            identity,
        })
    }
}

fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA => Algorithm::EdDSA,
    }
}

#[cfg(test)]
mod attacks;

#[cfg(test)]
mod shapes;
