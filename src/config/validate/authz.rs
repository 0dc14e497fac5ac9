//! `authz`: authz mode's settings, refused in proxy mode. `path_prefix` is "" or a
//! normalized `/segment...` without a trailing slash.

use serde_yaml::Mapping;

use super::Validator;
use crate::config::raw::RawAuthz;
use crate::config::{AuthzConfig, Mode};

impl Validator {
    pub(super) fn authz(&mut self, map: &Mapping, mode: Mode) -> AuthzConfig {
        let Some(value) = map.get("authz").filter(|v| !v.is_null()) else {
            return AuthzConfig::default();
        };
        if mode != Mode::Authz {
            self.problem("authz", "only allowed with mode: authz");
        }
        let Some(raw) = self.de::<RawAuthz>(value, "authz") else {
            return AuthzConfig::default();
        };
        let path_prefix = raw.path_prefix.unwrap_or_default();
        let prefix_ok = path_prefix.is_empty()
            || (path_prefix.starts_with('/')
                && !path_prefix.ends_with('/')
                && crate::proxy::path::normalize(&path_prefix).as_deref()
                    == Ok(path_prefix.as_str()));
        if !prefix_ok {
            self.problem(
                "authz.path_prefix",
                "must be empty or a normalized path like /auth (no trailing slash)",
            );
        }
        let grpc_listen = raw
            .grpc_listen
            .as_deref()
            .map(|addr| self.addr(addr, "authz.grpc_listen"));
        AuthzConfig {
            path_prefix,
            grpc_listen,
        }
    }
}
