//! The last good JWKS of each issuer on disk (`jwks.cache_dir`), so a restart during an
//! identity-provider outage is ready at once. One file per issuer, written atomically
//! (`private_file`: temp file, fsync, rename, mode 0600). Blocking I/O: call from
//! `spawn_blocking` only.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one cache file holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    /// The JWKS URI the document came from: a file written for another URI is ignored.
    jwks_uri: String,
    /// When the document was last fetched successfully (seconds since the epoch).
    fetched_at: u64,
    jwks: Value,
}

/// Why a cache file was not used.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot read or write the cache file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the cache file is not a tokengate JWKS cache")]
    Corrupt,
    #[error("the cache file was written for another jwks_uri")]
    OtherUri,
}

/// `{cache_dir}/{issuer}.jwks.json`; issuer names are `[a-z0-9_-]+`, so this stays inside.
pub fn path(dir: &Path, issuer: &str) -> PathBuf {
    dir.join(format!("{issuer}.jwks.json"))
}

/// Writes the document atomically: a reader sees the old file or the new one, never half.
pub fn write(
    dir: &Path,
    issuer: &str,
    jwks_uri: &str,
    fetched_at: SystemTime,
    body: &[u8],
) -> Result<(), DiskError> {
    let jwks: Value = serde_json::from_slice(body).map_err(|_| DiskError::Corrupt)?;
    let file = CacheFile {
        jwks_uri: jwks_uri.to_owned(),
        fetched_at: fetched_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        jwks,
    };
    let bytes = serde_json::to_vec(&file).map_err(|_| DiskError::Corrupt)?;
    crate::private_file::write_atomic(dir, &format!("{issuer}.jwks.json"), &bytes)?;
    Ok(())
}

/// Reads an issuer's cached document: `Ok(None)` when there is none.
pub fn read(
    dir: &Path,
    issuer: &str,
    jwks_uri: &str,
) -> Result<Option<(Vec<u8>, SystemTime)>, DiskError> {
    let bytes = match fs::read(path(dir, issuer)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let file: CacheFile = serde_json::from_slice(&bytes).map_err(|_| DiskError::Corrupt)?;
    if file.jwks_uri != jwks_uri {
        return Err(DiskError::OtherUri);
    }
    let body = serde_json::to_vec(&file.jwks).map_err(|_| DiskError::Corrupt)?;
    Ok(Some((
        body,
        UNIX_EPOCH + Duration::from_secs(file.fetched_at),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tg-disk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_written_set_reads_back_with_its_fetch_time() {
        let d = dir("roundtrip");
        let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        write(&d, "main", "https://x/jwks", at, br#"{"keys":[]}"#).unwrap();
        let (body, when) = read(&d, "main", "https://x/jwks").unwrap().unwrap();
        assert_eq!(when, at);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            serde_json::json!({"keys": []})
        );
        assert!(!d.join(".main.jwks.json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("mode");
        write(&d, "main", "u", SystemTime::now(), b"{}").unwrap();
        let mode = fs::metadata(path(&d, "main")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn missing_corrupt_and_foreign_files_are_told_apart() {
        let d = dir("bad");
        assert!(read(&d, "main", "u").unwrap().is_none());
        write(&d, "main", "u", SystemTime::now(), b"{}").unwrap();
        assert!(matches!(
            read(&d, "main", "other"),
            Err(DiskError::OtherUri)
        ));
        fs::write(path(&d, "main"), b"{garbage").unwrap();
        assert!(matches!(read(&d, "main", "u"), Err(DiskError::Corrupt)));
    }
}
