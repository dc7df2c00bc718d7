//! Code packages for `sebs`, built without Docker.
//!
//! A Python package is laid out as AWS Lambda's managed runtime expects it, and our local
//! platform runs it unchanged:
//!
//! ```text
//! handler.py            the SeBS wrapper from runtimes/python: handler(event, context)
//! faas_profiler_python.py  the profiler (`import faas_profiler_python as fp`, docs/profiling.md)
//! function/             the benchmark's sources (function.py, templates, ...) as a package
//! <dependencies>        installed with `pip install --target`
//! ```
//!
//! A Node.js package is laid out as AWS Lambda's managed Node.js runtime expects it:
//!
//! ```text
//! handler.js            the SeBS wrapper from runtimes/nodejs: handler(event, context)
//! faas_profiler.js      the profiler (`require('../faas_profiler')` from function/)
//! package.json          the benchmark's, with its committed package-lock.json
//! function/             the benchmark's sources (function.js, templates, ...)
//! node_modules/         installed with `npm ci --omit=dev` from the lockfile
//! ```
//!
//! On the `local` platform dependencies are installed for this machine; for any other (`aws`)
//! they are installed for Linux on the target architecture (x86_64 or arm64), whatever the host
//! is: pip's binary wheels for the manylinux tags of the Lambda runtime, npm's optional packages
//! for `--os=linux --cpu=x64|arm64` (see `target.rs`).
//!
//! An MD5 over the sources, the shim, the dependency list (and lockfile), the interpreter
//! version, the platform and the architecture keys the cache: a package is rebuilt only when that
//! hash changes or when a rebuild is forced.
//!
//! [`zip_package`] makes the package's deployment zip (AWS Lambda's layout, deterministic, cached
//! next to the build); see `archive.rs`.
//!
//! Every build gets a directory of its own and SeBS's `code` path becomes a link switched
//! atomically to the newest one, so a rebuild (`--update-code`, or changed sources) never writes
//! under instances running from an earlier build; old builds are removed by a later build once no
//! process that used them is running (see `store.rs`).
#![warn(missing_docs, rust_2018_idioms)]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};
use sebs_core::cache::{Cache, PackageKey};
use sebs_core::catalogue::Benchmark;
use sebs_core::config::{Architecture, Language};
use sebs_core::fsutil::dir_size;
use sebs_core::node::NodeInterpreter;
use sebs_core::python::PythonInterpreter;

mod archive;
mod node;
mod python;
mod store;
mod target;

pub use archive::{LAMBDA_DIRECT_UPLOAD_LIMIT, ZipArchive, needs_s3_upload, zip_package};
use store::Store;
use target::Target;

/// The SeBS wrapper copied into every Python package.
pub const PYTHON_HANDLER: &str = include_str!("../../../runtimes/python/handler.py");

/// The profiler copied into the root of every Python package (`import faas_profiler_python`).
pub const PYTHON_PROFILER: (&str, &str) = (
    "faas_profiler_python.py",
    include_str!("../../../runtimes/python/faas_profiler_python.py"),
);

/// The profiler copied into the root of every Node.js package (`faas_profiler.js`).
pub const NODE_PROFILER: (&str, &str) = (
    "faas_profiler.js",
    include_str!("../../../runtimes/nodejs/faas_profiler.js"),
);

/// The shims of one language, `(file name, source)`: the SigV4 helper, then the storage and
/// NoSQL clients, from `runtimes/<dir>` with the language's file extension.
macro_rules! shims {
    ($dir:literal, $ext:literal) => {
        [
            (
                concat!("_sigv4.", $ext),
                include_str!(concat!("../../../runtimes/", $dir, "/_sigv4.", $ext)),
            ),
            (
                concat!("storage.", $ext),
                include_str!(concat!("../../../runtimes/", $dir, "/storage.", $ext)),
            ),
            (
                concat!("nosql.", $ext),
                include_str!(concat!("../../../runtimes/", $dir, "/nosql.", $ext)),
            ),
        ]
    };
}

/// The storage and NoSQL shims (`runtimes/python`), stdlib only: `(file name, source)`.
/// `storage.py` and `nosql.py` go into `function/` when the benchmark's config.json lists the
/// module (`"modules": ["storage"]`); the SigV4 helper they share goes into every package.
pub const PYTHON_SHIMS: [(&str, &str); 3] = shims!("python", "py");

/// The `function/function.py` of a workflow's package: it imports the handler of the
/// `func_name` in the environment variable `SEBS_WORKFLOW_FUNCTION`.
pub const PYTHON_WORKFLOW_FUNCTION: &str =
    include_str!("../../../runtimes/python/workflow_function.py");

/// The environment variable naming the workflow function a deployed function runs.
pub const WORKFLOW_FUNCTION_VAR: &str = "SEBS_WORKFLOW_FUNCTION";

/// The SeBS wrapper copied into every Node.js package.
pub const NODE_HANDLER: &str = include_str!("../../../runtimes/nodejs/handler.js");

/// The Node.js storage and NoSQL shims (`runtimes/nodejs`), standard library only:
/// `(file name, source)`. Copied into `function/` by the benchmark's config.json `modules`, like
/// the Python ones.
pub const NODE_SHIMS: [(&str, &str); 3] = shims!("nodejs", "js");

/// The Node.js shims a benchmark's package gets, from its config.json `modules`.
pub fn node_shims_for(benchmark: &Benchmark) -> Vec<(&'static str, &'static str)> {
    shims_for(&NODE_SHIMS, benchmark)
}

/// The shims a benchmark's package gets, from its config.json `modules`.
pub fn python_shims_for(benchmark: &Benchmark) -> Vec<(&'static str, &'static str)> {
    shims_for(&PYTHON_SHIMS, benchmark)
}

/// The shims of one language a benchmark needs: `storage` and `nosql` by its modules, and always
/// the SigV4 helper (`_sigv4`): the wrapper reads storage triggers' objects and sends results to
/// a trigger's result queue with it.
fn shims_for(
    shims: &[(&'static str, &'static str)],
    benchmark: &Benchmark,
) -> Vec<(&'static str, &'static str)> {
    let storage = benchmark.uses_module("storage");
    let nosql = benchmark.uses_module("nosql");
    shims
        .iter()
        .copied()
        .filter(
            |(name, _)| match name.split_once('.').map_or(*name, |(stem, _)| stem) {
                "_sigv4" => true,
                "storage" => storage,
                "nosql" => nosql,
                _ => false,
            },
        )
        .collect()
}

/// Write all shims into `dir` (for the input driver, which uses them as the harness's client).
pub fn write_python_shims(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    for (name, source) in PYTHON_SHIMS {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(source) {
            std::fs::write(&path, source)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
    }
    Ok(())
}

/// Bumped when the package layout or build steps change, so old cached packages are rebuilt.
/// 2: the target (platform and architecture) is hashed; `.pyc` files are hash-based.
const BUILDER_VERSION: &str = "sebs-build/2";

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The benchmark.
    pub benchmark: &'a Benchmark,
    /// Its language.
    pub language: Language,
    /// The Python the package targets. On `local`, dependencies are installed for this
    /// interpreter. On any other platform `version` (`3.11`) is the target's Python, and `path`
    /// only runs pip (any Python 3 with pip; the package is byte-compiled only if it is that
    /// version).
    pub python: &'a PythonInterpreter,
    /// The Node.js the package targets; required for Node.js packages.
    pub node: Option<&'a NodeInterpreter>,
    /// Platform the package is for: `local` installs dependencies for this machine; any other
    /// (`aws`) for Linux on `architecture` in AWS Lambda's managed runtimes.
    pub platform: &'a str,
    /// Target architecture (part of the cache key and of the content hash).
    pub architecture: Architecture,
    /// Rebuild even if the cached package is current (`--update-code`).
    pub force: bool,
}

/// A built (or reused) package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package directory: this build's own (`.../<arch>/builds/<hash>-<id>`), never
    /// rewritten by a later build and kept until no process that used it is running.
    pub dir: PathBuf,
    /// Content hash.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the cached package was reused.
    pub reused: bool,
}

/// Build the package for `req`, or reuse the cached one.
pub fn build(cache: &Cache, req: &BuildRequest<'_>) -> Result<Package> {
    let source = req.benchmark.language_dir(req.language)?;
    let node = match req.language {
        Language::Python => None,
        Language::Nodejs => Some(req.node.with_context(|| {
            format!(
                "benchmark {}: a Node.js package needs a Node.js interpreter; install Node.js 20 with npm",
                req.benchmark.id
            )
        })?),
    };
    let version = match node {
        Some(node) => node.version.clone(),
        None => req.python.version.clone(),
    };
    let key = PackageKey {
        benchmark: req.benchmark.id.clone(),
        platform: req.platform.to_owned(),
        language: req.language.to_string(),
        variant: "default".into(),
        version,
        arch: req.architecture.as_str().into(),
    };
    let target = Target {
        platform: req.platform,
        architecture: req.architecture,
    };
    let hash = match node {
        Some(node) => {
            node_content_hash(req.benchmark, &source, node, req.platform, req.architecture)?
        }
        None => content_hash(
            req.benchmark,
            &source,
            req.python,
            req.platform,
            req.architecture,
        )?,
    };
    let store = Store::new(&cache.package_dir(&key));
    // One builder at a time per package: concurrent sebs processes wait, then reuse the result.
    let _lock = lock_package(&cache.package_dir(&key))?;
    match store.sweep() {
        Ok(0) => {}
        Ok(n) => tracing::debug!("removed {n} unused builds of {}", req.benchmark.id),
        Err(e) => tracing::warn!(
            "could not remove unused builds of {}: {e:#}; they are tried again at the next build",
            req.benchmark.id
        ),
    }
    if !req.force
        && let Some(entry) = cache.code_package(&key)?
        && entry.hash == hash
        && let Some(dir) = store.current()
    {
        store::lease(&dir)?;
        return Ok(Package {
            size: dir_size(&dir),
            dir,
            hash,
            reused: true,
        });
    }

    // Build into a directory of its own, then switch the current pointer to it: instances
    // running from an earlier build (in this or another process) keep their files, and an
    // interrupted build never leaves a half-built package where the cache points.
    let staging = store.staging()?;
    let root = staging.path();
    match node {
        Some(node) => {
            node::assemble(req.benchmark, &source, root, &node.version, &target)?;
            node::install_dependencies(node, root, &target)?;
        }
        None => {
            python::assemble(req.benchmark, &source, root, &target)?;
            python::install_requirements(req.python, &source, root, &target)?;
            if python::should_compile(req.python, &target) {
                python::compile(req.python, root)?;
            }
        }
    }
    let dir = store.publish(staging, &hash)?;
    store::lease(&dir)?;
    let size = dir_size(&dir);
    cache.store_code_package(&key, &hash, size)?;
    Ok(Package {
        dir,
        hash,
        size,
        reused: false,
    })
}

/// Hold an exclusive lock on `<package>.lock` until the returned file is dropped.
fn lock_package(dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let parent = dir.parent().expect("package dir has a parent");
    std::fs::create_dir_all(parent)
        .with_context(|| format!("failed to create {}", parent.display()))?;
    let path = parent.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open the build lock {}", path.display()))?;
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("failed to lock {}", path.display()));
    }
    Ok(file)
}

/// MD5 over every source file (path and content), `init.sh`, the wrapper, the profiler, the shims, the interpreter version,
/// the platform and the architecture.
pub fn content_hash(
    benchmark: &Benchmark,
    source: &Path,
    python: &PythonInterpreter,
    platform: &str,
    architecture: Architecture,
) -> Result<String> {
    hash_sources(
        benchmark,
        source,
        b"",
        &python.version,
        Target {
            platform,
            architecture,
        },
        if benchmark.is_workflow() {
            &[PYTHON_HANDLER, PYTHON_PROFILER.1, PYTHON_WORKFLOW_FUNCTION]
        } else {
            &[PYTHON_HANDLER, PYTHON_PROFILER.1]
        },
        &python_shims_for(benchmark),
    )
}

/// MD5 over every source file (path and content, `package.json` and `package-lock.json`
/// included), `init.sh`, the Node.js shims, the Node.js major version, the platform and the
/// architecture.
pub fn node_content_hash(
    benchmark: &Benchmark,
    source: &Path,
    node: &NodeInterpreter,
    platform: &str,
    architecture: Architecture,
) -> Result<String> {
    hash_sources(
        benchmark,
        source,
        b"nodejs\0",
        &node.version,
        Target {
            platform,
            architecture,
        },
        &[NODE_HANDLER, NODE_PROFILER.1],
        &node_shims_for(benchmark),
    )
}

fn hash_sources(
    benchmark: &Benchmark,
    source: &Path,
    language_tag: &[u8],
    version: &str,
    target: Target<'_>,
    runtime: &[&str],
    shims: &[(&str, &str)],
) -> Result<String> {
    let mut files = Vec::new();
    collect_files(source, source, &mut files)?;
    files.sort();
    let mut md5 = Md5::new();
    md5.update(BUILDER_VERSION.as_bytes());
    md5.update(language_tag);
    md5.update(version.as_bytes());
    md5.update([0]);
    md5.update(target.describe().as_bytes());
    md5.update([0]);
    for rel in files {
        md5.update(rel.to_string_lossy().as_bytes());
        md5.update([0]);
        md5.update(
            std::fs::read(source.join(&rel))
                .with_context(|| format!("failed to read {}", rel.display()))?,
        );
    }
    let init = benchmark.dir.join("init.sh");
    if init.is_file() {
        md5.update(std::fs::read(&init)?);
    }
    // The wrapper and the profiler, copied into every package of the language.
    for file in runtime {
        md5.update(file.as_bytes());
    }
    for (name, source) in shims {
        md5.update(name.as_bytes());
        md5.update(source.as_bytes());
    }
    Ok(format!("{:x}", md5.finalize()))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("failed to read {}", dir.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name == "__pycache__"
            || name == "node_modules"
            || name.to_string_lossy().ends_with(".pyc")
        {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).expect("under root").to_owned());
        }
    }
    Ok(())
}

/// SeBS's optional resource hook: `bash init.sh <output dir> false <arch>`.
fn run_init_scripts(
    benchmark: &Benchmark,
    source: &Path,
    function: &Path,
    target: &Target<'_>,
) -> Result<()> {
    for script in [benchmark.dir.join("init.sh"), source.join("init.sh")] {
        if script.is_file() {
            let out = Command::new("bash")
                .arg(&script)
                .arg(function)
                .arg("false")
                .arg(target.architecture.as_str())
                .current_dir(script.parent().expect("script has a parent"))
                .output()
                .with_context(|| format!("failed to run {}", script.display()))?;
            if !out.status.success() {
                bail!(
                    "{} failed ({}):\n{}",
                    script.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim_end()
                );
            }
        }
    }
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sebs_core::catalogue::Catalogue;

    fn bench(root: &Path) -> Benchmark {
        let dir = root.join("g/1.x");
        std::fs::create_dir_all(dir.join("python/sub")).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"timeout": 5, "memory": 128, "languages": ["python"]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("input.py"), "").unwrap();
        std::fs::write(
            dir.join("python/function.py"),
            "def handler(event):\n    return {'result': 1}\n",
        )
        .unwrap();
        std::fs::write(dir.join("python/sub/data.txt"), "x").unwrap();
        Catalogue::open(root).unwrap().find("1.x").unwrap()
    }

    #[test]
    fn builds_reuses_and_rebuilds_on_change() {
        let tmp = tempfile::tempdir().unwrap();
        let benchmark = bench(&tmp.path().join("benchmarks"));
        let python = sebs_core::python::find(None).unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let req = BuildRequest {
            benchmark: &benchmark,
            language: Language::Python,
            python: &python,
            node: None,
            platform: "local",
            architecture: Architecture::X64,
            force: false,
        };
        let first = build(&cache, &req).unwrap();
        assert!(!first.reused);
        assert!(first.dir.join("handler.py").is_file());
        assert!(first.dir.join("function/__init__.py").is_file());
        assert!(first.dir.join("function/sub/data.txt").is_file());
        assert!(
            first.dir.join("function/__pycache__").is_dir(),
            "package is byte-compiled"
        );

        let second = build(&cache, &req).unwrap();
        assert!(second.reused);
        assert_eq!(second.hash, first.hash);

        std::fs::write(
            benchmark.dir.join("python/function.py"),
            "def handler(event):\n    return 2\n",
        )
        .unwrap();
        let third = build(&cache, &req).unwrap();
        assert!(!third.reused);
        assert_ne!(third.hash, first.hash);

        let forced = build(&cache, &BuildRequest { force: true, ..req }).unwrap();
        assert!(!forced.reused);
    }

    #[test]
    fn node_packages_have_lambda_layout_and_hash_the_lockfile() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("benchmarks");
        let dir = root.join("g/2.node");
        std::fs::create_dir_all(dir.join("nodejs/templates")).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"timeout": 5, "memory": 128, "languages": ["nodejs"], "modules": ["storage"]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("input.py"), "").unwrap();
        std::fs::write(
            dir.join("nodejs/function.js"),
            "exports.handler = async () => ({result: 1});\n",
        )
        .unwrap();
        std::fs::write(dir.join("nodejs/templates/t.html"), "x").unwrap();
        std::fs::write(
            dir.join("nodejs/package.json"),
            r#"{"name": "n", "version": "1.0.0", "dependencies": {}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("nodejs/package-lock.json"), "{}").unwrap();
        // A developer's node_modules in the source tree is neither copied nor hashed.
        std::fs::create_dir_all(dir.join("nodejs/node_modules/junk")).unwrap();
        let benchmark = Catalogue::open(&root).unwrap().find("2.node").unwrap();
        let python = sebs_core::python::find(None).unwrap();
        let node = sebs_core::node::find(None).unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let req = BuildRequest {
            benchmark: &benchmark,
            language: Language::Nodejs,
            python: &python,
            node: Some(&node),
            platform: "local",
            architecture: Architecture::X64,
            force: false,
        };
        let first = build(&cache, &req).unwrap();
        assert!(!first.reused);
        assert_eq!(
            std::fs::read_to_string(first.dir.join("handler.js")).unwrap(),
            NODE_HANDLER
        );
        assert!(first.dir.join("package.json").is_file());
        assert!(first.dir.join("package-lock.json").is_file());
        assert!(!first.dir.join("function/package.json").exists());
        assert!(first.dir.join("function/function.js").is_file());
        assert!(first.dir.join("function/templates/t.html").is_file());
        assert!(first.dir.join("function/storage.js").is_file());
        assert!(first.dir.join("function/_sigv4.js").is_file());
        assert!(!first.dir.join("function/nosql.js").exists());
        assert!(!first.dir.join("function/node_modules").exists());
        assert!(first.dir.to_string_lossy().contains("nodejs"));

        assert!(build(&cache, &req).unwrap().reused);
        std::fs::write(dir.join("nodejs/node_modules/junk/x.js"), "changed").unwrap();
        assert!(
            build(&cache, &req).unwrap().reused,
            "node_modules is not hashed"
        );
        std::fs::write(
            dir.join("nodejs/package-lock.json"),
            r#"{"lockfileVersion": 3}"#,
        )
        .unwrap();
        let relocked = build(&cache, &req).unwrap();
        assert!(!relocked.reused, "a changed lockfile rebuilds");
        assert_ne!(relocked.hash, first.hash);

        let without = build(&cache, &BuildRequest { node: None, ..req }).unwrap_err();
        assert!(format!("{without:#}").contains("Node.js"), "{without:#}");

        // SeBS's per-version manifests: package.json.<major> is this version's package.json.
        std::fs::write(
            dir.join(format!("nodejs/package.json.{}", node.version)),
            r#"{"name": "versioned", "version": "1.0.0", "dependencies": {}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("nodejs/package.json.4"),
            r#"{"name": "ancient", "version": "1.0.0", "dependencies": {}}"#,
        )
        .unwrap();
        let versioned = build(&cache, &req).unwrap();
        assert!(!versioned.reused, "a new manifest rebuilds");
        let manifest = std::fs::read_to_string(versioned.dir.join("package.json")).unwrap();
        assert!(manifest.contains("\"versioned\""), "{manifest}");
        assert!(!versioned.dir.join("function/package.json.4").exists());
    }
}
