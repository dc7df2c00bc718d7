//! The whole pipeline on `--deployment gcp`, as a user runs it: `benchmark invoke` of
//! 110.dynamic-html (the package built by sebs-build for the `gcp` layout, with its jinja2
//! dependency) on 1st gen functions over HTTP and the library trigger, `benchmark process`
//! filling provider times from the (fake) Cloud Logging, the perf-cost experiment's cold and warm
//! samples, the Node.js version on Cloud Run (its source through the Cloud Storage emulator),
//! and `resources list/remove` — against the discovery-checked fake control plane, with the
//! endpoints redirected by gcloud's own override variables.

mod common;

use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_platforms::resources::Selection;
use sebs_platforms::{RunOptions, TriggerKind};
use serde_json::json;

fn request(options: &RunOptions, trigger: TriggerKind, out: &std::path::Path) -> InvokeRequest {
    let mut options = options.clone();
    options.output_dir = out.to_owned();
    InvokeRequest {
        options,
        benchmark: "110.dynamic-html".into(),
        size: "test".into(),
        repetitions: 3,
        trigger,
        memory: None,
        timeout: None,
        function_name: None,
        validate: true,
        storage_configuration: vec![],
    }
}

fn write_config(path: &std::path::Path, key: &std::path::Path, language: &str, variant: &str) {
    let config = json!({
        "deployment": {"name": "gcp", "gcp": {
            "region": "europe-west1", "project_name": "", "credentials": key,
            "system-variant": variant}},
        "experiments": {"runtime": {"language": language},
            "perf-cost": {"benchmark": "110.dynamic-html", "experiments": ["cold", "warm"],
                "input-size": "test", "repetitions": 2, "concurrent-invocations": 1, "memory-sizes": [256]}}
    });
    std::fs::write(path, config.to_string()).unwrap();
}

async fn invoke_ok(
    options: &RunOptions,
    trigger: TriggerKind,
    out: &std::path::Path,
    n: usize,
) -> serde_json::Value {
    invoke_benchmark_ok(options, "110.dynamic-html", trigger, out, n).await
}

async fn invoke_benchmark_ok(
    options: &RunOptions,
    benchmark: &str,
    trigger: TriggerKind,
    out: &std::path::Path,
    n: usize,
) -> serde_json::Value {
    let mut req = request(options, trigger, out);
    req.benchmark = benchmark.into();
    req.repetitions = n as u64;
    let outcome = sebs_experiments::benchmark::invoke(&req).await.unwrap();
    let results = sebs_testkit::results(&outcome.path);
    assert_eq!(results.len(), n);
    for r in &results {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    outcome.experiment.config["deployment"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn benchmark_invoke_process_experiment_and_resources_on_gcp() {
    let docs = match common::discovery::documents_dir() {
        Ok(d) => d,
        Err(why) => {
            return println!(
                "SKIP benchmark_invoke_process_experiment_and_resources_on_gcp: {why}"
            );
        }
    };
    let (_emulator, gcs) = match common::storage_emulator() {
        Ok(e) => e,
        Err(why) => {
            return println!(
                "SKIP benchmark_invoke_process_experiment_and_resources_on_gcp: {why}"
            );
        }
    };
    sebs_gcp::register();
    let fake = common::fake::start(&docs, &gcs, common::python()).await;
    // SAFETY: this test binary has one test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS",
            format!("{}/functions", fake.base),
        );
        std::env::set_var(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN",
            format!("{}/run", fake.base),
        );
        std::env::set_var(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING",
            format!("{}/logging", fake.base),
        );
        std::env::set_var(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
            format!("{}/artifacts", fake.base),
        );
        std::env::set_var("STORAGE_EMULATOR_HOST", &gcs);
    }
    let tmp = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(tmp.path().join("sebs.log")).unwrap();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(log))
        .with_env_filter("debug")
        .with_ansi(false)
        .try_init();
    let keydir = tempfile::tempdir().unwrap();
    let (key, pem) = common::service_account(keydir.path(), &format!("{}/token", fake.base));
    fake.state.lock().unwrap().public_key = Some(keydir.path().join("public.pem"));
    let config = tmp.path().join("config.json");
    write_config(&config, &key, "python", "function-gen1");
    let cache = tmp.path().join("cache");
    let options = RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(common::repo().join("benchmarks")),
        ..RunOptions::default()
    };

    let out_http = tmp.path().join("http");
    let deployment = invoke_ok(&options, TriggerKind::Http, &out_http, 3).await;
    assert_eq!(deployment["name"], "gcp");
    assert_eq!(deployment["resources"]["system_variant"], "function-gen1");
    let function = deployment["resources"]["function"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        function.ends_with("-110-dynamic-html-python-3-11-gen1"),
        "{function}"
    );
    assert!(
        deployment["resources"]["pricing"]["gb-second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    invoke_ok(
        &options,
        TriggerKind::Library,
        &tmp.path().join("library"),
        2,
    )
    .await;

    // A storage benchmark: the input driver uploads its input to Cloud Storage (the emulator)
    // through the GCP shims, and the function reads and writes it there.
    invoke_benchmark_ok(
        &options,
        "311.compression",
        TriggerKind::Http,
        &tmp.path().join("compression"),
        1,
    )
    .await;

    let ctx = ProcessContext::new(&out_http, &cache, Some(&config)).unwrap();
    let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx)
        .await
        .unwrap();
    assert_eq!(
        (filled, missing),
        (3, 0),
        "every invocation has a Cloud Logging record"
    );
    for r in sebs_testkit::results(&path) {
        assert!(
            r["provider_times"]["execution"].as_u64().unwrap() > 0,
            "{r}"
        );
        // 110.dynamic-html's memory (128 MB); billed time rounded up to 100 ms.
        assert_eq!(r["billing"]["_memory"], 128, "{r}");
        assert_eq!(
            r["billing"]["_billed_time"].as_u64().unwrap() % 100,
            0,
            "{r}"
        );
    }

    let mut perf = options.clone();
    perf.output_dir = tmp.path().join("perf-cost");
    let run = sebs_experiments::invoke(
        sebs_experiments::ExperimentKind::PerfCost,
        &sebs_experiments::runner::RunRequest {
            options: perf,
            resume: false,
            force: false,
            storage_configuration: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(run.exit_code(), 0, "{}", run.summary);
    let cold = sebs_testkit::results(&run.results.join("cold_results_256.json"));
    assert!(
        cold.len() == 2 && cold.iter().all(|r| r["stats"]["cold_start"] == true),
        "{cold:?}"
    );
    let warm = sebs_testkit::results(&run.results.join("warm_results_256.json"));
    assert!(
        warm.len() >= 2 && warm.iter().all(|r| r["stats"]["cold_start"] == false),
        "{warm:?}"
    );

    write_config(&config, &key, "nodejs", "container");
    let node = invoke_ok(&options, TriggerKind::Http, &tmp.path().join("node"), 2).await;
    assert_eq!(node["resources"]["system_variant"], "container");

    let (_, listed) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    assert!(listed.iter().any(|r| r.kind == "run-service"), "{listed:?}");
    assert!(listed.iter().any(|r| r.kind == "bucket"), "{listed:?}");
    assert!(listed.iter().any(|r| r.kind == "repository"), "{listed:?}");
    let (_, removed) = sebs_platforms::resources::remove(&options, &Selection::default(), false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.error.is_none()), "{removed:?}");
    write_config(&config, &key, "python", "function-gen1");
    let (_, left) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    let state = fake.state.lock().unwrap();
    assert!(
        state.violations.is_empty(),
        "requests outside Google's API descriptions: {:#?}",
        state.violations
    );
    drop(state);
    let line = pem.lines().nth(1).unwrap();
    for needle in [line.as_bytes(), common::fake::TOKEN.as_bytes()] {
        let mut found = Vec::new();
        sebs_testkit::files_containing(tmp.path(), needle, &mut found);
        assert!(found.is_empty(), "credentials written to {found:?}");
    }
}
