//! A forced rebuild of a package while its function cold-starts over and over on the local
//! platform: no invocation may fail. Before builds had directories of their own, the rebuild
//! removed and replaced the package under starting instances (`ModuleNotFoundError`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sebs_build::{BuildRequest, build};
use sebs_core::cache::Cache;
use sebs_core::catalogue::{Benchmark, Catalogue};
use sebs_core::config::{Architecture, ColdStartMode, Language};
use sebs_local::{FunctionSpec, LocalPlatform, Outcome};

/// Modules the function imports at start: enough files that removing the package takes a while.
const MODULES: usize = 150;

fn benchmark(root: &Path) -> Benchmark {
    let dir = root.join("g/1.many-modules");
    std::fs::create_dir_all(dir.join("python/mods")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"timeout": 30, "memory": 128, "languages": ["python"]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("input.py"), "").unwrap();
    std::fs::write(dir.join("python/mods/__init__.py"), "").unwrap();
    for i in 0..MODULES {
        std::fs::write(
            dir.join(format!("python/mods/m{i}.py")),
            format!("VALUE = {i}\n"),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("python/function.py"),
        format!(
            "import importlib\n\
             TOTAL = sum(importlib.import_module(f'function.mods.m{{i}}').VALUE for i in range({MODULES}))\n\
             def handler(event):\n    return {{'result': TOTAL}}\n"
        ),
    )
    .unwrap();
    Catalogue::open(root)
        .unwrap()
        .find("1.many-modules")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_rebuilds_during_cold_starts_fail_no_invocation() {
    let tmp = tempfile::tempdir().unwrap();
    let benchmark = benchmark(&tmp.path().join("benchmarks"));
    let python = sebs_core::python::find(None).unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let request = BuildRequest {
        benchmark: &benchmark,
        language: Language::Python,
        python: &python,
        node: None,
        platform: "local",
        architecture: Architecture::X64,
        force: false,
    };
    let package = build(&cache, &request).unwrap();

    let platform = Arc::new(LocalPlatform::start().await.unwrap());
    let mut spec = FunctionSpec::python(
        "many",
        std::path::absolute(&package.dir).unwrap(),
        python.path.clone(),
        128,
        Duration::from_secs(30),
    );
    // Every invocation a real cold start that imports the package from disk.
    spec.cold_start = Some(ColdStartMode::Exec);
    spec.keep_alive = Some(Duration::ZERO);
    platform.deploy(spec).await;

    let rebuilding = Arc::new(AtomicBool::new(true));
    let builder = {
        let (benchmark, python, cache) = (benchmark.clone(), python.clone(), cache.clone());
        let rebuilding = rebuilding.clone();
        std::thread::spawn(move || {
            for _ in 0..6 {
                let forced = build(
                    &cache,
                    &BuildRequest {
                        benchmark: &benchmark,
                        language: Language::Python,
                        python: &python,
                        node: None,
                        platform: "local",
                        architecture: Architecture::X64,
                        force: true,
                    },
                );
                assert!(!forced.unwrap().reused);
            }
            rebuilding.store(false, Ordering::SeqCst);
        })
    };

    let mut loops = Vec::new();
    for _ in 0..3 {
        let (platform, rebuilding) = (platform.clone(), rebuilding.clone());
        loops.push(tokio::spawn(async move {
            let (mut cold, mut failures) = (0, Vec::new());
            while rebuilding.load(Ordering::SeqCst) {
                let inv = platform
                    .invoke("many", Bytes::from_static(b"{}"))
                    .await
                    .unwrap();
                cold += usize::from(inv.cold);
                match &inv.outcome {
                    Outcome::Response(body)
                        if String::from_utf8_lossy(body)
                            .contains(&format!("{}", MODULES * (MODULES - 1) / 2)) => {}
                    other => failures.push(format!("{other:?}")),
                }
            }
            (cold, failures)
        }));
    }
    let (mut cold, mut failures) = (0, Vec::new());
    for handle in loops {
        let (c, f) = handle.await.unwrap();
        cold += c;
        failures.extend(f);
    }
    builder.join().unwrap();
    match Arc::try_unwrap(platform) {
        Ok(platform) => platform.shutdown().await,
        Err(_) => panic!("the platform is still shared"),
    }
    assert!(
        cold >= 10,
        "only {cold} cold starts overlapped the rebuilds"
    );
    assert!(
        failures.is_empty(),
        "{} of {cold} cold starts failed during rebuilds, e.g. {}",
        failures.len(),
        failures[0]
    );
}
