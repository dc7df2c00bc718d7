//! Source zips for Cloud Functions and Cloud Run functions from sebs packages.
//!
//! The package goes in as `sebs-build` made it (SeBS wrapper `handler.py`/`handler.js`,
//! `function/`, vendored dependencies), plus the Google entry point from `runtimes/gcp/`
//! (`main.py` with `handler(request)`, or `index.js` exporting `handler`, named by
//! `package.json`'s `main`), and the storage and NoSQL shims of `function/` replaced by the
//! Cloud Storage and Datastore ones. Entries are sorted and dated 1980-01-01: the same package
//! gives the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::config::Language;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The Python entry point (`main.py`).
pub const PYTHON_MAIN: &str = include_str!("../../../runtimes/gcp/python/main.py");
/// The Node.js entry point (`index.js`).
pub const NODE_MAIN: &str = include_str!("../../../runtimes/gcp/nodejs/index.js");
/// Python shims for Google's storage, `(path in the zip, source)`.
pub const PYTHON_SHIMS: [(&str, &str); 3] = [
    (
        "function/_gauth.py",
        include_str!("../../../runtimes/gcp/python/_gauth.py"),
    ),
    (
        "function/storage.py",
        include_str!("../../../runtimes/gcp/python/storage.py"),
    ),
    (
        "function/nosql.py",
        include_str!("../../../runtimes/gcp/python/nosql.py"),
    ),
];

/// Node.js shims for Google's storage, `(path in the zip, source)`.
pub const NODE_SHIMS: [(&str, &str); 3] = [
    (
        "function/_gauth.js",
        include_str!("../../../runtimes/gcp/nodejs/_gauth.js"),
    ),
    (
        "function/storage.js",
        include_str!("../../../runtimes/gcp/nodejs/storage.js"),
    ),
    (
        "function/nosql.js",
        include_str!("../../../runtimes/gcp/nodejs/nosql.js"),
    ),
];

/// The source zip of the package in `code_dir`.
pub fn source_zip(code_dir: &Path, language: Language) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    collect(code_dir, "", &mut files)?;
    let mut extra: Vec<(String, Vec<u8>)> = Vec::new();
    match language {
        Language::Python => {
            extra.push(("main.py".into(), PYTHON_MAIN.as_bytes().to_vec()));
            for (name, source) in PYTHON_SHIMS {
                extra.push((name.into(), source.as_bytes().to_vec()));
            }
        }
        Language::Nodejs => {
            extra.push(("index.js".into(), NODE_MAIN.as_bytes().to_vec()));
            for (name, source) in NODE_SHIMS {
                extra.push((name.into(), source.as_bytes().to_vec()));
            }
            let existing = files
                .iter()
                .find(|(n, _)| n == "package.json")
                .map(|(_, p)| std::fs::read(p))
                .transpose()?;
            extra.push(("package.json".into(), package_json(existing.as_deref())?));
        }
    }
    files.retain(|(n, _)| !extra.iter().any(|(e, _)| e == n));
    let mut entries: Vec<(String, Vec<u8>)> = extra;
    for (name, path) in files {
        let bytes =
            std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
        entries.push((name, bytes));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The package's `package.json` with `main` set to the entry point (a minimal one if none).
fn package_json(existing: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut value: serde_json::Value = match existing {
        Some(bytes) => {
            serde_json::from_slice(bytes).context("the package's package.json is not JSON")?
        }
        None => serde_json::json!({"name": "sebs-function", "version": "1.0.0"}),
    };
    value["main"] = "index.js".into();
    Ok(serde_json::to_vec_pretty(&value)?)
}

/// Regular files under `dir` as `(zip path, file)`, links followed, byte code left out (the
/// platform's interpreter compiles its own).
fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "__pycache__" {
            continue;
        }
        let path = entry.path();
        let zip_name = format!("{prefix}{name}");
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => collect(&path, &format!("{zip_name}/"), out)?,
            Ok(m) if m.is_file() => out.push((zip_name, path)),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read(zip: &[u8], name: &str) -> Option<String> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut text = String::new();
        archive
            .by_name(name)
            .ok()?
            .read_to_string(&mut text)
            .unwrap();
        Some(text)
    }

    #[test]
    fn python_zips_get_the_entry_and_google_shims() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("function/__pycache__")).unwrap();
        std::fs::write(dir.path().join("handler.py"), "x = 1\n").unwrap();
        std::fs::write(dir.path().join("function/storage.py"), "s3 = 1\n").unwrap();
        std::fs::write(dir.path().join("function/__pycache__/a.pyc"), "b").unwrap();
        let zip = source_zip(dir.path(), Language::Python).unwrap();
        assert_eq!(read(&zip, "main.py").unwrap(), PYTHON_MAIN);
        assert!(
            read(&zip, "function/storage.py")
                .unwrap()
                .contains("Cloud Storage")
        );
        assert!(read(&zip, "function/__pycache__/a.pyc").is_none());
        assert_eq!(zip, source_zip(dir.path(), Language::Python).unwrap());
    }

    #[test]
    fn node_zips_name_the_entry_in_package_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"b","main":"x.js"}"#,
        )
        .unwrap();
        let zip = source_zip(dir.path(), Language::Nodejs).unwrap();
        let pj: serde_json::Value =
            serde_json::from_str(&read(&zip, "package.json").unwrap()).unwrap();
        assert_eq!(pj["main"], "index.js");
        assert_eq!(pj["name"], "b");
        assert!(read(&zip, "index.js").is_some());
        assert!(
            read(&zip, "function/storage.js")
                .unwrap()
                .contains("Cloud Storage")
        );
    }
}
