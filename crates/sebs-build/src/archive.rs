//! The deployment zip of a package, in AWS Lambda's layout: the package directory is the task
//! root (`handler.py`/`handler.js`, `function/`, dependencies at the root or in `node_modules/`).
//!
//! The zip is deterministic: entries sorted by path, every timestamp 1980-01-01 00:00, Unix
//! modes normalised to `0644` for files, `0755` for executables and directories (Lambda runs
//! the code as another user than the one who owns the files, so everything must be readable),
//! symbolic links (npm's `node_modules/.bin`) kept as links. The same package gives the same
//! bytes, hence the same SHA-256 (Lambda's `CodeSha256`), on every machine.
//!
//! It is cached next to its build (`builds/<hash>-<id>.zip`, with its size and digest in
//! `builds/<hash>-<id>.zip.sha256`): builds are never written after they are published, so a
//! zip once written stays valid, and a second call only reads the digest. A later build's sweep
//! removes the zips of the builds it removes (see `store.rs`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::Package;

/// The largest zip AWS Lambda accepts in a `CreateFunction`/`UpdateFunctionCode` request
/// (`ZipFile`); a bigger one must be uploaded to S3 and passed as `S3Bucket`/`S3Key`.
pub const LAMBDA_DIRECT_UPLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// A package's deployment zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipArchive {
    /// The zip file, next to the package's build directory (`builds/<hash>-<id>.zip`). Never
    /// rewritten; removed with its build.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Base64 of its SHA-256: what AWS Lambda reports as the function's `CodeSha256`.
    pub sha256_base64: String,
}

impl ZipArchive {
    /// Whether the zip is too large to upload directly and must go through S3.
    pub fn needs_s3_upload(&self) -> bool {
        needs_s3_upload(self.size)
    }
}

/// Whether a zip of `size` bytes exceeds [`LAMBDA_DIRECT_UPLOAD_LIMIT`] and must be uploaded to
/// S3 first.
pub fn needs_s3_upload(size: u64) -> bool {
    size > LAMBDA_DIRECT_UPLOAD_LIMIT
}

/// The deployment zip of `package` (see the module docs), written on the first call and read
/// from the cache afterwards.
pub fn zip_package(package: &Package) -> Result<ZipArchive> {
    let dir = &package.dir;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} is not a package build directory", dir.display()))?;
    let parent = dir.parent().expect("a build directory has a parent");
    let path = parent.join(format!("{name}.zip"));
    let digest = parent.join(format!("{name}.zip.sha256"));
    if let Some(cached) = read_cached(&path, &digest) {
        return Ok(cached);
    }
    if !dir.is_dir() {
        bail!(
            "the package {} is gone (removed by a later build?); build it again",
            dir.display()
        );
    }

    let started = std::time::Instant::now();
    // Written under a temporary name and renamed into place: a concurrent caller, or one killed
    // half-way, never leaves a partial zip under the final name.
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}.zip."))
        .tempfile_in(parent)
        .with_context(|| format!("failed to create a zip file in {}", parent.display()))?;
    write_zip(dir, partial.as_file())?;
    let (size, sha256_base64) = sha256_of(partial.path())?;
    partial
        .persist(&path)
        .with_context(|| format!("failed to move the zip to {}", path.display()))?;
    write_digest(&digest, parent, name, size, &sha256_base64)?;
    tracing::debug!(
        "zipped {} into {} ({size} bytes) in {:.1?}",
        dir.display(),
        path.display(),
        started.elapsed()
    );
    Ok(ZipArchive {
        path,
        size,
        sha256_base64,
    })
}

/// The cached zip, if both it and its digest are there and agree on the size.
fn read_cached(path: &Path, digest: &Path) -> Option<ZipArchive> {
    let text = std::fs::read_to_string(digest).ok()?;
    let (size, sha256_base64) = text.trim_end().split_once(' ')?;
    let size: u64 = size.parse().ok()?;
    let actual = std::fs::metadata(path).ok()?.len();
    (actual == size && !sha256_base64.is_empty()).then(|| ZipArchive {
        path: path.to_owned(),
        size,
        sha256_base64: sha256_base64.to_owned(),
    })
}

/// Record `<size> <sha256_base64>` in `digest`, atomically.
fn write_digest(digest: &Path, parent: &Path, name: &str, size: u64, sha: &str) -> Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}.zip.sha256."))
        .tempfile_in(parent)
        .with_context(|| format!("failed to create a file in {}", parent.display()))?;
    writeln!(file, "{size} {sha}")
        .and_then(|()| file.flush())
        .with_context(|| format!("failed to write {}", file.path().display()))?;
    file.persist(digest)
        .with_context(|| format!("failed to write {}", digest.display()))?;
    Ok(())
}

/// Size and base64 SHA-256 of the file at `path`.
fn sha256_of(path: &Path) -> Result<(u64, String)> {
    let mut reader = BufReader::new(
        File::open(path).with_context(|| format!("failed to open {}", path.display()))?,
    );
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = reader
            .read(&mut buffer)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    let digest = hasher.finalize();
    Ok((
        size,
        base64::engine::general_purpose::STANDARD.encode(digest),
    ))
}

/// One entry of the package, by its path inside the zip (`/`-separated).
enum Entry {
    Directory,
    File { path: PathBuf, executable: bool },
    Symlink { target: String },
}

/// Every entry under `dir`, sorted by its name in the zip.
fn entries(dir: &Path) -> Result<Vec<(String, Entry)>> {
    let mut out = Vec::new();
    collect(dir, "", &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, Entry)>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?
    {
        let entry = entry.with_context(|| format!("failed to read {}", dir.display()))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            bail!(
                "{} has a name that is not UTF-8; a Lambda zip cannot hold it, rename it",
                path.display()
            );
        };
        let name = format!("{prefix}{name}");
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .with_context(|| format!("failed to read the link {}", path.display()))?;
            let target = target.to_str().map(str::to_owned).with_context(|| {
                format!("the link {} has a target that is not UTF-8", path.display())
            })?;
            out.push((name, Entry::Symlink { target }));
        } else if meta.is_dir() {
            collect(&path, &format!("{name}/"), out)?;
            out.push((format!("{name}/"), Entry::Directory));
        } else if meta.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push((name, Entry::File { path, executable }));
        } else {
            bail!(
                "{} is neither a file, a directory nor a link; a Lambda zip cannot hold it",
                path.display()
            );
        }
    }
    Ok(())
}

/// Write the zip of `dir` into `file`.
fn write_zip(dir: &Path, file: &File) -> Result<()> {
    let base = SimpleFileOptions::default()
        .system(System::Unix)
        .last_modified_time(DateTime::default())
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6));
    let mut zip = ZipWriter::new(BufWriter::new(file));
    for (name, entry) in entries(dir)? {
        let added = match entry {
            Entry::Directory => zip
                .add_directory(&name, base.unix_permissions(0o755))
                .map_err(anyhow::Error::from),
            Entry::Symlink { target } => zip
                .add_symlink(&name, target, base.unix_permissions(0o777))
                .map_err(anyhow::Error::from),
            Entry::File { path, executable } => {
                let mode = if executable { 0o755 } else { 0o644 };
                zip.start_file(&name, base.unix_permissions(mode))
                    .map_err(anyhow::Error::from)
                    .and_then(|()| {
                        let mut source = File::open(&path)
                            .with_context(|| format!("failed to open {}", path.display()))?;
                        std::io::copy(&mut source, &mut zip)
                            .with_context(|| format!("failed to read {}", path.display()))?;
                        Ok(())
                    })
            }
        };
        added.with_context(|| format!("failed to add {name} to the zip of {}", dir.display()))?;
    }
    let mut writer = zip
        .finish()
        .with_context(|| format!("failed to finish the zip of {}", dir.display()))?;
    writer
        .flush()
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write the zip of {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_threshold_is_lambdas_direct_upload_limit() {
        assert!(!needs_s3_upload(LAMBDA_DIRECT_UPLOAD_LIMIT));
        assert!(needs_s3_upload(LAMBDA_DIRECT_UPLOAD_LIMIT + 1));
        let archive = ZipArchive {
            path: PathBuf::from("x.zip"),
            size: 51 * 1024 * 1024,
            sha256_base64: String::new(),
        };
        assert!(archive.needs_s3_upload());
    }

    #[test]
    fn entries_are_sorted_with_directories_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("b/c/z.txt"), "z").unwrap();
        std::fs::write(root.join("a.py"), "a").unwrap();
        std::fs::write(root.join("b/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("b/run"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        std::os::unix::fs::symlink("run", root.join("b/link")).unwrap();
        let found = entries(root).unwrap();
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["a.py", "b/", "b/c/", "b/c/z.txt", "b/link", "b/run"]
        );
        assert!(matches!(
            found[5].1,
            Entry::File {
                executable: true,
                ..
            }
        ));
        assert!(matches!(
            found[0].1,
            Entry::File {
                executable: false,
                ..
            }
        ));
        assert!(matches!(&found[4].1, Entry::Symlink { target } if target == "run"));
    }
}
