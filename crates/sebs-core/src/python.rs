//! Finding Python interpreters.
//!
//! Functions must be started with the real interpreter binary, not a wrapper such as a pyenv shim
//! (which costs ~110 ms per start and would pollute cold-start measurements). We ask each candidate
//! for `sys.executable` once and use that path afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::PythonError;

/// A Python interpreter found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonInterpreter {
    /// The real executable (`sys.executable`).
    pub path: PathBuf,
    /// `MAJOR.MINOR`, e.g. `3.11`.
    pub version: String,
    /// `MAJOR.MINOR.MICRO`, e.g. `3.11.7`.
    pub full_version: String,
}

const PROBE: &str = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])";

/// Ask `program` what it is. `None` if it does not run or is not Python 3.
pub fn probe(program: &Path) -> Option<PythonInterpreter> {
    let (path, full_version) = crate::interpreter::path_and_version(
        Command::new(program)
            .args(["-S", "-c", PROBE])
            .env_remove("PYTHONPATH"),
    )?;
    if !full_version.starts_with("3.") {
        return None;
    }
    let version = full_version.rsplit_once('.')?.0.to_owned();
    Some(PythonInterpreter {
        path,
        version,
        full_version,
    })
}

fn check_version(v: &str) -> Result<(), PythonError> {
    let ok = v
        .split_once('.')
        .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(PythonError::BadVersion(v.to_owned()))
    }
}

/// `3.10` sorts after `3.9`.
fn version_key(v: &str) -> (u32, u32) {
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// Directories that hold real interpreters (not shims), most specific first.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    if let Some(root) = pyenv_root
        && let Ok(entries) = std::fs::read_dir(root.join("versions"))
    {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        dirs.extend(versions);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            // pyenv shims only dispatch to the interpreters found above.
            if dir.ends_with("shims") {
                continue;
            }
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    for fixed in ["/usr/local/bin", "/usr/bin"] {
        let dir = PathBuf::from(fixed);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Every `python3.X` executable in the search directories, by version (first found wins).
pub fn installed() -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for dir in search_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(version) = name.strip_prefix("python") else {
                continue;
            };
            if check_version(version).is_err() || !version.starts_with("3.") {
                continue;
            }
            found
                .entry(version.to_owned())
                .or_insert_with(|| entry.path());
        }
    }
    found
}

/// Find the interpreter to use: the requested `MAJOR.MINOR`, or the host's default `python3`.
pub fn find(requested: Option<&str>) -> Result<PythonInterpreter, PythonError> {
    match requested {
        None => probe(Path::new("python3")).ok_or(PythonError::NoneFound),
        Some(version) => {
            check_version(version)?;
            // The default python3 is the common case and the cheapest to confirm.
            let default = probe(Path::new("python3"));
            if let Some(default) = &default
                && default.version == version
            {
                return Ok(default.clone());
            }
            let installed = installed();
            if let Some(path) = installed.get(version)
                && let Some(found) = probe(path)
                && found.version == version
            {
                return Ok(found);
            }
            let mut found: Vec<(String, PathBuf)> = installed.into_iter().collect();
            found.sort_by_key(|(v, _)| std::cmp::Reverse(version_key(v)));
            let suggested = default
                .map(|d| d.version)
                .or_else(|| found.first().map(|(v, _)| v.clone()));
            Err(PythonError::VersionNotFound {
                requested: version.to_owned(),
                found,
                suggested,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_interpreter_is_real_and_versioned() {
        let py = find(None).expect("python3 must be installed for the tests");
        assert!(py.path.is_absolute(), "{py:?}");
        assert!(py.version.starts_with("3."));
        assert!(py.full_version.starts_with(&py.version));
        // Asking for the same version explicitly finds an interpreter of that version.
        assert_eq!(find(Some(&py.version)).unwrap().version, py.version);
    }

    #[test]
    fn missing_version_lists_alternatives() {
        let err = find(Some("3.1")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Python 3.1 is not installed"), "{text}");
        assert!(text.contains("--language-version"), "{text}");
    }

    #[test]
    fn malformed_version_is_rejected() {
        assert!(matches!(
            find(Some("three")),
            Err(PythonError::BadVersion(_))
        ));
    }
}
