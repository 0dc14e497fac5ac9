//! The logout phase of `action: logout` routes (reference section 8): once the token has
//! passed verification and the route's policy, its session (`origin_jti`, else the token's
//! own `jti`) is listed through the revocation store, and tokengate answers 204 itself: the
//! request is never forwarded. Awaits the store (a Redis write) but never holds a lock.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::{Response, StatusCode};

use crate::app::Snapshot;
use crate::auth::Verified;
use crate::error::Reject;
use crate::proxy::body::{full, Body};
use crate::proxy::log::AccessLog;
use crate::revocation::StoreError;

/// The access log's `reason` for a logout that listed the token's session.
pub const LOGGED_OUT: &str = "logged out";

/// Lists the verified token's session; refuses a token with nothing to list (400) and a
/// logout the shared store could not take (503, to retry).
pub async fn logout(
    snapshot: &Snapshot,
    verified: &Verified,
    log: &mut AccessLog,
) -> Result<(), Reject> {
    // Validation allows logout routes only with a revocation section.
    let Some(revoker) = &snapshot.revocation else {
        return Err(Reject::RevocationUnavailable);
    };
    let Some(issuer) = snapshot.verifier.issuers().get(verified.issuer) else {
        return Err(Reject::RevocationUnavailable);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let entry = revoker
        .logout_entry(&issuer.config.name, &verified.claims, now)
        .ok_or(Reject::NothingToRevoke)?;
    match revoker.store.add(entry).await {
        Ok(()) => {}
        // In force in this process; the store has logged why it did not persist.
        Err(StoreError::Persist { .. }) => {}
        Err(StoreError::Unavailable { .. }) => return Err(Reject::RevocationUnavailable),
    }
    log.reason = LOGGED_OUT;
    Ok(())
}

/// The answer to a logout: 204, no body, not to be cached.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
