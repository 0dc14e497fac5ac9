//! Writing a private file atomically: a temp file beside it (mode 0600), fsync, rename,
//! fsync of the directory (created 0700 if missing). A reader sees the old file or the new
//! one, never half. Blocking I/O: call from `spawn_blocking` only.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Replaces `dir/name` with `bytes`; `dir` is created (mode 0700) if missing.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = options.open(&temp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
    }
    fs::rename(&temp, &target)?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_kept_private() {
        let dir = std::env::temp_dir().join(format!("tg-private-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_atomic(&dir, "a.json", b"one").unwrap();
        write_atomic(&dir, "a.json", b"two").unwrap();
        assert_eq!(fs::read(dir.join("a.json")).unwrap(), b"two");
        assert!(!dir.join(".a.json.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join("a.json")), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
    }
}
