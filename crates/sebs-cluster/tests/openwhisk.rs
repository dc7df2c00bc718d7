//! The OpenWhisk backend end to end against a fake controller that checks every request against
//! OpenWhisk's published API description and runs the actions (tests/common/openwhisk.rs):
//! 110.dynamic-html through web actions and blocking invocations, processing of activation
//! records, a forced cold start, a 202 answer, a failing invocation, a storage benchmark, a
//! Node.js action, and cleanup. The cache and results are then searched for the credentials.
//!
//! One test per process: the `wsk` properties file is named by a process-wide variable.

mod common;

use common::openwhisk::FakeOpenWhisk;
use common::repo;
use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_platforms::resources::Selection;
use sebs_platforms::{RunOptions, TriggerKind};
use sebs_testkit::{files_containing, results};
use serde_json::json;

/// OpenWhisk's well-known guest key: what a fresh deployment has.
const AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

fn request(
    options: &RunOptions,
    benchmark: &str,
    trigger: TriggerKind,
    out: &std::path::Path,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openwhisk_backend_against_the_contract_fake() {
    sebs_cluster::register_openwhisk();
    let tmp = tempfile::tempdir().unwrap();
    unsafe { std::env::set_var("WSK_CONFIG_FILE", tmp.path().join("no-wskprops")) };
    let fake = FakeOpenWhisk::start(AUTH, &tmp.path().join("containers")).await;
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
    let config = tmp.path().join("config.json");
    let write_config = |language: &str, image: Option<&str>| {
        let mut value = json!({
            "deployment": {"name": "openwhisk", "openwhisk": {
                "shutdownStorage": false, "removeCluster": false, "wskBypassSecurity": "true",
                "wskExec": "wsk", "experimentalManifest": false,
                "apihost": fake.url, "auth": AUTH,
                "storage": serde_json::to_value(storage.config()).unwrap()
            }},
            "experiments": {"runtime": {"language": language}}
        });
        if let Some(image) = image {
            value["deployment"]["openwhisk"]["docker_image"] = json!(image);
        }
        std::fs::write(&config, value.to_string()).unwrap()
    };
    write_config("python", None);
    let cache = tmp.path().join("cache");
    let options = RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(repo().join("benchmarks")),
        ..RunOptions::default()
    };

    // HTTP trigger: the web action; one cold start, then a warm container.
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
        assert_eq!(r["stats"]["failure"], false, "{r} {:?}", fake.log());
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert_eq!(
        http.iter()
            .filter(|r| r["stats"]["cold_start"] == true)
            .count(),
        1
    );
    let deployment = &outcome.experiment.config["deployment"];
    assert_eq!(deployment["name"], "openwhisk");
    assert_eq!(deployment["resources"]["kind"], "python:3.11");
    assert!(
        deployment.to_string().find("123zO3").is_none(),
        "no key in the record"
    );
    let function = deployment["resources"]["function"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        function.starts_with("sebs-") && function.contains("110.dynamic-html-python-3.11"),
        "{function}"
    );
    let action = fake.action(&function).unwrap();
    assert_eq!(action["limits"]["memory"], 128);
    assert_eq!(action["limits"]["timeout"], 10_000);

    // Library trigger: blocking invocations of the same (warm) version; the request id is the
    // activation id.
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
        assert_eq!(r["stats"]["cold_start"], false, "the action is warm: {r}");
        assert_eq!(r["request_id"].as_str().unwrap().len(), 32, "{r}");
    }
    assert_eq!(
        fake.log().iter().filter(|l| l.starts_with("PUT ")).count(),
        1,
        "the second run found the action up to date: {:?}",
        fake.log()
    );

    // Processing: activation records for every invocation of both runs.
    for out in [&out_http, &out_lib] {
        let ctx = ProcessContext::new(out, &cache, Some(&config)).unwrap();
        let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx)
            .await
            .unwrap();
        assert_eq!((filled, missing), (3, 0), "{}", out.display());
        let processed = results(&path);
        assert!(
            processed.iter().all(|r| r["billing"]["_memory"] == 128),
            "{processed:?}"
        );
        assert_eq!(
            processed
                .iter()
                .filter(|r| r["provider_times"]["initialization"].as_u64().unwrap() > 0)
                .count(),
            usize::from(out == &out_http),
            "initTime only on the cold activation"
        );
    }

    // A forced cold start (an update of the action), a 202 answer, a failing invocation.
    let backend = sebs_platforms::factory::create_named(
        "openwhisk",
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
    let input = json!({"username": "x", "random_len": 10});
    let cold = trigger.invoke(&input).await;
    assert!(!cold.stats.failure, "{:?}", cold.error);
    assert!(
        cold.stats.cold_start,
        "an updated action gets new containers"
    );
    fake.accept_next(1);
    let accepted = trigger.invoke(&input).await;
    assert!(!accepted.stats.failure, "{:?}", accepted.error);
    assert!(!accepted.stats.cold_start);
    assert!(accepted.times.benchmark > 0);
    let failed = trigger.invoke(&json!({"random_len": 10})).await;
    assert!(failed.stats.failure);
    let error = failed.error.unwrap();
    assert_eq!(error.kind, "action developer error", "{error:?}");
    assert!(error.message.contains("username"), "{error:?}");
    assert_eq!(
        failed.request_id.len(),
        32,
        "failed activations have ids too"
    );
    let web = backend.trigger(&function, TriggerKind::Http).await.unwrap();
    let failed_web = web.invoke(&json!({"random_len": 10})).await;
    assert!(failed_web.stats.failure);
    assert_eq!(failed_web.request_id.len(), 32);

    // A storage benchmark: inputs uploaded by the driver, read by the action.
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

    // A Node.js action (package.json names the entry point).
    write_config("nodejs", None);
    let out_node = tmp.path().join("node");
    let outcome = sebs_experiments::benchmark::invoke(&request(
        &options,
        "110.dynamic-html",
        TriggerKind::Library,
        &out_node,
    ))
    .await
    .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert!(
        outcome.experiment.config["deployment"]["resources"]["kind"]
            .as_str()
            .unwrap()
            .starts_with("nodejs:")
    );

    // An image action (`--docker`): kind blackbox with the image, the zip as its code.
    write_config("python", Some("me/sebs-{benchmark}:{language}-{version}"));
    let out_image = tmp.path().join("image");
    let mut req = request(&options, "110.dynamic-html", TriggerKind::Http, &out_image);
    req.repetitions = 1;
    let outcome = sebs_experiments::benchmark::invoke(&req).await.unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["stats"]["cold_start"], true, "a new version: {r}");
    }
    let exec = &fake.action(&function).unwrap()["exec"];
    assert_eq!(exec["kind"], "blackbox");
    assert_eq!(exec["image"], "me/sebs-110-dynamic-html:python-3.11");

    // Resources: the three actions, then nothing after cleanup.
    let (_, listed) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().filter(|r| r.kind == "function").count(),
        3,
        "{listed:?}"
    );
    let (_, removed) = sebs_platforms::resources::remove(&options, &Selection::default(), false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.error.is_none()), "{removed:?}");
    assert!(fake.actions().is_empty(), "{:?}", fake.actions());

    assert!(
        fake.violations().is_empty(),
        "requests or answers off the API description: {:#?}",
        fake.violations()
    );
    let mut leaks = Vec::new();
    files_containing(
        tmp.path(),
        b"123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
        &mut leaks,
    );
    files_containing(tmp.path(), s3.secret_key.as_bytes(), &mut leaks);
    leaks.retain(|p| {
        !p.starts_with(tmp.path().join("storage"))
            && !p.starts_with(tmp.path().join("containers"))
            && p != &config
    });
    assert!(leaks.is_empty(), "credentials written to {leaks:?}");

    backend.shutdown().await;
    storage.shutdown().await;
}
