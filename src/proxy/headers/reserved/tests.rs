//! Tests of the reserved-name list: every name header hygiene owns is refused in
//! `forward.headers`, under every alias a backend would fold to the same name.

use super::*;

const PREFIX: &str = "x-auth-";
const CLAIMS: Option<&str> = Some("x-auth-claims");

fn conflict(name: &str) -> Option<Reserved> {
    forward_header_conflict(name, PREFIX, CLAIMS)
}

#[test]
fn every_hop_by_hop_name_is_refused() {
    for name in HOP_BY_HOP {
        assert_eq!(conflict(name.as_str()), Some(Reserved::HopByHop), "{name}");
    }
    assert_eq!(conflict("Keep_Alive"), Some(Reserved::HopByHop));
    assert_eq!(conflict("transfer.encoding"), Some(Reserved::HopByHop));
}

#[test]
fn forwarded_headers_are_refused_under_every_alias() {
    for name in [
        "x-forwarded-for",
        "X_Forwarded_Host",
        "x.forwarded.proto",
        "x-forwarded-port",
        "forwarded",
        "Forwarded",
    ] {
        assert_eq!(conflict(name), Some(Reserved::Forwarded), "{name}");
    }
    for name in [X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST] {
        assert_eq!(conflict(name.as_str()), Some(Reserved::Forwarded), "{name}");
    }
}

#[test]
fn host_credentials_and_framing_are_refused() {
    assert_eq!(conflict("host"), Some(Reserved::Host));
    assert_eq!(conflict("HOST"), Some(Reserved::Host));
    assert_eq!(conflict("authorization"), Some(Reserved::Authorization));
    assert_eq!(conflict("cookie"), Some(Reserved::Cookie));
    assert_eq!(conflict("content_length"), Some(Reserved::ContentLength));
    for name in ["x-request-id", "X_Request_Id", "traceparent", "TraceState"] {
        assert_eq!(conflict(name), Some(Reserved::Tracing), "{name}");
    }
}

#[test]
fn identity_names_are_refused_under_every_alias_of_the_prefix() {
    for header in IdentityHeader::ALL {
        let name = format!("{PREFIX}{}", header.suffix());
        assert_eq!(conflict(&name), Some(Reserved::Identity), "{name}");
    }
    for name in [
        "X_Auth_Sub",
        "x.auth.groups",
        "X-AUTH-CLIENT_ID",
        "x_auth_token.use",
    ] {
        assert_eq!(conflict(name), Some(Reserved::Identity), "{name}");
    }
    assert_eq!(
        forward_header_conflict("x-user-email", "X_User.", None),
        Some(Reserved::Identity),
        "the prefix is folded too"
    );
}

#[test]
fn other_names_under_the_prefix_are_allowed() {
    // config/examples/multi-pool.yaml forwards `x-auth-tenant`; the prefix strip removes any
    // client-sent copy, so only the names tokengate sets itself conflict.
    assert_eq!(conflict("x-auth-tenant"), None);
    assert_eq!(conflict("x-auth-subject"), None);
}

#[test]
fn the_claims_header_is_refused_under_every_alias() {
    assert_eq!(conflict("X_Auth_Claims"), Some(Reserved::ClaimsHeader));
    let payload = Some("x-jwt-payload");
    assert_eq!(
        forward_header_conflict("x.jwt.payload", PREFIX, payload),
        Some(Reserved::ClaimsHeader)
    );
    assert_eq!(forward_header_conflict("x-auth-claims", PREFIX, None), None);
}

#[test]
fn a_plain_name_is_allowed() {
    assert_eq!(conflict("x-tenant"), None);
    assert_eq!(conflict("tenant-id"), None);
    assert_eq!(
        conflict("x-forwarded"),
        None,
        "not of the x-forwarded- family"
    );
}

#[test]
fn every_reason_has_a_description() {
    for reserved in [
        Reserved::HopByHop,
        Reserved::Forwarded,
        Reserved::Host,
        Reserved::Authorization,
        Reserved::Cookie,
        Reserved::ContentLength,
        Reserved::Identity,
        Reserved::ClaimsHeader,
    ] {
        assert!(!reserved.description().is_empty(), "{reserved:?}");
    }
}
