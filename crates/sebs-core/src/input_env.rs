//! The environment `input.py` runs in: SeBS runs a benchmark's `input.py` (input generation and
//! output validation) inside its own Python environment, which has SeBS's host-side packages. An
//! `input.py` written for SeBS may therefore import them (SeBS's 210.thumbnailer checks its
//! thumbnail with `from PIL import Image`).
//!
//! sebs prepares that environment once, on first need (an `input.py` importing a module outside
//! the standard library), as a virtual environment in the cache:
//! `<cache>/input-env/py<X.Y>-<hash>/`, keyed by a hash of its requirement list and the base
//! interpreter. Later runs find it ready and use it for every `input.py`. A lock file serialises
//! concurrent sebs processes sharing a cache.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use md5::{Digest, Md5};

use crate::python::PythonInterpreter;

/// SeBS's host-side packages an `input.py` may import: the data-processing part of SeBS's own
/// requirements (`numpy`, `scipy`, `pandas`) and `Pillow`, which its newer `validate_output`
/// functions use. SeBS's cloud SDKs are left out: they serve SeBS itself, not `input.py`.
/// Pinned so every machine prepares the same environment; these versions have wheels for
/// CPython 3.10 to 3.13.
pub const REQUIREMENTS: &[&str] = &[
    "numpy==2.2.6",
    "scipy==1.15.3",
    "pandas==2.3.3",
    "Pillow==11.3.0",
];

/// Environment variable with extra pip requirements for the environment (space- or
/// comma-separated), for an `input.py` that imports something else.
pub const EXTRA_REQUIREMENTS_VAR: &str = "SEBS_INPUT_REQUIREMENTS";

/// Name of the file that marks an environment as complete.
const READY_MARKER: &str = "sebs-input-env.json";

/// The requirement list: [`REQUIREMENTS`] plus those in `SEBS_INPUT_REQUIREMENTS`.
pub fn requirements() -> Vec<String> {
    let mut list: Vec<String> = REQUIREMENTS.iter().map(|r| (*r).to_owned()).collect();
    if let Ok(extra) = std::env::var(EXTRA_REQUIREMENTS_VAR) {
        for item in extra
            .split([' ', ',', '\n', '\t'])
            .filter(|s| !s.is_empty())
        {
            if !list.iter().any(|r| r == item) {
                list.push(item.to_owned());
            }
        }
    }
    list
}

/// The environment directory (absolute) for `requirements` built from `base`.
pub fn location(cache_dir: &Path, base: &PythonInterpreter, requirements: &[String]) -> PathBuf {
    let mut hash = Md5::new();
    for requirement in requirements {
        hash.update(requirement.as_bytes());
        hash.update(b"\n");
    }
    hash.update(base.path.as_os_str().as_encoded_bytes());
    hash.update(b"\n");
    hash.update(base.full_version.as_bytes());
    let digest: String = hash
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    // Absolute: input.py runs with the benchmark directory as its working directory.
    std::path::absolute(cache_dir)
        .unwrap_or_else(|_| cache_dir.to_owned())
        .join("input-env")
        .join(format!("py{}-{digest}", base.version))
}

fn interpreter(dir: &Path) -> PathBuf {
    dir.join("bin").join("python")
}

/// The environment's interpreter, if the environment for the current requirements is ready.
pub fn ready(cache_dir: &Path, base: &PythonInterpreter) -> Option<PathBuf> {
    let dir = location(cache_dir, base, &requirements());
    let python = interpreter(&dir);
    (dir.join(READY_MARKER).is_file() && python.exists()).then_some(python)
}

/// Why the environment could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to prepare the input.py environment ({requirements}) in {}: {message}",
    dir.display()
)]
pub struct PrepareError {
    /// The requirement list, space-separated.
    pub requirements: String,
    /// The directory it was being created in.
    pub dir: PathBuf,
    /// What failed and how to fix it.
    pub message: String,
}

/// Return the environment's interpreter, creating the environment first if it is not ready
/// (one progress line on stderr through `tracing`).
pub fn prepare(cache_dir: &Path, base: &PythonInterpreter) -> Result<PathBuf, PrepareError> {
    let requirements = requirements();
    let dir = location(cache_dir, base, &requirements);
    let fail = |message: String| PrepareError {
        requirements: requirements.join(" "),
        dir: dir.clone(),
        message,
    };
    let parent = dir.parent().expect("location has a parent");
    std::fs::create_dir_all(parent)
        .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
    let lock = std::fs::File::create(parent.join(".lock"))
        .map_err(|e| fail(format!("cannot create the lock file: {e}")))?;
    lock.lock()
        .map_err(|e| fail(format!("cannot lock {}: {e}", parent.display())))?;
    if let Some(python) = ready(cache_dir, base) {
        return Ok(python);
    }
    tracing::info!(
        "preparing the input.py environment with SeBS's host-side packages ({}) for Python {} in {} (once per cache; pip needs PyPI)",
        requirements.join(" "),
        base.full_version,
        dir.display()
    );
    let started = Instant::now();
    let staging = parent.join(format!(
        ".staging-{}",
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    let result = build(&staging, base, &requirements).and_then(|()| {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir)
            .map_err(|e| format!("cannot move the new environment into place: {e}"))
    });
    if let Err(message) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(fail(message));
    }
    tracing::debug!(
        "input.py environment ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(interpreter(&dir))
}

/// Create a virtual environment in `dir` and install `requirements` with the base
/// interpreter's pip (no pip inside the environment: faster, and nothing else is needed there).
fn build(dir: &Path, base: &PythonInterpreter, requirements: &[String]) -> Result<(), String> {
    let venv = Command::new(&base.path)
        .args(["-m", "venv", "--without-pip"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", base.path.display()))?;
    if !venv.status.success() {
        return Err(format!(
            "`{} -m venv` failed: {}; install the venv module (Debian: apt-get install python3-venv)",
            base.path.display(),
            tail(&venv.stderr)
        ));
    }
    let pip = Command::new(&base.path)
        .args(["-m", "pip", "--python"])
        .arg(interpreter(dir))
        .args([
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--retries",
            "1",
            "--timeout",
            "30",
        ])
        .args(requirements)
        .env_remove("PYTHONPATH")
        .env_remove("PIP_TARGET")
        .env_remove("PIP_PREFIX")
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !pip.status.success() {
        return Err(format!(
            "pip failed ({}): {}; it needs pip >= 22.3 for {} (`{} -m pip install --upgrade pip`) and access to PyPI, or these wheels in pip's cache",
            pip.status,
            tail(&pip.stderr),
            base.full_version,
            base.path.display()
        ));
    }
    let marker = serde_json::json!({
        "requirements": requirements,
        "python": base.path,
        "python_version": base.full_version,
    });
    std::fs::write(
        dir.join(READY_MARKER),
        serde_json::to_vec_pretty(&marker).expect("marker serializes"),
    )
    .map_err(|e| format!("cannot write the ready marker: {e}"))
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(6);
    lines[start..].join("\n")
}

/// The pip package that provides `module`, where the names differ; else the module name.
pub fn package_for_module(module: &str) -> &str {
    match module {
        "PIL" => "Pillow",
        "cv2" => "opencv-python-headless",
        "sklearn" => "scikit-learn",
        "skimage" => "scikit-image",
        "yaml" => "PyYAML",
        "bs4" => "beautifulsoup4",
        "dateutil" => "python-dateutil",
        "google" => "google-cloud-storage",
        "jwt" => "PyJWT",
        other => other,
    }
}

/// What to say when `input.py` needs `modules` that the environment lacks.
pub fn missing_modules_hint(modules: &[String]) -> String {
    let packages: Vec<&str> = modules.iter().map(|m| package_for_module(m)).collect();
    let names: Vec<String> = modules.iter().map(|m| format!("`{m}`")).collect();
    format!(
        "input.py imports {}, which the input.py environment lacks (it has SeBS's host-side packages: {}); add the package with {EXTRA_REQUIREMENTS_VAR}=\"{}\" (pip requirements, space-separated) and sebs prepares an environment with it",
        names.join(", "),
        REQUIREMENTS.join(" "),
        packages.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PythonInterpreter {
        PythonInterpreter {
            path: "/usr/bin/python3.11".into(),
            version: "3.11".into(),
            full_version: "3.11.2".into(),
        }
    }

    #[test]
    fn location_is_keyed_by_requirements_and_interpreter() {
        let cache = Path::new("/c");
        let reqs = vec!["numpy==2.2.6".to_owned()];
        let a = location(cache, &base(), &reqs);
        assert!(a.starts_with("/c/input-env"), "{a:?}");
        assert!(
            a.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("py3.11-"),
            "{a:?}"
        );
        assert_eq!(a, location(cache, &base(), &reqs));
        let more = vec!["numpy==2.2.6".to_owned(), "igraph".to_owned()];
        assert_ne!(a, location(cache, &base(), &more));
        let mut other = base();
        other.full_version = "3.11.7".into();
        assert_ne!(a, location(cache, &other, &reqs));
    }

    #[test]
    fn hint_names_the_package_and_the_variable() {
        let text = missing_modules_hint(&["cv2".to_owned(), "igraph".to_owned()]);
        assert!(text.contains("`cv2`, `igraph`"), "{text}");
        assert!(
            text.contains("SEBS_INPUT_REQUIREMENTS=\"opencv-python-headless igraph\""),
            "{text}"
        );
        assert!(text.contains("Pillow==11.3.0"), "{text}");
    }
}
