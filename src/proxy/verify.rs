//! The verify phase: one token through the snapshot's verifier (its cache first), then the
//! revocation list (when configured), counted under its issuer. A token with an unknown kid
//! waits for the issuer's one shared refetch; the request itself never fetches, locks or
//! blocks, and the revocation check is a few hash lookups in an immutable set.

#![deny(clippy::wildcard_enum_match_arm)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::Snapshot;
use crate::auth::{AuthError, CacheUse, Verified};
use crate::error::Reject;
use crate::jwks::RefreshError;
use crate::metrics::VerifyResult;
use crate::proxy::log::AccessLog;
use crate::revocation::list::Refusal;

/// Beyond the fetch's own timeout, how long a request waits for a refetch to be reported.
const REFETCH_SLACK: Duration = Duration::from_secs(1);

/// Verifies one token and counts the result under its issuer. A token whose kid is unknown
/// waits for the issuer's one shared refetch (if the floor allows one, else it is refused at
/// once) and is verified again; the request itself never fetches. A valid token, cached
/// verdicts included, is then checked against the revocation list.
///
/// `alb`: the token is an ALB's `x-amzn-oidc-data` (the `alb` source), verified against the
/// `alb:` issuers; its unknown kid asks the issuer's key task for that kid's key, and when
/// the key server could not answer (not a 403/404 for the kid) the refusal is 503
/// `keys_unavailable` rather than 401 `unknown kid` (reference section 9).
pub(crate) async fn verify(
    snapshot: &Snapshot,
    token: &str,
    alb: bool,
    log: &mut AccessLog,
) -> Result<Arc<Verified>, Reject> {
    let run = |now| {
        if alb {
            snapshot.verifier.verify_alb_cached(token, now)
        } else {
            snapshot.verifier.verify_cached(token, now)
        }
    };
    let mut now = SystemTime::now();
    let (mut result, cache) = run(now);
    match cache {
        CacheUse::Hit => snapshot.cache_counters.0.inc(),
        CacheUse::Miss => snapshot.cache_counters.1.inc(),
        CacheUse::Disabled => {}
    }
    if let Some((index, issuer)) = result
        .as_ref()
        .err()
        .filter(|e| e.is_unknown_kid())
        .and_then(AuthError::issuer)
        .and_then(|i| Some((i, snapshot.verifier.issuers().get(i)?)))
    {
        let jwks = &snapshot.config.jwks;
        let floor = jwks.min_refresh_interval;
        let waiting = if alb {
            crate::auth::alb::header_kid(token)
                .and_then(|kid| issuer.keys.refetch_for_kid(floor, &kid))
        } else {
            issuer.keys.refetch_for_unknown_kid(floor)
        };
        if let Some(mut fetched) = waiting {
            let limit = jwks.fetch_timeout + REFETCH_SLACK;
            if tokio::time::timeout(limit, fetched.changed()).await.is_ok() {
                now = SystemTime::now();
                result = run(now).0;
            }
        }
        // An ALB key server that failed (timeout, 5xx, not a PEM key) leaves the kid
        // unknown: the key is unavailable, not the token wrong.
        if alb && result.as_ref().err().is_some_and(AuthError::is_unknown_kid) {
            let status = issuer.keys.status();
            if let Some(RefreshError::Fetch(e)) = &status.last_error {
                if crate::jwks::alb::is_unavailable(e) {
                    result = Err(AuthError::KeysUnavailable { issuer: index });
                }
            }
        }
    }
    match result {
        Ok(verified) => {
            let issuer = verified.issuer;
            log.issuer = Some(issuer);
            // Only the access log reads it: no copy per request when it is off.
            if snapshot.config.log.access_log {
                log.sub = Some(verified.identity.sub_text.clone());
            }
            let (counted, outcome) = match revocation(snapshot, &verified, now) {
                Ok(()) => (VerifyResult::Valid, Ok(verified)),
                Err(Refusal::Revoked(revoked)) => (
                    VerifyResult::Revoked,
                    Err(Reject::from(AuthError::Revoked {
                        issuer,
                        kind: revoked.kind,
                    })),
                ),
                Err(Refusal::Unavailable) => (
                    VerifyResult::RevocationUnavailable,
                    Err(Reject::RevocationUnavailable),
                ),
            };
            if let Some(c) = snapshot.issuer_counters(Some(issuer)) {
                c.inc(counted);
            }
            outcome
        }
        Err(e) => {
            let issuer = e.issuer();
            if let Some(c) = snapshot.issuer_counters(issuer) {
                c.inc(verify_result(&e));
            }
            log.issuer = issuer;
            Err(Reject::from(e))
        }
    }
}

/// The revocation check of a verified token: nothing to do without a `revocation` section.
fn revocation(snapshot: &Snapshot, verified: &Verified, now: SystemTime) -> Result<(), Refusal> {
    let Some(revoker) = &snapshot.revocation else {
        return Ok(());
    };
    let Some(issuer) = snapshot.verifier.issuers().get(verified.issuer) else {
        return Ok(());
    };
    revoker.check_claims(&issuer.config.name, &verified.revocation, now)
}

/// The `tokengate_token_verifications_total{result}` a failed verification counts under.
fn verify_result(e: &AuthError) -> VerifyResult {
    match e {
        AuthError::KeysUnavailable { .. } => VerifyResult::KeysUnavailable,
        AuthError::TooLarge { .. }
        | AuthError::Malformed(_)
        | AuthError::MissingIssuer
        | AuthError::UnknownIssuer
        | AuthError::Rejected { .. } => VerifyResult::Invalid,
        AuthError::Revoked { .. } => VerifyResult::Revoked,
    }
}
