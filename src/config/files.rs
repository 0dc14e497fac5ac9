//! The files a configuration names (certificates, keys, CA bundles, secrets): the one list
//! that file watching follows, and the SHA-256 of a file's bytes, which is what a reload
//! compares ("did this file change?"). Never called per request.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

use crate::config::Config;

/// The SHA-256 of a file's contents.
pub type Digest = [u8; 32];

impl Config {
    /// Every file this configuration reads, in a fixed order, each once. A new key naming a
    /// file is added here, and file watching and reload follow it. Directories tokengate
    /// writes to (`jwks.cache_dir`) are not listed: watching them would wake the watcher on
    /// every JWKS refresh.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        let mut add = |path: Option<&Path>| {
            if let Some(path) = path {
                if !files.iter().any(|known| known == path) {
                    files.push(path.to_owned());
                }
            }
        };
        if let Some(tls) = &self.server.tls {
            add(Some(&tls.cert_file));
            add(Some(&tls.key_file));
        }
        add(self.jwks.ca_file.as_deref());
        add(self.upstream.as_ref().and_then(|u| u.ca_file.as_deref()));
        if let Some(revocation) = &self.revocation {
            add(revocation.api_token.as_ref().map(|t| t.file.as_path()));
            if let crate::config::StoreKind::Redis(redis) = &revocation.store {
                add(redis.ca_file.as_deref());
            }
        }
        files
    }
}

/// The digest of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// The digest of the file's current contents (symlinks followed); `None` when it cannot
/// be read (absent, a directory, no permission): that, too, is a state a reload compares.
pub fn digest_file(path: &Path) -> Option<Digest> {
    std::fs::read(path).ok().map(|bytes| digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "upstream: {{ url: 'http://127.0.0.1:1' }}\nissuers:\n  - name: main\n    cognito: {{ region: us-east-1, user_pool_id: us-east-1_A1 }}\n    client_ids: [c]\n{extra}"
        );
        match crate::config::load_str(&text, &|_| None) {
            Ok(config) => config,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_config_without_files_names_none() {
        assert!(config("").files().is_empty());
    }

    #[test]
    fn every_named_file_is_listed_once_in_a_fixed_order() {
        let mut c = config("");
        c.server.tls = Some(crate::config::TlsConfig {
            cert_file: PathBuf::from("/etc/tg/tls.crt"),
            key_file: PathBuf::from("/etc/tg/tls.key"),
        });
        c.jwks.ca_file = Some(PathBuf::from("/etc/tg/ca.pem"));
        if let Some(upstream) = c.upstream.as_mut() {
            upstream.ca_file = Some(PathBuf::from("/etc/tg/ca.pem"));
        }
        let names: Vec<String> = c.files().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            ["/etc/tg/tls.crt", "/etc/tg/tls.key", "/etc/tg/ca.pem"]
        );
    }

    #[test]
    fn digests_tell_contents_apart_and_a_missing_file_is_none() {
        assert_eq!(digest(b"a"), digest(b"a"));
        assert_ne!(digest(b"a"), digest(b"b"));
        assert_eq!(digest_file(Path::new("/nonexistent/tokengate/x.pem")), None);
    }
}
