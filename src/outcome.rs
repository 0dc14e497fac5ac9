//! The `outcome` of a request or check: the label of `tokengate_requests_total`,
//! `tokengate_authz_decisions_total` and the access log's `outcome` field. A fixed set.

#![deny(clippy::wildcard_enum_match_arm)]

/// How tokengate answered one request or check (the reference's metrics section: one label value
/// per row of the refusal table, plus `allowed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    MissingToken,
    InvalidToken,
    InsufficientScope,
    InvalidRequest,
    NoRoute,
    KeysUnavailable,
    BadGateway,
    GatewayTimeout,
}

impl Outcome {
    /// Every outcome, in declaration order (so `ALL[o.index()] == o`); metrics resolve one
    /// handle per entry so all label values are exported from the start, at zero.
    pub const ALL: [Outcome; 9] = [
        Outcome::Allowed,
        Outcome::MissingToken,
        Outcome::InvalidToken,
        Outcome::InsufficientScope,
        Outcome::InvalidRequest,
        Outcome::NoRoute,
        Outcome::KeysUnavailable,
        Outcome::BadGateway,
        Outcome::GatewayTimeout,
    ];

    /// The label value, also the `error` field of tokengate's JSON refusal body.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::MissingToken => "missing_token",
            Outcome::InvalidToken => "invalid_token",
            Outcome::InsufficientScope => "insufficient_scope",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::NoRoute => "no_route",
            Outcome::KeysUnavailable => "keys_unavailable",
            Outcome::BadGateway => "bad_gateway",
            Outcome::GatewayTimeout => "gateway_timeout",
        }
    }

    /// The position in [`Outcome::ALL`], for per-outcome handle vectors.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_label_is_distinct() {
        let mut labels: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Outcome::ALL.len());
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }
}
