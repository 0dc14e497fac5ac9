//! ALB `x-amzn-oidc-data` tokens (reference section 9): a dedicated parser, because the ALB
//! pads its base64url segments with `=` (which RFC 7515 and `jwt::parse` refuse), and the
//! rules that tie a token to the configured ALB (`signer`, `client`, `iss`, ES256 with a
//! fixed-width `R||S` signature over the segments exactly as received). Pure and
//! synchronous like `Verifier::verify`: one lock-free key-set load, never a fetch.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::auth::jwt::{strict_object, ParseError, Segment};
use crate::auth::{claims, AuthError, Identity, Issuer, Rule, Verified};
use crate::config::IssuerKind;
use crate::jwks::KeyFamily;
use crate::revocation::set::RevocationClaims;

/// The one algorithm an ALB signs with: ECDSA P-256 with SHA-256.
const ES256: &str = "ES256";
/// A fixed-width ES256 signature: `R` then `S`, 32 bytes each (RFC 7518 section 3.4).
const RAW_SIGNATURE_LEN: usize = 64;

/// An ALB token split and decoded, not yet trusted.
#[derive(Debug)]
pub struct AlbParsed<'a> {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `header_segment.payload_segment` exactly as received, padding included: the bytes
    /// the ALB signed.
    pub signing_input: &'a str,
    /// The payload segment as received (it may end in `=`).
    pub payload_b64: &'a str,
    /// The signature bytes (any length here; the rules want 64).
    pub signature: Vec<u8>,
}

/// Splits an ALB token: three segments, each base64url (URL alphabet, canonical trailing
/// bits) followed by no `=` or by exactly the padding its length needs (one or two `=`);
/// header and payload JSON objects without a repeated key at any depth. Anything else is
/// refused: `=` inside a segment, three `=`, padding that does not fit the length.
///
/// # Errors
/// [`ParseError`]: the segment count, or which segment is not base64url / JSON / an object.
pub fn parse(token: &str) -> Result<AlbParsed<'_>, ParseError> {
    let count = token.split('.').count();
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(p), Some(s), 3) = (parts.next(), parts.next(), parts.next(), count) else {
        return Err(ParseError::Segments { count });
    };
    let signature = decode(s, Segment::Signature)?;
    let header = strict_object(&decode(h, Segment::Header)?, Segment::Header)?;
    let payload = strict_object(&decode(p, Segment::Payload)?, Segment::Payload)?;
    Ok(AlbParsed {
        header,
        payload,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload_b64: p,
        signature,
    })
}

/// One segment: non-empty base64url, then zero `=`, or exactly the `=` that make its
/// length a multiple of 4.
fn decode(segment_b64: &str, segment: Segment) -> Result<Vec<u8>, ParseError> {
    let body = segment_b64.trim_end_matches('=');
    let pad = segment_b64.len() - body.len();
    let fits = pad == 0 || (pad <= 2 && segment_b64.len().is_multiple_of(4));
    if body.is_empty() || !fits {
        return Err(ParseError::Base64 { segment });
    }
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| ParseError::Base64 { segment })
}

/// Whether `kid` has the shape of a UUID, as aws-jwt-verify's `AlbJwksCache` requires
/// before fetching (8-4-4-4-12 hexadecimal digits, either case): no other kid reaches the
/// key server.
pub fn is_uuid(kid: &str) -> bool {
    // Checked on the request path: byte positions, no allocation.
    kid.len() == 36
        && kid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The header's `kid` when it is a UUID (the verify phase asks the key task for it).
pub fn header_kid(token: &str) -> Option<String> {
    let parsed = parse(token).ok()?;
    match parsed.header.get("kid") {
        Some(Value::String(kid)) if is_uuid(kid) => Some(kid.clone()),
        _ => None,
    }
}

/// The `arns` and `client_ids` of an `alb:` issuer; `None` for the others.
fn alb(issuer: &Issuer) -> Option<(&[String], &[String])> {
    match &issuer.config.kind {
        IssuerKind::Alb { arns, client_ids } => Some((arns, client_ids)),
        IssuerKind::Cognito { .. } | IssuerKind::Generic { .. } => None,
    }
}

/// Verifies an ALB token against the `alb:` issuers at `now` (reference section 9), in
/// this order: parse; the issuer whose `arns` hold the header's `signer` (none: refused as
/// `signer not allowed` under the first ALB issuer); header `alg` exactly `ES256`, no
/// `crit`, `kid` a UUID, `client` one of `client_ids`, `iss` the issuer; a 64-byte
/// signature; the kid's key (only from the issuer's fetched keys); the signature over the
/// segments as received; then the claim rules (`exp` a number, with `clock_skew`; payload
/// `iss` the issuer when present). The caller has checked `token.max_bytes`.
///
/// # Errors
/// The first [`AuthError`] in that order.
pub fn verify(issuers: &[Issuer], token: &str, now: SystemTime) -> Result<Verified, AuthError> {
    let parsed = parse(token).map_err(AuthError::Malformed)?;
    let text = |name: &str| match parsed.header.get(name) {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let signer = text("signer");
    let matched = issuers.iter().enumerate().find(|(_, i)| {
        alb(i).is_some_and(|(arns, _)| signer.is_some_and(|s| arns.iter().any(|a| a == s)))
    });
    let Some((index, issuer)) = matched else {
        return match issuers.iter().position(|i| alb(i).is_some()) {
            Some(issuer) => Err(AuthError::Rejected {
                issuer,
                rule: Rule::SignerNotAllowed,
            }),
            None => Err(AuthError::UnknownIssuer),
        };
    };
    let reject = |rule: Rule| AuthError::Rejected {
        issuer: index,
        rule,
    };
    let client_ids = alb(issuer).map_or(&[][..], |(_, c)| c);

    // Header rules: everything that ties the token to this ALB, before any key is looked at.
    match parsed.header.get("alg") {
        Some(Value::String(alg)) if alg == ES256 => {}
        Some(_) => return Err(reject(Rule::AlgNotAllowed)),
        None => return Err(reject(Rule::AlgMissing)),
    }
    if parsed.header.contains_key("crit") {
        return Err(reject(Rule::Crit));
    }
    let kid = match text("kid") {
        Some(kid) if is_uuid(kid) => kid,
        Some(kid) if !kid.is_empty() => return Err(reject(Rule::KidNotUuid)),
        _ => return Err(reject(Rule::KidMissing)),
    };
    let client = match text("client") {
        Some(client) if client_ids.iter().any(|c| c == client) => client,
        _ => return Err(reject(Rule::ClientNotAllowed)),
    };
    if text("iss") != Some(issuer.config.issuer.as_str()) {
        return Err(reject(Rule::Claim(claims::ClaimError::IssNotAllowed)));
    }
    if parsed.signature.len() != RAW_SIGNATURE_LEN {
        return Err(reject(Rule::SignatureNotRaw {
            len: parsed.signature.len(),
        }));
    }

    // Key: only the one fetched from the issuer's key URL for this kid.
    let set = issuer
        .keys
        .load()
        .ok_or(AuthError::KeysUnavailable { issuer: index })?;
    let key = set.get(kid).ok_or_else(|| reject(Rule::UnknownKid))?;
    let valid = match (&key.parsed, key.family) {
        (Some(parsed_key), KeyFamily::EcP256) => parsed_key
            .verify_sig(parsed.signing_input.as_bytes(), &parsed.signature)
            .is_ok(),
        _ => return Err(reject(Rule::KeyMismatch)),
    };
    if !valid {
        return Err(reject(Rule::BadSignature));
    }

    // Claims.
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut checked =
        claims::check(&issuer.config, &parsed.payload, now).map_err(|c| reject(Rule::Claim(c)))?;
    client.clone_into(&mut checked.client_id);
    // `x-auth-claims` is base64url without padding: the same bytes, the `=` dropped.
    let identity = Identity::build(
        &issuer.config,
        &parsed.payload,
        &checked,
        parsed.payload_b64.trim_end_matches('='),
    );
    Ok(Verified {
        issuer: index,
        kid: kid.to_owned(),
        generation: set.generation,
        key: Arc::clone(key),
        exp: checked.exp,
        token_use: None,
        // No jti/origin_jti and no `client_id` claim: `sub` cut-offs are what apply.
        revocation: RevocationClaims::of(&parsed.payload, None),
        claims: parsed.payload,
        identity,
    })
}

#[cfg(test)]
mod tests;
