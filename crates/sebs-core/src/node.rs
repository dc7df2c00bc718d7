//! Finding Node.js interpreters.
//!
//! Like Python, functions are started with the real `node` binary (`process.execPath`), never a
//! version-manager shim. Node versions are selected by major version (`--language-version 20`),
//! as Lambda's runtimes (`nodejs20.x`) are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::NodeError;

/// A Node.js interpreter found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInterpreter {
    /// The real executable (`process.execPath`).
    pub path: PathBuf,
    /// The major version, e.g. `20`.
    pub version: String,
    /// `MAJOR.MINOR.PATCH`, e.g. `20.11.1`.
    pub full_version: String,
}

/// Ask `program` what it is. `None` if it does not run or is not Node.js.
pub fn probe(program: &Path) -> Option<NodeInterpreter> {
    let (path, full_version) = crate::interpreter::path_and_version(
        Command::new(program)
            .args([
                "-e",
                "console.log(process.execPath); console.log(process.versions.node)",
            ])
            // What the probe must not pick up from the host: preloaded modules and extra CA
            // files (which alone cost ~50 ms per start).
            .env_remove("NODE_OPTIONS")
            .env_remove("NODE_EXTRA_CA_CERTS"),
    )?;
    let version = full_version.split('.').next()?.to_owned();
    if version.parse::<u32>().is_err() {
        return None;
    }
    Some(NodeInterpreter {
        path,
        version,
        full_version,
    })
}

/// Check a requested version: `MAJOR` (e.g. `20`), `MAJOR.x` or `MAJOR.MINOR[.PATCH]`.
fn parse_request(v: &str) -> Result<String, NodeError> {
    let trimmed = v.trim_start_matches('v');
    let trimmed = trimmed.strip_suffix(".x").unwrap_or(trimmed);
    let parts: Vec<&str> = trimmed.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return Err(NodeError::BadVersion(v.to_owned()));
    }
    Ok(trimmed.to_owned())
}

fn matches(found: &NodeInterpreter, request: &str) -> bool {
    found.version == request
        || found.full_version == request
        || found.full_version.starts_with(&format!("{request}."))
}

/// Candidate `node` executables: PATH, then version managers' directories (nvm, n, volta).
fn candidates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        if p.is_file() && !out.contains(&p) {
            out.push(p);
        }
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            push(dir.join("node"));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut managed = Vec::new();
    if let Some(nvm) = std::env::var_os("NVM_DIR")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".nvm")))
    {
        managed.push(nvm.join("versions/node"));
    }
    managed.push(PathBuf::from("/usr/local/n/versions/node"));
    if let Some(h) = &home {
        managed.push(h.join(".volta/tools/image/node"));
    }
    for root in managed {
        if let Ok(entries) = std::fs::read_dir(&root) {
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            dirs.sort();
            for d in dirs {
                push(d.join("bin/node"));
            }
        }
    }
    for fixed in ["/usr/local/bin/node", "/usr/bin/node"] {
        push(PathBuf::from(fixed));
    }
    out
}

/// Every Node.js found, by major version (the first found of each major wins).
pub fn installed() -> BTreeMap<u32, NodeInterpreter> {
    let mut found = BTreeMap::new();
    for candidate in candidates() {
        if let Some(node) = probe(&candidate) {
            let major: u32 = node.version.parse().unwrap_or(0);
            found.entry(major).or_insert(node);
        }
    }
    found
}

/// Find the interpreter to use: the requested version, or the `node` on PATH.
pub fn find(requested: Option<&str>) -> Result<NodeInterpreter, NodeError> {
    let default = probe(Path::new("node"));
    let Some(version) = requested else {
        return default.ok_or(NodeError::NoneFound);
    };
    let request = parse_request(version)?;
    if let Some(default) = &default
        && matches(default, &request)
    {
        return Ok(default.clone());
    }
    let installed = installed();
    if let Some(found) = installed.values().find(|n| matches(n, &request)) {
        return Ok(found.clone());
    }
    let mut found: Vec<(String, PathBuf)> = installed
        .into_values()
        .rev()
        .map(|n| (n.full_version, n.path))
        .collect();
    if found.is_empty()
        && let Some(d) = &default
    {
        found.push((d.full_version.clone(), d.path.clone()));
    }
    let suggested = default.map(|d| d.version).or_else(|| {
        found
            .first()
            .map(|(v, _)| v.split('.').next().unwrap_or(v).to_owned())
    });
    Err(NodeError::VersionNotFound {
        requested: version.to_owned(),
        found,
        suggested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_node_is_real_and_versioned() {
        let node = find(None).expect("node must be installed for the tests");
        assert!(node.path.is_absolute(), "{node:?}");
        assert!(node.full_version.starts_with(&format!("{}.", node.version)));
        assert_eq!(find(Some(&node.version)).unwrap().path, node.path);
        assert_eq!(
            find(Some(&format!("{}.x", node.version))).unwrap().version,
            node.version
        );
    }

    #[test]
    fn missing_version_is_one_clear_line() {
        let err = find(Some("7")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Node.js 7 is not installed"), "{text}");
        assert!(text.contains("--language-version"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn malformed_versions_are_rejected() {
        assert!(matches!(
            find(Some("twenty")),
            Err(NodeError::BadVersion(_))
        ));
        assert!(matches!(
            find(Some("20.1.2.3")),
            Err(NodeError::BadVersion(_))
        ));
    }
}
