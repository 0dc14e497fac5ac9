//! The watch on real files: what wakes it (in-place writes, renames over the file, a
//! Kubernetes `..data` swap) and what does not (reading the files, other files nearby).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn temp_dir(tag: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tg-watch-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::canonicalize(&dir)
}

/// Whether `changed` resolves within `within`.
async fn wakes(watch: &mut Watch, within: Duration) -> bool {
    tokio::time::timeout(within, watch.changed()).await.is_ok()
}

const SOON: Duration = Duration::from_secs(4);
const QUIET: Duration = Duration::from_millis(2500);

#[tokio::test]
async fn an_in_place_write_and_a_rename_over_the_file_wake_it_and_nearby_files_do_not() {
    let dir = temp_dir("inplace").unwrap();
    let file = dir.join("tokengate.yaml");
    std::fs::write(&file, "a").unwrap();
    let mut watch = Watch::start(std::slice::from_ref(&file));
    assert!(!watch.is_polling());

    std::fs::write(dir.join("output.log"), "a log line").unwrap();
    assert!(
        !wakes(&mut watch, QUIET).await,
        "another file in the directory"
    );

    for _ in 0..3 {
        let _ = std::fs::read(&file).unwrap();
    }
    assert!(!wakes(&mut watch, QUIET).await, "reading the file");

    std::fs::write(&file, "b").unwrap();
    assert!(wakes(&mut watch, SOON).await, "an in-place write");

    std::fs::write(dir.join("tokengate.yaml.new"), "c").unwrap();
    std::fs::rename(dir.join("tokengate.yaml.new"), &file).unwrap();
    assert!(wakes(&mut watch, SOON).await, "a rename over the file");
}

#[cfg(unix)]
fn swap(dir: &Path, version: &str, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    let versioned = dir.join(version);
    std::fs::create_dir(&versioned)?;
    std::fs::write(versioned.join("tokengate.yaml"), text)?;
    let _ = std::fs::remove_file(dir.join("..data_tmp"));
    symlink(version, dir.join("..data_tmp"))?;
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data"))
}

#[cfg(unix)]
#[tokio::test]
async fn a_kubernetes_data_swap_wakes_it_every_time() {
    use std::os::unix::fs::symlink;
    let dir = temp_dir("k8s").unwrap();
    swap(&dir, "..2026_01", "a").unwrap();
    symlink("..data/tokengate.yaml", dir.join("tokengate.yaml")).unwrap();
    let file = dir.join("tokengate.yaml");
    let mut watch = Watch::start(std::slice::from_ref(&file));
    for (i, version) in ["..2026_02", "..2026_03"].into_iter().enumerate() {
        swap(&dir, version, &format!("v{i}")).unwrap();
        assert!(wakes(&mut watch, SOON).await, "swap to {version}");
        watch.follow(std::slice::from_ref(&file));
        assert!(watch.dirs.contains(&dir.join(version)), "{:?}", watch.dirs);
    }
}

#[tokio::test]
async fn polling_looks_at_the_files_every_period() {
    let dir = temp_dir("poll").unwrap();
    let file = dir.join("tokengate.yaml");
    std::fs::write(&file, "a").unwrap();
    let mut watch = Watch::polling(std::slice::from_ref(&file), Duration::from_millis(100));
    assert!(watch.is_polling());
    assert!(wakes(&mut watch, Duration::from_secs(1)).await);
    assert!(wakes(&mut watch, Duration::from_secs(1)).await);
}

#[test]
fn a_fingerprint_names_the_files_that_changed_and_only_those() {
    let dir = temp_dir("fingerprint").unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::write(&a, "1").unwrap();
    std::fs::write(&b, "1").unwrap();
    let files = vec![a.clone(), b.clone()];
    let seen = Fingerprint::of(&files);
    assert!(seen.changed(&Fingerprint::of(&files)).is_empty());
    std::fs::write(&b, "2").unwrap();
    assert_eq!(
        seen.changed(&Fingerprint::of(&files)),
        std::slice::from_ref(&b)
    );
    std::fs::remove_file(&a).unwrap();
    assert_eq!(
        seen.changed(&Fingerprint::of(&files)),
        [a.clone(), b.clone()]
    );
    // A file added by a reload is digested once and then compares equal.
    let c = dir.join("c");
    std::fs::write(&c, "1").unwrap();
    let more = vec![a, b, c];
    let now = Fingerprint::of(&files).over(&more);
    assert!(now.changed(&Fingerprint::of(&more)).is_empty());
}
