//! The crash-safe journal of an experiment: every completed invocation is appended as one JSON
//! line, a batch at a time (one `write` and an `fsync` per batch), so Ctrl-C or a crash loses at
//! most the batch in flight and never duplicates a sample. `--resume` reads it back.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An append-only JSON-lines file.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

impl Journal {
    /// Open `path` for appending. A fresh run refuses an existing journal (use `resume`), so a
    /// finished experiment is never silently mixed with a new one.
    pub fn create(path: &Path) -> Result<Journal> {
        let exists = || {
            anyhow::anyhow!(
                "{} already holds an experiment's results; pass --resume to continue it, or choose another --output-dir",
                path.display()
            )
        };
        if path.exists() {
            return Err(exists());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        // `create_new`: of two runs creating the journal at once, one gets the error.
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => exists(),
                _ => anyhow::Error::new(e).context(format!("failed to create {}", path.display())),
            })?;
        Ok(Journal {
            path: path.to_owned(),
            file,
        })
    }

    /// Refuse, before any work, to start a fresh run over an existing journal.
    pub fn check(path: &Path, resume: bool) -> Result<()> {
        if !resume && path.exists() {
            Self::create(path)?;
        }
        Ok(())
    }

    /// A fresh journal, or with `resume` the existing one and its records.
    pub fn start<T: DeserializeOwned>(path: &Path, resume: bool) -> Result<(Journal, Vec<T>)> {
        if resume {
            Self::resume(path)
        } else {
            Ok((Self::create(path)?, Vec::new()))
        }
    }

    /// Open an existing journal (or a new one) for appending, after cutting off a torn last line.
    pub fn resume<T: DeserializeOwned>(path: &Path) -> Result<(Journal, Vec<T>)> {
        let mut records = Vec::new();
        if path.exists() {
            let bytes = std::fs::read(path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let complete = bytes
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            for line in bytes[..complete]
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
            {
                match serde_json::from_slice(line) {
                    Ok(r) => records.push(r),
                    Err(e) => {
                        tracing::warn!("skipping an unreadable line of {}: {e}", path.display())
                    }
                }
            }
            if complete < bytes.len() {
                tracing::warn!(
                    "dropping a torn last line of {} (the run was interrupted while writing it)",
                    path.display()
                );
                let f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.set_len(complete as u64)?;
            }
        }
        Ok((Self::open(path)?, records))
    }

    fn open(path: &Path) -> Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("failed to open {}", path.display()))?;
        Ok(Journal {
            path: path.to_owned(),
            file,
        })
    }

    /// Append records durably.
    pub fn append<T: Serialize>(&mut self, records: &[T]) -> Result<()> {
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("failed to append to {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_drops_a_torn_line_and_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&[1, 2]).unwrap();
        drop(j);
        assert!(
            Journal::create(&path).is_err(),
            "a fresh run refuses an existing journal"
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"3")
            .unwrap();
        let (mut j, records) = Journal::resume::<i32>(&path).unwrap();
        assert_eq!(records, vec![1, 2]);
        j.append(&[4]).unwrap();
        let (_, records) = Journal::resume::<i32>(&path).unwrap();
        assert_eq!(records, vec![1, 2, 4]);
    }
}
