//! The fingerprint of the settings a journal's samples were taken with, kept next to the journal
//! in `journal.meta.json`, so `--resume` never mixes samples of different settings under one
//! config unless told to (`--force`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::fsutil::write_json_atomic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Flat JSON paths and values of the settings that decide what a sample measures.
pub type Fingerprint = BTreeMap<String, Value>;

/// `journal.meta.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JournalMeta {
    /// The sebs version that wrote it.
    pub sebs: String,
    /// The settings the journal's samples are taken with (the latest, after a `--force`).
    pub fingerprint: Fingerprint,
    /// Keys whose values were changed with `--resume --force`: the journal mixes samples taken
    /// with different values of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced: Vec<String>,
}

/// The meta file of the journal at `journal`.
pub fn meta_path(journal: &Path) -> PathBuf {
    journal.with_file_name("journal.meta.json")
}

/// Read the meta file of `journal`, if there is one.
pub fn load(journal: &Path) -> Result<Option<JournalMeta>> {
    let path = meta_path(journal);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).with_context(|| {
            format!(
                "{} is corrupt; restore it, or delete it to resume without checking the settings",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// The keys whose values differ, each as `key (was X, now Y)`.
pub fn differences(old: &Fingerprint, new: &Fingerprint) -> Vec<String> {
    let show = |v: Option<&Value>| v.map_or("absent".to_owned(), Value::to_string);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| format!("{k} (was {}, now {})", show(old.get(k)), show(new.get(k))))
        .collect()
}

/// Before a run writes to `journal`: with `resume` and an existing journal, refuse settings
/// that differ from the journal's (unless `force`); then record `fingerprint` for the run.
/// A journal without a meta file (written by an older sebs) is resumed with a warning.
pub fn check_and_record(
    journal: &Path,
    fingerprint: &Fingerprint,
    resume: bool,
    force: bool,
) -> Result<()> {
    let mut forced = Vec::new();
    if resume && journal.exists() {
        match load(journal)? {
            Some(meta) => {
                let changed = differences(&meta.fingerprint, fingerprint);
                if !changed.is_empty() && !force {
                    anyhow::bail!(
                        "--resume refused: the settings differ from those the samples in {} were taken with: {}; resume with the original config, choose another --output-dir for the new settings, or add --force to mix samples of both settings in one run",
                        journal.display(),
                        changed.join("; ")
                    );
                }
                if !changed.is_empty() {
                    tracing::warn!(
                        "--force: resuming with changed settings; the journal now mixes samples of both: {}",
                        changed.join("; ")
                    );
                }
                forced = meta.forced;
                for key in fingerprint.keys().chain(meta.fingerprint.keys()) {
                    if meta.fingerprint.get(key) != fingerprint.get(key) && !forced.contains(key) {
                        forced.push(key.clone());
                    }
                }
                forced.sort();
            }
            None => tracing::warn!(
                "{} has no settings fingerprint (written by an older sebs): resuming without checking that the config is the same",
                journal.display()
            ),
        }
    }
    let path = meta_path(journal);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let meta = JournalMeta {
        sebs: env!("CARGO_PKG_VERSION").to_owned(),
        fingerprint: fingerprint.clone(),
        forced,
    };
    write_json_atomic(&path, &meta).with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp(pairs: &[(&str, Value)]) -> Fingerprint {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn differences_name_each_key_with_both_values() {
        let old = fp(&[("a", json!("test")), ("b", json!([128])), ("c", json!(1))]);
        let new = fp(&[
            ("a", json!("small")),
            ("b", json!([128])),
            ("d", json!(true)),
        ]);
        assert_eq!(
            differences(&old, &new),
            [
                "a (was \"test\", now \"small\")",
                "c (was 1, now absent)",
                "d (was absent, now true)"
            ]
        );
    }

    #[test]
    fn a_changed_resume_is_refused_unless_forced_and_old_journals_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let journal = tmp.path().join("perf-cost/journal.jsonl");
        let first = fp(&[("size", json!("test"))]);
        check_and_record(&journal, &first, false, false).unwrap();
        std::fs::write(&journal, "").unwrap();
        check_and_record(&journal, &first, true, false).unwrap();
        let changed = fp(&[("size", json!("small"))]);
        let refused = check_and_record(&journal, &changed, true, false)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("size (was \"test\", now \"small\")"),
            "{refused}"
        );
        assert!(refused.contains("--force"), "{refused}");
        check_and_record(&journal, &changed, true, true).unwrap();
        let meta = load(&journal).unwrap().unwrap();
        assert_eq!(meta.fingerprint, changed);
        assert_eq!(meta.forced, ["size"]);

        std::fs::remove_file(meta_path(&journal)).unwrap();
        check_and_record(&journal, &first, true, false).unwrap();
        assert_eq!(load(&journal).unwrap().unwrap().fingerprint, first);
    }
}
