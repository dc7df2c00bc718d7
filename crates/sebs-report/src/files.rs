//! Result files of an experiment directory and JSON exports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Files of an experiment's directory whose names satisfy `keep`, sorted by path; when the
/// directory cannot be read, the error says to pass the `--output-dir` of the `what` run.
pub fn result_files(dir: &Path, what: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "failed to read {}; pass the --output-dir of the {what} run",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| keep(&n.to_string_lossy())))
        .collect();
    files.sort();
    Ok(files)
}

/// Write `value` as SeBS JSON (pretty, sorted keys) atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    sebs_core::fsutil::write_json_atomic(path, value)
        .with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_files_are_filtered_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b_results.json",
            "a_results.json",
            "notes.txt",
            "c-processed.json",
        ] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let files = result_files(dir.path(), "perf-cost", |n| {
            n.ends_with(".json") && !n.contains("processed")
        })
        .unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a_results.json", "b_results.json"]);
        let err = result_files(&dir.path().join("missing"), "perf-cost", |_| true).unwrap_err();
        assert!(
            err.to_string()
                .contains("pass the --output-dir of the perf-cost run"),
            "{err}"
        );
    }

    #[test]
    fn json_is_written_with_sorted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write_json(&path, &serde_json::json!({"b": 1, "a": [true]})).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n"
        );
    }
}
