//! Node.js packages: the wrapper and `package.json`/`package-lock.json` at the root, the
//! benchmark in `function/`, `node_modules/` installed by npm, for this machine on `local` and
//! for Linux on the target architecture otherwise (npm's `--os`/`--cpu`/`--libc` select the
//! optional platform packages, e.g. sharp's `@img/sharp-linux-arm64`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sebs_core::catalogue::Benchmark;
use sebs_core::fsutil::copy_dir;
use sebs_core::node::NodeInterpreter;

use crate::target::Target;
use crate::{NODE_HANDLER, NODE_PROFILER, node_shims_for, run_init_scripts, tail};

/// The files npm reads at the package root rather than in `function/`.
const NPM_FILES: [&str; 2] = ["package.json", "package-lock.json"];

/// Copy the sources into `function/`, move npm's files to the root, write the wrapper and the
/// shims, run `init.sh`.
pub(crate) fn assemble(
    benchmark: &Benchmark,
    source: &Path,
    root: &Path,
    node_major: &str,
    target: &Target<'_>,
) -> Result<()> {
    let function = root.join("function");
    copy_dir(source, &function)?;
    // SeBS: `package.json.<major>` replaces `package.json` for that Node.js version (e.g. a
    // newer sharp for Node.js 20); the other versions' manifests are not packaged.
    let versioned = format!("package.json.{node_major}");
    for entry in std::fs::read_dir(&function)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == versioned {
            std::fs::rename(entry.path(), function.join("package.json"))
                .with_context(|| format!("failed to use {name} as package.json"))?;
        } else if name.starts_with("package.json.") {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("failed to leave {name} out of the package"))?;
        }
    }
    for name in NPM_FILES {
        let from = function.join(name);
        if from.is_file() {
            std::fs::rename(&from, root.join(name))
                .with_context(|| format!("failed to move {name} to the package root"))?;
        }
    }
    std::fs::write(root.join("handler.js"), NODE_HANDLER)?;
    std::fs::write(root.join(NODE_PROFILER.0), NODE_PROFILER.1)?;
    for (name, source) in node_shims_for(benchmark) {
        std::fs::write(function.join(name), source)?;
    }
    run_init_scripts(benchmark, source, &function, target)
}

/// `npm` next to `node` (its own installation), else the one on PATH.
fn npm_for(node: &NodeInterpreter) -> PathBuf {
    node.path
        .parent()
        .map(|dir| dir.join("npm"))
        .filter(|npm| npm.is_file())
        .unwrap_or_else(|| PathBuf::from("npm"))
}

/// `npm ci` (or `npm install` without a lockfile) of the production dependencies into
/// `<root>/node_modules`.
pub(crate) fn install_dependencies(
    node: &NodeInterpreter,
    root: &Path,
    target: &Target<'_>,
) -> Result<()> {
    let manifest = root.join("package.json");
    if !manifest.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&manifest)?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| "the benchmark's package.json is not valid JSON")?;
    if parsed["dependencies"]
        .as_object()
        .is_none_or(|deps| deps.is_empty())
    {
        return Ok(());
    }
    let locked = root.join("package-lock.json").is_file();
    let npm = npm_for(node);
    let mut command = Command::new(&npm);
    if locked {
        command.args(["ci", "--omit=dev", "--ignore-scripts=false"]);
    } else {
        tracing::warn!(
            "no package-lock.json next to package.json: dependencies are resolved now and may differ between builds; commit a lockfile (`npm install --package-lock-only`)"
        );
        command.args(["install", "--omit=dev", "--no-package-lock"]);
    }
    command.args([
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--loglevel=error",
    ]);
    if !target.is_local() {
        // npm ≥ 10 installs the optional packages of this platform instead of the host's.
        command.args(["--os=linux", "--libc=glibc"]);
        command.arg(format!("--cpu={}", target.npm_cpu()));
    }
    // npm's scripts (and sharp's install check) run with this node first on PATH.
    let mut path = node
        .path
        .parent()
        .map(|p| p.as_os_str().to_owned())
        .unwrap_or_default();
    if let Some(host) = std::env::var_os("PATH") {
        path.push(":");
        path.push(host);
    }
    tracing::info!(
        "installing Node.js dependencies with `npm {}` for {}",
        if locked { "ci" } else { "install" },
        target.describe()
    );
    let out = command
        .current_dir(root)
        .env("PATH", path)
        .env("npm_config_update_notifier", "false")
        .env_remove("NODE_OPTIONS")
        .output()
        .with_context(|| {
            format!(
                "failed to start {}; install npm (it comes with Node.js)",
                npm.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "npm could not install the dependencies of package.json for Node.js {} on {}:\n{}\nfix package.json/package-lock.json (or the network/proxy settings) and run again",
            node.full_version,
            target.describe(),
            tail(&String::from_utf8_lossy(&out.stderr), 20)
        );
    }
    Ok(())
}
