//! Function app zips from sebs packages, in the layout of the Azure Functions host (v4,
//! function.json programming model):
//!
//! ```text
//! host.json                 version 2.0, functionTimeout from the function's timeout
//! sebs_http/function.json   one HTTP trigger (auth level `function`) and its HTTP output
//! sebs_http/__init__.py     (Python) or index.js (Node.js): runtimes/azure's entry point
//! handler.py | handler.js   the SeBS wrapper and everything else of the package, as built
//! function/storage.*        replaced by runtimes/azure's Blob storage shim
//! function/nosql.*          replaced by runtimes/azure's Cosmos DB shim
//! ```
//!
//! The package root is the app's script root, which the Python worker puts on `sys.path` (so
//! dependencies installed at the root import as they do on Lambda). Entries are sorted and dated
//! 1980-01-01: the same package gives the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::config::Language;
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The one function of every app: its URL is `/api/sebs_http`.
pub const FUNCTION: &str = "sebs_http";

/// Entry point and shims of Python apps.
pub const PYTHON_ENTRY: &str = include_str!("../../../runtimes/azure/python/function_http.py");
/// Blob storage shim (Python).
pub const PYTHON_STORAGE: &str = include_str!("../../../runtimes/azure/python/storage.py");
/// Cosmos DB shim (Python).
pub const PYTHON_NOSQL: &str = include_str!("../../../runtimes/azure/python/nosql.py");
/// Entry point of Node.js apps.
pub const NODE_ENTRY: &str = include_str!("../../../runtimes/azure/nodejs/index.js");
/// Blob storage shim (Node.js).
pub const NODE_STORAGE: &str = include_str!("../../../runtimes/azure/nodejs/storage.js");
/// Cosmos DB shim (Node.js).
pub const NODE_NOSQL: &str = include_str!("../../../runtimes/azure/nodejs/nosql.js");

/// The `host.json` of an app whose functions may run `timeout_s` (the consumption plan's
/// limit is ten minutes).
pub fn host_json(timeout_s: u64) -> String {
    let t = timeout_s.clamp(1, 600);
    json!({
        "version": "2.0",
        "functionTimeout": format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60),
        "logging": {"applicationInsights": {"samplingSettings": {"isEnabled": false}}},
    })
    .to_string()
}

/// The `function.json` of the HTTP function.
pub fn function_json(language: Language) -> String {
    let script = match language {
        Language::Python => "__init__.py",
        Language::Nodejs => "index.js",
    };
    json!({
        "scriptFile": script,
        "bindings": [
            {"authLevel": "function", "type": "httpTrigger", "direction": "in",
             "name": "req", "methods": ["get", "post"]},
            {"type": "http", "direction": "out", "name": "$return"},
        ],
    })
    .to_string()
}

/// The app zip of the package in `code_dir`.
pub fn app_zip(code_dir: &Path, language: Language, timeout_s: u64) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    collect(code_dir, "", &mut files)?;
    files.sort();
    let (entry, storage, nosql, ext) = match language {
        Language::Python => ("__init__.py", PYTHON_STORAGE, PYTHON_NOSQL, "py"),
        Language::Nodejs => ("index.js", NODE_STORAGE, NODE_NOSQL, "js"),
    };
    let entry_source = match language {
        Language::Python => PYTHON_ENTRY,
        Language::Nodejs => NODE_ENTRY,
    };
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut add = |name: &str, bytes: &[u8]| -> Result<()> {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    for (name, path) in &files {
        let bytes = if *name == format!("function/storage.{ext}") {
            storage.as_bytes().to_vec()
        } else if *name == format!("function/nosql.{ext}") {
            nosql.as_bytes().to_vec()
        } else {
            std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?
        };
        add(name, &bytes)?;
    }
    add("host.json", host_json(timeout_s).as_bytes())?;
    add(
        &format!("{FUNCTION}/function.json"),
        function_json(language).as_bytes(),
    )?;
    add(&format!("{FUNCTION}/{entry}"), entry_source.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// Regular files under `dir` as `(zip path, file)`; links followed, byte code left out.
fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "__pycache__" || name.ends_with(".pyc") {
            continue;
        }
        let path = entry.path();
        let zip_name = format!("{prefix}{name}");
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if meta.is_dir() {
            collect(&path, &format!("{zip_name}/"), out)?;
        } else if meta.is_file() {
            out.push((zip_name, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(zip: &[u8]) -> Vec<String> {
        let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect()
    }

    #[test]
    fn python_layout_replaces_the_s3_shims() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("function/__pycache__")).unwrap();
        std::fs::write(dir.path().join("handler.py"), "x").unwrap();
        std::fs::write(dir.path().join("function/function.py"), "y").unwrap();
        std::fs::write(dir.path().join("function/storage.py"), "s3").unwrap();
        std::fs::write(dir.path().join("function/__pycache__/a.pyc"), "c").unwrap();
        let zip = app_zip(dir.path(), Language::Python, 120).unwrap();
        let mut n = names(&zip);
        n.sort();
        assert_eq!(
            n,
            [
                "function/function.py",
                "function/storage.py",
                "handler.py",
                "host.json",
                "sebs_http/__init__.py",
                "sebs_http/function.json"
            ]
        );
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("function/storage.py").unwrap(),
            &mut text,
        )
        .unwrap();
        assert!(
            text.contains("SharedKey"),
            "the Blob shim replaced the S3 one"
        );
        assert_eq!(
            app_zip(dir.path(), Language::Python, 120).unwrap(),
            zip,
            "deterministic"
        );
        let host: serde_json::Value = serde_json::from_str(&host_json(120)).unwrap();
        assert_eq!(host["functionTimeout"], "00:02:00");
        assert!(host_json(5000).contains("00:10:00"));
    }
}
