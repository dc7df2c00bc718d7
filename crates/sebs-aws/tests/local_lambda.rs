//! The AWS backend end to end against the local platform's Lambda API (functions really run)
//! and the embedded S3 server: 110.dynamic-html through both triggers, a forced cold start,
//! processing of the REPORT records, the storage benchmark 311.compression, and cleanup. The
//! cache, results and logs are then searched for the credentials.
//!
//! One test per process: endpoints are process-wide environment variables, as for a user.

use std::path::{Path, PathBuf};

use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_platforms::resources::Selection;
use sebs_platforms::{RunOptions, TriggerKind};
use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn request(
    options: &RunOptions,
    benchmark: &str,
    trigger: TriggerKind,
    out: &Path,
) -> InvokeRequest {
    let mut options = options.clone();
    options.output_dir = out.to_owned();
    InvokeRequest {
        options,
        benchmark: benchmark.into(),
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

use sebs_testkit::{files_containing, results};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_backend_against_the_local_lambda_api() {
    sebs_aws::register();
    let tmp = tempfile::tempdir().unwrap();
    let platform = sebs_local::LocalPlatform::start().await.unwrap();
    let storage = sebs_storage::EmbeddedStorage::start(
        sebs_storage::Services {
            object: true,
            nosql: false,
        },
        &sebs_storage::EmbeddedOptions::under(&tmp.path().join("storage")),
    )
    .await
    .unwrap();
    let s3 = storage.config().object_endpoint().unwrap().unwrap();
    // As a user would: endpoints and credentials in the environment, a role in the config
    // (the local platform has no IAM).
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL_LAMBDA", platform.endpoint());
        std::env::set_var("AWS_ENDPOINT_URL_S3", format!("http://{}", s3.address));
        std::env::set_var("AWS_ACCESS_KEY_ID", &s3.access_key);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", &s3.secret_key);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_CONFIG_FILE", tmp.path().join("no-config"));
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            tmp.path().join("no-credentials"),
        );
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
    }
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        json!({
            "deployment": {"name": "aws", "aws": {"lambda-role": "arn:aws:iam::000000000000:role/sebs"}},
            "experiments": {"runtime": {"language": "python"}}
        })
        .to_string(),
    )
    .unwrap();
    let cache = tmp.path().join("cache");
    let options = RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(repo().join("benchmarks")),
        ..RunOptions::default()
    };

    // HTTP trigger: a function URL of the local platform.
    let out_http = tmp.path().join("http");
    let outcome = sebs_experiments::benchmark::invoke(&request(
        &options,
        "110.dynamic-html",
        TriggerKind::Http,
        &out_http,
    ))
    .await
    .unwrap();
    let http = results(&outcome.path);
    assert_eq!(http.len(), 3);
    for r in &http {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert_eq!(
        http.iter()
            .filter(|r| r["stats"]["cold_start"] == true)
            .count(),
        1
    );
    let deployment = &outcome.experiment.config["deployment"];
    assert_eq!(deployment["name"], "aws");
    let function = deployment["resources"]["function"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        function.starts_with("sebs-") && function.contains("-110-dynamic-html-python-"),
        "{function}"
    );
    assert!(
        !function.contains('.'),
        "Lambda names have no dots: {function}"
    );
    assert!(
        deployment["resources"]["pricing"]["gb-second"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // Library trigger: Invoke with the log tail; REPORT records fill provider times at once.
    let out_lib = tmp.path().join("library");
    let outcome = sebs_experiments::benchmark::invoke(&request(
        &options,
        "110.dynamic-html",
        TriggerKind::Library,
        &out_lib,
    ))
    .await
    .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["stats"]["cold_start"], false, "the function is warm: {r}");
        assert_eq!(r["billing"]["_memory"], 128, "{r}");
        assert!(r["billing"]["_billed_time"].as_u64().unwrap() >= 1, "{r}");
    }

    // A forced cold start: the next invocation reports one.
    let backend = sebs_platforms::factory::create_named(
        "aws",
        &sebs_platforms::settings::load_config(Some(&config))
            .unwrap()
            .deployment,
        &cache,
    )
    .unwrap();
    backend
        .enforce_cold_start(std::slice::from_ref(&function))
        .await
        .unwrap();
    let trigger = backend
        .trigger(&function, TriggerKind::Library)
        .await
        .unwrap();
    let cold = trigger
        .invoke(&json!({"username": "x", "random_len": 10}))
        .await;
    assert!(!cold.stats.failure, "{:?}", cold.error);
    assert!(
        cold.stats.cold_start,
        "enforce_cold_start makes the next invocation cold"
    );
    assert!(
        cold.provider_times.initialization > 0,
        "a cold REPORT has Init Duration"
    );
    let warm = trigger
        .invoke(&json!({"username": "x", "random_len": 10}))
        .await;
    assert!(!warm.stats.cold_start);

    // Processing: provider metrics for every invocation of both runs.
    for out in [&out_http, &out_lib] {
        let ctx = ProcessContext::new(out, &cache, Some(&config)).unwrap();
        let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx)
            .await
            .unwrap();
        if out == &out_lib {
            assert_eq!(
                (filled, missing),
                (3, 0),
                "library invocations carry their REPORT"
            );
        }
        assert!(path.is_file());
    }

    // A storage benchmark: inputs uploaded to S3 by the driver, read by the function.
    let out_storage = tmp.path().join("storage-run");
    let mut req = request(
        &options,
        "311.compression",
        TriggerKind::Library,
        &out_storage,
    );
    req.repetitions = 1;
    let outcome = sebs_experiments::benchmark::invoke(&req).await.unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }

    // Resources: the two functions and the bucket, then nothing after cleanup.
    let (_, listed) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    let kinds: Vec<&str> = listed.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "function").count(),
        2,
        "{listed:?}"
    );
    assert!(kinds.contains(&"bucket"), "{listed:?}");
    let (_, removed) = sebs_platforms::resources::remove(&options, &Selection::default(), false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.error.is_none()), "{removed:?}");
    let (_, left) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    assert!(left.is_empty(), "cleanup leaves nothing: {left:?}");

    // The secret key is nowhere in the cache or the results.
    let mut leaks = Vec::new();
    files_containing(tmp.path(), s3.secret_key.as_bytes(), &mut leaks);
    leaks.retain(|p| !p.starts_with(tmp.path().join("storage")));
    assert!(leaks.is_empty(), "credentials written to {leaks:?}");

    backend.shutdown().await;
    storage.shutdown().await;
    platform.shutdown().await;
}
