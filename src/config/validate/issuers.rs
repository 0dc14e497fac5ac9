//! `issuers`: one or more, each Cognito (`cognito:` with region + pool, or an issuer URL),
//! generic OIDC (`issuer:`) or ALB (`alb:`, reference section 9), with its JWKS URI (an ALB
//! issuer: its key URL), audience rules, algorithms and clock skew. Names are unique, and
//! issuer URLs among the issuers of bearer tokens (an ALB issuer writes the user pool's URL
//! too, and is matched by its ARNs instead).

use std::net::IpAddr;

use http::Uri;
use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::{RawAlb, RawCognito, RawIssuer};
use crate::config::{Alg, IssuerConfig, IssuerKind, JwksConfig};

impl Validator {
    pub(super) fn issuers(&mut self, map: &Mapping, jwks: &JwksConfig) -> Vec<IssuerConfig> {
        let raws = self.list::<RawIssuer>(map, "issuers").unwrap_or_default();
        if raws.is_empty() && !self.reported("issuers") {
            self.problem("issuers", "at least one issuer is required");
        }
        let mut out: Vec<IssuerConfig> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let Some(raw) = raw else { continue };
            if let Some(issuer) = self.issuer(raw, &format!("issuers[{i}]"), jwks) {
                if out.iter().any(|o| o.name == issuer.name) {
                    self.problem(&format!("issuers[{i}].name"), "duplicate issuer name");
                }
                if out
                    .iter()
                    .any(|o| o.issuer == issuer.issuer && o.is_alb() == issuer.is_alb())
                {
                    self.problem(&format!("issuers[{i}]"), "duplicate issuer URL");
                }
                out.push(issuer);
            }
        }
        out
    }

    /// One issuer at `at` (`issuers[0]`); `None` when its URL or JWKS URI is unusable.
    fn issuer(&mut self, raw: RawIssuer, at: &str, jwks: &JwksConfig) -> Option<IssuerConfig> {
        let p = |key: &str| format!("{at}.{key}");
        let name = raw.name.unwrap_or_default();
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            self.problem(&p("name"), "required, made of [a-z0-9_-]");
        }
        let issuer_url: Option<String>;
        let kind: IssuerKind;
        if let Some(alb) = raw.alb {
            if raw.cognito.is_some() || raw.issuer.is_some() {
                self.problem(at, "give one of cognito:, issuer: or alb:");
                return None;
            }
            return self
                .alb_issuer(name, alb, raw.client_ids, at, jwks, |v, key| {
                    let given = match key {
                        "jwks_uri" => raw.jwks_uri.is_some(),
                        "audiences" => raw.audiences.is_some(),
                        "token_use" => raw.token_use.is_some(),
                        _ => raw.algorithms.is_some(),
                    };
                    if given {
                        v.problem(
                        &format!("{at}.{key}"),
                        "not with alb: (ES256, the ALB's key URL and client ids are fixed by alb:)",
                    );
                    }
                })
                .map(|mut issuer| {
                    issuer.clock_skew = self.duration_or(
                        raw.clock_skew.as_deref(),
                        defaults::ISSUER_CLOCK_SKEW,
                        &p("clock_skew"),
                    );
                    issuer
                });
        }
        let token_use = self.token_uses(raw.token_use.as_deref(), &p("token_use"));
        match (raw.cognito, raw.issuer) {
            (Some(_), Some(_)) => {
                self.problem(at, "give either cognito: or issuer:, not both");
                return None;
            }
            (None, None) => {
                self.problem(at, "one of cognito:, issuer: or alb: is required");
                return None;
            }
            (Some(c), None) => {
                issuer_url = self.cognito_issuer(c, &p("cognito"));
                let client_ids = raw.client_ids.unwrap_or_default();
                if client_ids.is_empty() || client_ids.iter().any(String::is_empty) {
                    self.problem(&p("client_ids"), "must not be empty");
                }
                // Resource binding (RFC 8707): optional; empty means not judged.
                let audiences = raw.audiences.unwrap_or_default();
                if audiences.iter().any(String::is_empty) {
                    self.problem(&p("audiences"), "must not hold an empty value");
                }
                kind = IssuerKind::Cognito {
                    client_ids,
                    audiences,
                    token_use: token_use
                        .unwrap_or_else(|| defaults::ISSUER_COGNITO_TOKEN_USE.to_vec()),
                };
            }
            (None, Some(issuer)) => {
                issuer_url = Some(issuer);
                let audiences = raw.audiences.unwrap_or_default();
                if audiences.is_empty() || audiences.iter().any(String::is_empty) {
                    self.problem(&p("audiences"), "must not be empty");
                }
                if raw.client_ids.is_some() {
                    self.problem(
                        &p("client_ids"),
                        "only with cognito: (generic issuers use audiences)",
                    );
                }
                if token_use.is_some() {
                    self.problem(&p("token_use"), "only with cognito:");
                }
                kind = IssuerKind::Generic { audiences };
            }
        }
        let issuer_url = issuer_url.map(|u| u.trim().to_owned());
        let jwks_uri = self.jwks_uri(raw.jwks_uri, issuer_url.as_deref(), at, jwks);
        let algorithms = self.algorithms(raw.algorithms, at);
        let clock_skew = self.duration_or(
            raw.clock_skew.as_deref(),
            defaults::ISSUER_CLOCK_SKEW,
            &p("clock_skew"),
        );
        Some(IssuerConfig {
            name,
            issuer: issuer_url?,
            jwks_uri: jwks_uri?,
            kind,
            algorithms,
            clock_skew,
        })
    }

    /// `cognito:` at `at`: region + user_pool_id give the AWS issuer URL
    /// (`https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`), or an explicit `issuer`
    /// (cognito-local, LocalStack); not both.
    fn cognito_issuer(&mut self, c: RawCognito, at: &str) -> Option<String> {
        match (c.region, c.user_pool_id, c.issuer) {
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                self.problem(at, "give region + user_pool_id, or issuer, not both");
                None
            }
            (Some(region), Some(pool), None) => self
                .pool_id(&region, &pool, at)
                .then(|| format!("https://cognito-idp.{region}.amazonaws.com/{pool}")),
            (None, None, Some(issuer)) => Some(issuer),
            _ => {
                self.problem(at, "needs region and user_pool_id (or issuer)");
                None
            }
        }
    }

    /// `{region}_{alphanumeric}`, its region prefix equal to `region`.
    fn pool_id(&mut self, region: &str, pool: &str, path: &str) -> bool {
        let ok = match pool.split_once('_') {
            Some((prefix, id)) => {
                prefix == region && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            None => false,
        };
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            self.problem(
                &format!("{path}.region"),
                "not a region name (e.g. us-east-1)",
            );
        }
        if !ok {
            self.problem(
                &format!("{path}.user_pool_id"),
                format!("must look like {region}_AbC123 (region prefix, underscore, letters and digits)"),
            );
        }
        ok && region_ok
    }

    /// The configured `jwks_uri`, or the issuer URL followed by `defaults::ISSUER_JWKS_PATH`;
    /// `http://` only for loopback hosts or with `jwks.allow_http`.
    fn jwks_uri(
        &mut self,
        configured: Option<String>,
        issuer_url: Option<&str>,
        at: &str,
        jwks: &JwksConfig,
    ) -> Option<Uri> {
        let path = format!("{at}.jwks_uri");
        let text = configured.or_else(|| {
            issuer_url.map(|u| format!("{}{}", u.trim_end_matches('/'), defaults::ISSUER_JWKS_PATH))
        });
        self.key_uri(text, &path, jwks)
    }

    /// A key location at `path` (`jwks_uri`, `alb.key_url`): http(s); `http://` only for
    /// loopback hosts or with `jwks.allow_http`.
    fn key_uri(&mut self, text: Option<String>, path: &str, jwks: &JwksConfig) -> Option<Uri> {
        let uri = text.and_then(|t| self.http_uri(&t, path));
        if let Some(uri) = &uri {
            if uri.scheme_str() == Some("http") && !is_loopback(uri.host()) && !jwks.allow_http {
                self.problem(
                    path,
                    "http:// is allowed only for loopback hosts or with jwks.allow_http: true",
                );
            }
        }
        uri
    }

    /// `algorithms` at `at`, duplicates dropped: never `none` or `HS*`, never empty.
    fn algorithms(&mut self, configured: Option<Vec<String>>, at: &str) -> Vec<Alg> {
        let texts = configured.unwrap_or_else(|| {
            defaults::ISSUER_ALGORITHMS
                .iter()
                .map(|a| (*a).to_owned())
                .collect()
        });
        let mut algorithms = Vec::new();
        for (i, a) in texts.iter().enumerate() {
            match Alg::parse(a) {
                Some(alg) if !algorithms.contains(&alg) => algorithms.push(alg),
                Some(_) => {}
                None if a.eq_ignore_ascii_case("none") || a.to_ascii_uppercase().starts_with("HS") => {
                    self.problem(
                        &format!("{at}.algorithms[{i}]"),
                        format!("`{a}` is never allowed (no unsigned or shared-secret tokens)"),
                    );
                }
                None => self.problem(
                    &format!("{at}.algorithms[{i}]"),
                    format!("unknown algorithm `{a}` (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA)"),
                ),
            }
        }
        let path = format!("{at}.algorithms");
        if algorithms.is_empty() && !self.problems.iter().any(|x| x.path.starts_with(&path)) {
            self.problem(&path, "must not be empty");
        }
        algorithms
    }
}

impl Validator {
    /// `alb:` at `{at}.alb` (reference section 9): `arns` non-empty, each an ELB ARN
    /// ([`alb_arn_region`]); `issuer` non-empty; `key_url` optional, by default
    /// [`defaults::alb_key_url`] of the ARNs' one region (ARNs of two regions need a
    /// `key_url`); `client_ids` non-empty. `refuse` reports the keys ALB issuers do not take.
    fn alb_issuer(
        &mut self,
        name: String,
        alb: RawAlb,
        client_ids: Option<Vec<String>>,
        at: &str,
        jwks: &JwksConfig,
        refuse: impl Fn(&mut Validator, &str),
    ) -> Option<IssuerConfig> {
        for key in ["jwks_uri", "audiences", "token_use", "algorithms"] {
            refuse(self, key);
        }
        let p = |key: &str| format!("{at}.alb.{key}");
        let arns = alb.arns.unwrap_or_default();
        if arns.is_empty() {
            self.problem(&p("arns"), "must not be empty");
        }
        let mut regions: Vec<(&str, &str)> = Vec::new();
        for (i, arn) in arns.iter().enumerate() {
            match alb_arn_region(arn) {
                Some(found) => {
                    if !regions.contains(&found) {
                        regions.push(found);
                    }
                }
                None => self.problem(
                    &format!("{at}.alb.arns[{i}]"),
                    "not an ALB ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)",
                ),
            }
        }
        let key_url = match (alb.key_url, regions.as_slice()) {
            (Some(url), _) => Some(url.trim().trim_end_matches('/').to_owned()),
            (None, [(partition, region)]) => Some(defaults::alb_key_url(partition, region)),
            (None, []) => None,
            (None, _) => {
                self.problem(
                    &p("arns"),
                    "ARNs of more than one region: give alb.key_url (each region has its own key server)",
                );
                None
            }
        };
        let key_url = self.key_uri(key_url, &p("key_url"), jwks);
        let issuer = alb.issuer.map(|i| i.trim().to_owned()).unwrap_or_default();
        if issuer.is_empty() {
            self.problem(
                &p("issuer"),
                "required: the iss the ALB writes (the user pool's issuer URL)",
            );
        }
        let client_ids = client_ids.unwrap_or_default();
        if client_ids.is_empty() || client_ids.iter().any(String::is_empty) {
            self.problem(
                &format!("{at}.client_ids"),
                "must not be empty (the ALB's app client ids)",
            );
        }
        if issuer.is_empty() || arns.is_empty() {
            return None;
        }
        Some(IssuerConfig {
            name,
            issuer,
            jwks_uri: key_url?,
            kind: IssuerKind::Alb { arns, client_ids },
            algorithms: vec![Alg::ES256],
            clock_skew: defaults::ISSUER_CLOCK_SKEW,
        })
    }
}

/// The partition and region of an ALB ARN, as aws-jwt-verify's `AlbJwtVerifier` reads them:
/// `arn:(aws|aws-cn|aws-us-gov):elasticloadbalancing:([a-z]{2}-(gov-)?[a-z]+-\d):.+`.
/// `None` for any other text.
pub fn alb_arn_region(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(5, ':');
    let (Some("arn"), Some(partition), Some("elasticloadbalancing"), Some(region), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") || rest.is_empty() {
        return None;
    }
    let words: Vec<&str> = region.split('-').collect();
    let lower = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = match words.as_slice() {
        [cc, area, n] => {
            cc.len() == 2
                && lower(cc)
                && lower(area)
                && n.len() == 1
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        [cc, "gov", area, n] => {
            cc.len() == 2
                && lower(cc)
                && lower(area)
                && n.len() == 1
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    region_ok.then_some((partition, region))
}

/// `localhost`, or a loopback IPv4/IPv6 literal (brackets allowed).
fn is_loopback(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}
