//! OpenWhisk action zips from sebs packages.
//!
//! A Python action zip runs `__main__.py`'s `main(args)`; a Node.js one runs the export `main`
//! of the file its `package.json` names as `main`. The package (SeBS wrapper `handler.py` /
//! `handler.js`, `function/`, dependencies) goes in as built, plus the entry point from
//! `runtimes/openwhisk/`; a Node.js package's `package.json` gets `"main": "sebs_main.js"`.
//! Entries are sorted and dated 1980-01-01, so the same package gives the same bytes.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sebs_core::config::Language;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The Python entry point (`__main__.py`).
pub const PYTHON_MAIN: &str = include_str!("../../../../runtimes/openwhisk/__main__.py");
/// The Node.js entry point (`sebs_main.js`).
pub const NODE_MAIN: &str = include_str!("../../../../runtimes/openwhisk/sebs_main.js");

/// The action zip of the package in `code_dir`.
pub fn action_zip(code_dir: &Path, language: Language) -> Result<Vec<u8>> {
    let mut files = Vec::new();
    collect(code_dir, "", &mut files)?;
    files.sort();
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut has_package_json = false;
    for (name, path) in &files {
        let bytes = match (language, name.as_str()) {
            (Language::Nodejs, "package.json") => {
                has_package_json = true;
                node_package_json(Some(&std::fs::read(path)?))?
            }
            _ => {
                std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?
            }
        };
        zip.start_file(name.as_str(), options)?;
        zip.write_all(&bytes)?;
    }
    let (entry, source) = match language {
        Language::Python => ("__main__.py", PYTHON_MAIN),
        Language::Nodejs => ("sebs_main.js", NODE_MAIN),
    };
    zip.start_file(entry, options)?;
    zip.write_all(source.as_bytes())?;
    if language == Language::Nodejs && !has_package_json {
        zip.start_file("package.json", options)?;
        zip.write_all(&node_package_json(None)?)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The package's `package.json` with `main` set to the entry point (a minimal one if none).
fn node_package_json(existing: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut value: serde_json::Value = match existing {
        Some(bytes) => {
            serde_json::from_slice(bytes).context("the package's package.json is not JSON")?
        }
        None => serde_json::json!({"name": "sebs-action", "version": "1.0.0"}),
    };
    value["main"] = "sebs_main.js".into();
    Ok(serde_json::to_vec_pretty(&value)?)
}

/// Regular files under `dir` as `(zip path, file)`; links are followed (an action's files are
/// extracted as plain files), directories walked.
fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, std::path::PathBuf)>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Byte code is rebuilt on the platform's interpreter; the package's own would be stale
        // for another Python version.
        if name == "__pycache__" {
            continue;
        }
        let path = entry.path();
        let zip_name = format!("{prefix}{name}");
        let meta = std::fs::metadata(&path);
        match meta {
            Ok(m) if m.is_dir() => collect(&path, &format!("{zip_name}/"), out)?,
            Ok(m) if m.is_file() => out.push((zip_name, path)),
            // Dangling links (npm's optional binaries) are left out.
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn names_and(zip: &[u8], file: &str) -> (Vec<String>, String) {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let names = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        let mut text = String::new();
        archive
            .by_name(file)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        (names, text)
    }

    #[test]
    fn python_zips_get_main_and_drop_byte_code() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("handler.py"), "x = 1\n").unwrap();
        std::fs::create_dir_all(dir.path().join("function/__pycache__")).unwrap();
        std::fs::write(dir.path().join("function/function.py"), "").unwrap();
        std::fs::write(dir.path().join("function/__pycache__/f.pyc"), "").unwrap();
        let zip = action_zip(dir.path(), Language::Python).unwrap();
        let (mut names, main) = names_and(&zip, "__main__.py");
        names.sort();
        assert_eq!(names, ["__main__.py", "function/function.py", "handler.py"]);
        assert!(main.contains("def main(args)"));
        assert_eq!(zip, action_zip(dir.path(), Language::Python).unwrap());
    }

    #[test]
    fn node_zips_name_the_entry_point_in_package_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("handler.js"), "").unwrap();
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name": "b", "dependencies": {"mustache": "4"}}"#,
        )
        .unwrap();
        let zip = action_zip(dir.path(), Language::Nodejs).unwrap();
        let (names, package) = names_and(&zip, "package.json");
        assert!(names.contains(&"sebs_main.js".to_owned()), "{names:?}");
        let package: serde_json::Value = serde_json::from_str(&package).unwrap();
        assert_eq!(package["main"], "sebs_main.js");
        assert_eq!(package["dependencies"]["mustache"], "4");
    }
}
