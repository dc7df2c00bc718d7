//! Python packages: the wrapper, the benchmark as the `function` package, dependencies installed
//! with `pip install --target` into the package root (the task root is on `sys.path` on AWS
//! Lambda and on the local platform), byte-compiled for the target's Python when the host's
//! interpreter is that version.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sebs_core::catalogue::Benchmark;
use sebs_core::fsutil::copy_dir;
use sebs_core::python::PythonInterpreter;

use crate::target::Target;
use crate::{PYTHON_HANDLER, PYTHON_PROFILER, python_shims_for, run_init_scripts, tail};

/// Copy the sources into `function/`, write the wrapper and the shims, run `init.sh`.
pub(crate) fn assemble(
    benchmark: &Benchmark,
    source: &Path,
    root: &Path,
    target: &Target<'_>,
) -> Result<()> {
    let function = root.join("function");
    copy_dir(source, &function)?;
    let init = function.join("__init__.py");
    if !init.exists() {
        std::fs::write(&init, b"")?;
    }
    if benchmark.is_workflow() {
        let entry = function.join("function.py");
        if entry.exists() {
            bail!(
                "workflow {}: python/function.py would hide the module that dispatches to each function; rename it (a workflow's functions are python/<func_name>.py)",
                benchmark.id
            );
        }
        std::fs::write(entry, crate::PYTHON_WORKFLOW_FUNCTION)?;
    }
    std::fs::write(root.join("handler.py"), PYTHON_HANDLER)?;
    std::fs::write(root.join(PYTHON_PROFILER.0), PYTHON_PROFILER.1)?;
    for (name, source) in python_shims_for(benchmark) {
        std::fs::write(function.join(name), source)?;
    }
    run_init_scripts(benchmark, source, &function, target)
}

/// The requirements file for this interpreter: `requirements.txt.<version>` if present (SeBS).
fn requirements_file(source: &Path, python: &PythonInterpreter) -> Option<PathBuf> {
    let versioned = source.join(format!("requirements.txt.{}", python.version));
    if versioned.is_file() {
        return Some(versioned);
    }
    let plain = source.join("requirements.txt");
    plain.is_file().then_some(plain)
}

/// `pip install --target <root>` of the benchmark's requirements: for this interpreter on
/// `local`, otherwise binary wheels for the target's Linux, architecture and Python version.
pub(crate) fn install_requirements(
    python: &PythonInterpreter,
    source: &Path,
    root: &Path,
    target: &Target<'_>,
) -> Result<()> {
    let Some(requirements) = requirements_file(source, python) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&requirements)?;
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(());
    }
    let mut command = Command::new(&python.path);
    command.args([
        "-m",
        "pip",
        "install",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
    ]);
    if target.is_local() {
        tracing::info!(
            "installing dependencies from {} with pip",
            requirements.display()
        );
    } else {
        tracing::info!(
            "installing dependencies from {} with pip for Python {} on {}",
            requirements.display(),
            python.version,
            target.describe()
        );
        command.args(["--only-binary=:all:", "--implementation", "cp", "--upgrade"]);
        command.arg("--python-version").arg(&python.version);
        for platform in target.pip_platforms(&python.version) {
            command.arg("--platform").arg(platform);
        }
    }
    let out = command
        .arg("--target")
        .arg(root)
        .arg("-r")
        .arg(&requirements)
        .env_remove("PYTHONPATH")
        .output()
        .with_context(|| format!("failed to start pip with {}", python.path.display()))?;
    if !out.status.success() {
        bail!(pip_error(
            python,
            &requirements,
            target,
            &String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// What to tell the user when pip fails.
fn pip_error(
    python: &PythonInterpreter,
    requirements: &Path,
    target: &Target<'_>,
    stderr: &str,
) -> String {
    if stderr.contains("No module named pip") {
        return format!(
            "pip is not available for Python {} ({}); install it with `{} -m ensurepip`",
            python.version,
            python.path.display(),
            python.path.display()
        );
    }
    if !target.is_local()
        && let Some(package) = missing_distribution(stderr)
    {
        return format!(
            "no binary wheel of `{package}` (from {}) for Python {} on {} (Linux {}, the glibc of AWS \
             Lambda's python{} runtime): pin a version of {package} that publishes a manylinux {} wheel \
             for cp{} (or a pure-Python wheel), or deploy for the other architecture (`experiments.architecture` in the config)\n{}",
            requirements.display(),
            python.version,
            target.describe(),
            target.machine(),
            python.version,
            target.machine(),
            python.version.replace('.', ""),
            tail(stderr, 20)
        );
    }
    format!(
        "pip could not install {} for Python {} on {}:\n{}\nfix the requirements file (or the network/proxy settings) and run again",
        requirements.display(),
        python.version,
        target.describe(),
        tail(stderr, 20)
    )
}

/// The requirement pip found no distribution for: `No matching distribution found for X`.
fn missing_distribution(stderr: &str) -> Option<&str> {
    stderr.lines().find_map(|line| {
        line.split_once("No matching distribution found for ")
            .map(|(_, rest)| rest.trim())
            .filter(|name| !name.is_empty())
    })
}

/// Whether to byte-compile the package with `python`: always on `local`, otherwise only when
/// the host interpreter is the target's version (a `.pyc` of another version is never used, and
/// AWS Lambda cannot write any into the read-only task root, so the matching ones save each cold
/// start the compilation).
pub(crate) fn should_compile(python: &PythonInterpreter, target: &Target<'_>) -> bool {
    if target.is_local() {
        return true;
    }
    match sebs_core::python::probe(&python.path) {
        Some(host) if host.version == python.version => true,
        Some(host) => {
            tracing::info!(
                "not byte-compiling the package: the host's Python is {}, the target's {}",
                host.version,
                python.version
            );
            false
        }
        None => false,
    }
}

/// Byte-compile the package with `.pyc` files keyed by the source's hash, not its modification
/// time, and naming their sources under Lambda's task root (`/var/task/...`) rather than this
/// build's staging directory: the package never changes after it is built, and the same sources
/// give the same bytes. (Python replaces the name with the source's real path when it loads a
/// `.pyc`, so tracebacks on the local platform show the package's files.)
pub(crate) fn compile(python: &PythonInterpreter, root: &Path) -> Result<()> {
    let out = Command::new(&python.path)
        .args([
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            "/var/task",
        ])
        .arg(root)
        .env_remove("PYTHONPATH")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .with_context(|| format!("failed to start {}", python.path.display()))?;
    if !out.status.success() {
        bail!(
            "byte-compiling the package failed (a syntax error in the sources?):\n{}",
            tail(&String::from_utf8_lossy(&out.stdout), 20)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_requirement_without_a_wheel() {
        let stderr = "ERROR: Could not find a version that satisfies the requirement \
                      oldpkg==0.1 (from versions: none)\n\
                      ERROR: No matching distribution found for oldpkg==0.1\n";
        assert_eq!(missing_distribution(stderr), Some("oldpkg==0.1"));
        assert_eq!(missing_distribution("ERROR: something else"), None);

        let python = PythonInterpreter {
            path: PathBuf::from("python3"),
            version: "3.11".into(),
            full_version: "3.11.7".into(),
        };
        let target = Target {
            platform: "aws",
            architecture: sebs_core::config::Architecture::Arm64,
        };
        let message = pip_error(&python, Path::new("requirements.txt"), &target, stderr);
        assert!(
            message.starts_with("no binary wheel of `oldpkg==0.1`"),
            "{message}"
        );
        assert!(message.contains("aws/arm64"), "{message}");
        assert!(message.contains("cp311"), "{message}");
    }
}
