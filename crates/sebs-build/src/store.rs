//! Where built packages live, and how a rebuild replaces one without touching the files of
//! instances that are running from it.
//!
//! Next to SeBS's `code` directory of a package key (`.../<arch>/`):
//!
//! ```text
//! code -> builds/<hash>-<id>     the current package: a symbolic link, switched with rename(2)
//! builds/<hash>-<id>/            one directory per build, never written after it is published
//! builds/.build-<id>/            a build in progress (debris if its builder died)
//! builds/<hash>-<id>.zip[.sha256] the build's deployment zip and its digest (`archive.rs`)
//! .lock                          the builders' lock (one builder per key at a time)
//! ```
//!
//! A process that uses a build (every [`crate::build`] caller) holds a shared `flock` on the
//! build's directory until it exits: its function instances read their code from there. A builder,
//! holding `.lock`, removes the builds that are not current and that no process holds, and
//! staging directories of dead builders, with the files named after them (zips). So a build is
//! deleted only after every process that could run it has exited, and only by a later build.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

/// The builds of one package key, around SeBS's `code` path (the "current" pointer).
#[derive(Debug, Clone)]
pub(crate) struct Store {
    /// `.../<arch>/code`: a symbolic link to the current build (or, written by an older sebs, a
    /// directory).
    current: PathBuf,
    /// `.../<arch>/builds`.
    builds: PathBuf,
}

/// Prefix of staging directories under `builds/`.
const STAGING: &str = ".build-";
/// Prefix of a pointer being switched, next to `code`.
const NEXT_POINTER: &str = ".code-next-";

impl Store {
    /// The store whose current pointer is `code` (SeBS's package path of the key).
    pub(crate) fn new(code: &Path) -> Store {
        let parent = code.parent().expect("a package path has a parent");
        Store {
            current: code.to_owned(),
            builds: parent.join("builds"),
        }
    }

    /// The directory of the current build, if there is one.
    pub(crate) fn current(&self) -> Option<PathBuf> {
        match std::fs::read_link(&self.current) {
            Ok(target) => {
                let dir = self.parent().join(target);
                dir.is_dir().then_some(dir)
            }
            // A directory from before builds were kept apart: it is the current build.
            Err(_) => self.current.is_dir().then(|| self.current.clone()),
        }
    }

    fn parent(&self) -> &Path {
        self.current.parent().expect("a package path has a parent")
    }

    /// A fresh staging directory under `builds/`.
    pub(crate) fn staging(&self) -> Result<tempfile::TempDir> {
        std::fs::create_dir_all(&self.builds)
            .with_context(|| format!("failed to create {}", self.builds.display()))?;
        tempfile::Builder::new()
            .prefix(STAGING)
            .tempdir_in(&self.builds)
            .with_context(|| {
                format!(
                    "failed to create a build directory in {}",
                    self.builds.display()
                )
            })
    }

    /// Publish a complete staging directory as build `<hash>-<id>` and make it current with one
    /// rename(2) of the pointer; returns the build's directory. Instances of earlier builds keep
    /// their files.
    pub(crate) fn publish(&self, staging: tempfile::TempDir, hash: &str) -> Result<PathBuf> {
        let id = staging
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(STAGING))
            .expect("staging directories are named by Store::staging")
            .to_owned();
        let name = format!("{hash}-{id}");
        let dir = self.builds.join(&name);
        std::fs::rename(staging.path(), &dir)
            .with_context(|| format!("failed to move the package into {}", dir.display()))?;
        let _ = staging.keep();
        if !self.current.is_symlink() && self.current.is_dir() {
            // An older sebs built into `code` itself: keep that build as one of the builds (it
            // is swept like any other), so the pointer can be a link.
            let legacy = self.builds.join(format!("legacy-{id}"));
            std::fs::rename(&self.current, &legacy).with_context(|| {
                format!(
                    "failed to move the old package {} to {}",
                    self.current.display(),
                    legacy.display()
                )
            })?;
        }
        let next = self.parent().join(format!("{NEXT_POINTER}{id}"));
        let target = Path::new("builds").join(&name);
        std::os::unix::fs::symlink(&target, &next)
            .with_context(|| format!("failed to create the link {}", next.display()))?;
        std::fs::rename(&next, &self.current).with_context(|| {
            format!(
                "failed to point {} at {}",
                self.current.display(),
                dir.display()
            )
        })?;
        Ok(dir)
    }

    /// Remove builds that are not current and that no process holds, staging directories of
    /// builders that died, pointers left half-switched, and the files of builds that are gone
    /// (`<build>.zip`, its digest, and their partial `.<build>.zip.*`). Call with the builders'
    /// lock held. Returns the number of entries removed.
    pub(crate) fn sweep(&self) -> Result<usize> {
        let current = self.current();
        let mut removed = 0;
        for entry in std::fs::read_dir(self.parent())
            .with_context(|| format!("failed to read {}", self.parent().display()))?
        {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(NEXT_POINTER)
            {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        let entries = match std::fs::read_dir(&self.builds) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read {}", self.builds.display()));
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if !path.is_dir() {
                files.push(path);
                continue;
            }
            if current.as_deref() == Some(path.as_path()) {
                continue;
            }
            let staging = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(STAGING));
            // Builders hold the lock, so a staging directory seen now is a dead builder's.
            let unused = staging || try_exclusive(&path)?.is_some();
            if unused {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("failed to remove {}", path.display()))?;
                removed += 1;
            }
        }
        for path in files {
            let build = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .and_then(|n| {
                    n.trim_start_matches('.')
                        .split('.')
                        .next()
                        .map(str::to_owned)
                })
                .filter(|build| !build.is_empty());
            if let Some(build) = build
                && !self.builds.join(&build).is_dir()
            {
                std::fs::remove_file(&path)
                    .with_context(|| format!("failed to remove {}", path.display()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The builds this process uses, each with its shared lock, held until the process exits.
static LEASES: Mutex<Option<HashMap<PathBuf, std::fs::File>>> = Mutex::new(None);

/// Hold a shared lock on build `dir` for the rest of this process's life, so no later build (in
/// any process) removes it while instances of this process may run from it.
pub(crate) fn lease(dir: &Path) -> Result<()> {
    let mut leases = LEASES.lock().unwrap_or_else(|e| e.into_inner());
    let leases = leases.get_or_insert_with(HashMap::new);
    if leases.contains_key(dir) {
        return Ok(());
    }
    let file = open_dir(dir)?;
    flock(&file, libc::LOCK_SH)
        .with_context(|| format!("failed to take a shared lock on {}", dir.display()))?;
    leases.insert(dir.to_owned(), file);
    Ok(())
}

fn open_dir(dir: &Path) -> Result<std::fs::File> {
    std::fs::File::open(dir).with_context(|| format!("failed to open {}", dir.display()))
}

fn flock(file: &std::fs::File, operation: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a file descriptor the `File` owns for the duration of the call.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// An exclusive lock on `dir` if no process (this one included) holds a lock on it.
fn try_exclusive(dir: &Path) -> Result<Option<std::fs::File>> {
    let file = open_dir(dir)?;
    match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to lock {}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(store: &Store, file: &str) -> tempfile::TempDir {
        let staging = store.staging().unwrap();
        std::fs::write(staging.path().join(file), file).unwrap();
        staging
    }

    #[test]
    fn publish_switches_the_pointer_and_keeps_the_old_build() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(&tmp.path().join("x64/code"));
        assert_eq!(store.current(), None);
        let first = store.publish(staged(&store, "a"), "h1").unwrap();
        assert_eq!(store.current().as_deref(), Some(first.as_path()));
        assert!(tmp.path().join("x64/code/a").is_file(), "code points at it");
        let second = store.publish(staged(&store, "b"), "h1").unwrap();
        assert_ne!(
            first, second,
            "a forced rebuild of the same sources is a new build"
        );
        assert!(
            first.join("a").is_file(),
            "the old build is untouched by the switch"
        );
        assert!(tmp.path().join("x64/code/b").is_file());
        assert!(
            second
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("h1-")
        );
    }

    #[test]
    fn sweep_removes_only_unheld_old_builds_and_debris() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(&tmp.path().join("x64/code"));
        let unheld = store.publish(staged(&store, "a"), "h1").unwrap();
        let held = store.publish(staged(&store, "b"), "h2").unwrap();
        let current = store.publish(staged(&store, "c"), "h3").unwrap();
        let holder = open_dir(&held).unwrap();
        flock(&holder, libc::LOCK_SH).unwrap();
        let dead_builder = store.staging().unwrap().keep();
        let builds = tmp.path().join("x64/builds");
        let name = |dir: &Path| dir.file_name().unwrap().to_string_lossy().into_owned();
        let unheld_zip = builds.join(format!("{}.zip", name(&unheld)));
        let unheld_partial = builds.join(format!(".{}.zip.Ab12Cd", name(&unheld)));
        let current_zip = builds.join(format!("{}.zip.sha256", name(&current)));
        for file in [&unheld_zip, &unheld_partial, &current_zip] {
            std::fs::write(file, "zip").unwrap();
        }
        std::os::unix::fs::symlink("builds/x", tmp.path().join("x64/.code-next-zz")).unwrap();

        assert_eq!(store.sweep().unwrap(), 5);
        assert!(!unheld.exists(), "an old build nobody holds is removed");
        assert!(
            !unheld_zip.exists() && !unheld_partial.exists(),
            "with its zips"
        );
        assert!(current_zip.is_file(), "the current build's zip is kept");
        assert!(held.join("b").is_file(), "a held build is kept");
        assert!(current.join("c").is_file(), "the current build is kept");
        assert!(
            !dead_builder.exists(),
            "a dead builder's staging is removed"
        );
        assert!(!tmp.path().join("x64/.code-next-zz").is_symlink());

        drop(holder);
        // Another test of this binary forking a process (pip, npm) at the wrong moment shares
        // the lock's file description until its exec closes it: allow it a moment.
        let mut removed = store.sweep().unwrap();
        for _ in 0..100 {
            if removed > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            removed = store.sweep().unwrap();
        }
        assert_eq!(removed, 1, "released builds go at the next sweep");
        assert!(!held.exists());
    }

    #[test]
    fn a_lease_of_this_process_protects_a_build() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(&tmp.path().join("x64/code"));
        let leased = store.publish(staged(&store, "a"), "h1").unwrap();
        lease(&leased).unwrap();
        lease(&leased).unwrap();
        store.publish(staged(&store, "b"), "h2").unwrap();
        assert_eq!(store.sweep().unwrap(), 0);
        assert!(leased.join("a").is_file());
    }

    #[test]
    fn a_package_directory_of_an_older_sebs_becomes_a_build() {
        let tmp = tempfile::tempdir().unwrap();
        let code = tmp.path().join("x64/code");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::write(code.join("old"), "").unwrap();
        let store = Store::new(&code);
        assert_eq!(store.current().as_deref(), Some(code.as_path()));
        let new = store.publish(staged(&store, "new"), "h").unwrap();
        assert!(code.is_symlink() && code.join("new").is_file());
        assert_eq!(store.current(), Some(new));
        let legacy: Vec<_> = std::fs::read_dir(tmp.path().join("x64/builds"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("legacy-"))
            .collect();
        assert_eq!(legacy.len(), 1, "the old package is kept as a build");
    }
}
