//! The on-disk cache (`--cache`, default `./cache`), in SeBS's layout:
//! `cache/<benchmark>/config.json` records built code packages and deployed functions, and
//! `cache/<benchmark>/<platform>/<language>/code_package/<variant>/<version>/<arch>/code` is the
//! current package (a link to one of the builds `sebs-build` keeps next to it in `builds/`).
//! Credentials are never written here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fsutil::write_json_atomic;

/// Identifies one code package build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageKey {
    /// Benchmark id.
    pub benchmark: String,
    /// Platform name (`local`, `aws`, ...).
    pub platform: String,
    /// Language name.
    pub language: String,
    /// Language variant (`default`).
    pub variant: String,
    /// Language version (`3.11`).
    pub version: String,
    /// Architecture (`x64`).
    pub arch: String,
}

/// A cached code package (SeBS's `code_package` leaf).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CodePackageEntry {
    /// Size in MB.
    pub size: f64,
    /// MD5 content hash of sources, shim and dependency list.
    pub hash: String,
    /// Location relative to the cache root.
    pub location: String,
    /// Creation and modification times.
    pub date: PackageDates,
}

/// Timestamps of a cached package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PackageDates {
    /// When first built.
    pub created: String,
    /// When last rebuilt.
    pub modified: String,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn config_path(&self, benchmark: &str) -> PathBuf {
        self.root.join(benchmark).join("config.json")
    }

    /// SeBS's package path for `key`: the current build (a link into `builds/` next to it).
    pub fn package_dir(&self, key: &PackageKey) -> PathBuf {
        self.root.join(self.package_location(key))
    }

    fn package_location(&self, key: &PackageKey) -> PathBuf {
        Path::new(&key.benchmark)
            .join(&key.platform)
            .join(&key.language)
            .join("code_package")
            .join(&key.variant)
            .join(&key.version)
            .join(&key.arch)
            .join("code")
    }

    fn read_config(&self, benchmark: &str) -> Result<Value> {
        let path = self.config_path(benchmark);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "cache file {} is corrupt; delete it (or the whole cache directory) to rebuild",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
            Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
        }
    }

    fn entry_path(key: &PackageKey) -> [&str; 7] {
        [
            &key.platform,
            &key.language,
            "code_package",
            &key.variant,
            &key.version,
            &key.arch,
            "",
        ]
    }

    /// The cached package for `key`, if its directory still exists.
    pub fn code_package(&self, key: &PackageKey) -> Result<Option<CodePackageEntry>> {
        let config = self.read_config(&key.benchmark)?;
        let mut node = &config;
        for part in Self::entry_path(key).iter().filter(|p| !p.is_empty()) {
            match node.get(part) {
                Some(next) => node = next,
                None => return Ok(None),
            }
        }
        let entry: Option<CodePackageEntry> = serde_json::from_value(node.clone()).ok();
        Ok(entry.filter(|e| self.root.join(&e.location).is_dir()))
    }

    /// Record a freshly built package for `key`; returns the stored entry.
    pub fn store_code_package(
        &self,
        key: &PackageKey,
        hash: &str,
        size_bytes: u64,
    ) -> Result<CodePackageEntry> {
        let mut config = self.read_config(&key.benchmark)?;
        let now = chrono::Local::now()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string();
        let created = self
            .code_package(key)?
            .map(|e| e.date.created)
            .unwrap_or_else(|| now.clone());
        let entry = CodePackageEntry {
            size: size_bytes as f64 / 1_000_000.0,
            hash: hash.to_owned(),
            location: self.package_location(key).to_string_lossy().into_owned(),
            date: PackageDates {
                created,
                modified: now,
            },
        };
        let mut node = &mut config;
        for part in Self::entry_path(key).iter().filter(|p| !p.is_empty()) {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            node = node
                .as_object_mut()
                .expect("just made an object")
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        *node = serde_json::to_value(&entry)?;
        write_json_atomic(&self.config_path(&key.benchmark), &config)?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PackageKey {
        PackageKey {
            benchmark: "110.dynamic-html".into(),
            platform: "local".into(),
            language: "python".into(),
            variant: "default".into(),
            version: "3.11".into(),
            arch: "x64".into(),
        }
    }

    #[test]
    fn stores_and_finds_packages_in_sebs_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        assert_eq!(cache.code_package(&key()).unwrap(), None);
        std::fs::create_dir_all(cache.package_dir(&key())).unwrap();
        let stored = cache.store_code_package(&key(), "abc", 2_000_000).unwrap();
        assert_eq!(stored.size, 2.0);
        assert_eq!(cache.code_package(&key()).unwrap(), Some(stored));
        let raw: Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("110.dynamic-html/config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            raw["local"]["python"]["code_package"]["default"]["3.11"]["x64"]["hash"],
            "abc"
        );
        // A package whose directory vanished is not reused.
        std::fs::remove_dir_all(cache.package_dir(&key())).unwrap();
        assert_eq!(cache.code_package(&key()).unwrap(), None);
    }
}
