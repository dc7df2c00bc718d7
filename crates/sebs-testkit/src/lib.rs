//! What the backends' tests share (a dev-dependency only): reading the invocations of an
//! `experiments.json`, searching a directory for a leaked credential, and checking requests and
//! answers of contract fakes against published API descriptions ([`schema`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

pub mod schema;

/// Every invocation of an `experiments.json` (all functions, in file order).
pub fn results(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_slice(&text).unwrap();
    v["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values().cloned())
        .collect()
}

/// Every file under `dir` (symbolic links not followed) whose bytes contain `needle`, added to
/// `out`: the tests' check that no credential was written to a cache, results or logs.
pub fn files_containing(dir: &Path, needle: &[u8], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_symlink() {
            continue;
        }
        if p.is_dir() {
            files_containing(&p, needle, out);
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            out.push(p);
        }
    }
}
