//! Where a watched path really is: every symlink met on the way to it and the file at the
//! end. Kubernetes mounts a ConfigMap or Secret as `dir/name -> ..data/name` with
//! `..data -> ..2026_01_01_00_00_00.123`, and updates it by renaming a new `..data` over
//! the old one: the event to notice is on `dir/..data`, a path that is neither the file
//! nor its target, so it must be among the paths watched for.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed before a path is taken to loop (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// A path resolved component by component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Each symlink met, named by its resolved directory and its own name.
    pub links: Vec<PathBuf>,
    /// The path every symlink resolved (it need not exist).
    pub target: PathBuf,
}

impl Resolved {
    /// The links and the target: the paths whose events mean the file may have changed.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.links
            .iter()
            .map(PathBuf::as_path)
            .chain(std::iter::once(self.target.as_path()))
    }
}

/// Resolves `path` (made absolute against the working directory first) like `realpath`,
/// keeping every symlink it passes. A missing component ends the resolution there: the
/// rest is taken as written.
pub fn resolve(path: &Path) -> Resolved {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut todo: VecDeque<OsString> = VecDeque::new();
    let mut done = PathBuf::new();
    push_front(&mut todo, &mut done, &absolute);
    let mut links = Vec::new();
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            done.pop();
            continue;
        }
        let candidate = done.join(&name);
        match std::fs::read_link(&candidate) {
            Ok(target) if links.len() < MAX_LINKS => {
                links.push(candidate);
                push_front(&mut todo, &mut done, &target);
            }
            Ok(_) | Err(_) => done = candidate,
        }
    }
    Resolved {
        links,
        target: done,
    }
}

/// Puts `path`'s components before the remaining ones; an absolute `path` restarts from
/// its root (a symlink to an absolute target).
fn push_front(todo: &mut VecDeque<OsString>, done: &mut PathBuf, path: &Path) {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                done.clear();
                done.push(component.as_os_str());
                names.clear();
            }
            Component::CurDir => {}
            Component::ParentDir => names.push(OsString::from("..")),
            Component::Normal(name) => names.push(name.to_owned()),
        }
    }
    for name in names.into_iter().rev() {
        todo.push_front(name);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp_dir(tag: &str) -> std::io::Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("tg-links-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::canonicalize(&dir)
    }

    #[test]
    fn a_plain_file_has_no_links() {
        let dir = temp_dir("plain").unwrap();
        std::fs::write(dir.join("a.yaml"), "x").unwrap();
        let r = resolve(&dir.join("a.yaml"));
        assert!(r.links.is_empty());
        assert_eq!(r.target, dir.join("a.yaml"));
    }

    #[test]
    fn a_kubernetes_mount_names_the_file_link_the_data_link_and_the_versioned_file() {
        let dir = temp_dir("k8s").unwrap();
        std::fs::create_dir(dir.join("..2026_01")).unwrap();
        std::fs::write(dir.join("..2026_01/tokengate.yaml"), "x").unwrap();
        symlink("..2026_01", dir.join("..data")).unwrap();
        symlink("..data/tokengate.yaml", dir.join("tokengate.yaml")).unwrap();
        let r = resolve(&dir.join("tokengate.yaml"));
        assert_eq!(r.links, [dir.join("tokengate.yaml"), dir.join("..data")]);
        assert_eq!(r.target, dir.join("..2026_01/tokengate.yaml"));
    }

    #[test]
    fn absolute_and_dot_dot_targets_and_loops_end() {
        let dir = temp_dir("abs").unwrap();
        std::fs::create_dir(dir.join("real")).unwrap();
        symlink(dir.join("real"), dir.join("abs")).unwrap();
        symlink("../real/f", dir.join("real/up")).unwrap();
        let r = resolve(&dir.join("abs/up"));
        assert_eq!(r.links, [dir.join("abs"), dir.join("real/up")]);
        assert_eq!(r.target, dir.join("real/f"));
        symlink("loop", dir.join("loop")).unwrap();
        let r = resolve(&dir.join("loop"));
        assert_eq!(r.links.len(), MAX_LINKS);
    }
}
