//! The Azure backend end to end against the contract fake (tests/common): Resource Manager
//! requests checked against tests/data/arm-subset.json, long-running operations, Kudu's zip
//! deploy, function apps whose code really runs (Python with the `azure.functions` library, and
//! Node.js), Application Insights' query API, and Azurite (npm `azurite`) for Blob storage.
//!
//! deploy → invoke (HTTP, function key) → process → forced cold start → failures → a storage
//! benchmark (Blob storage on Azurite) → a NoSQL benchmark (the fake's Cosmos DB data plane,
//! which checks every request's master-key signature) → a Node.js app → resources list/remove.
//! The cache, results and logs are then searched for every credential the run handled.
//!
//! One test per process: the endpoints are process-wide variables.

mod common;

use std::collections::HashMap;

use base64::Engine;
use common::azurite::Azurite;
use common::fake::{FakeAzure, FakeConfig};
use common::repo;
use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_platforms::resources::Selection;
use sebs_platforms::{RunOptions, TriggerKind};
use sebs_testkit::{files_containing, results};
use serde_json::json;

const CLIENT: &str = "5f8e7c1a-0000-4000-8000-0000000000aa";
const TENANT: &str = "72f988bf-0000-4000-8000-0000000000bb";
const SECRET: &str = "sp-secret-Qx7~contract-test-only";
const SUBSCRIPTION: &str = "0b1f6471-0000-4000-8000-0000000000cc";
const RESOURCES_ID: &str = "e2etest1";

fn request(
    options: &RunOptions,
    benchmark: &str,
    out: &std::path::Path,
    repetitions: u64,
) -> InvokeRequest {
    let mut options = options.clone();
    options.output_dir = out.to_owned();
    InvokeRequest {
        options,
        benchmark: benchmark.into(),
        size: "test".into(),
        repetitions,
        trigger: TriggerKind::Http,
        memory: None,
        timeout: None,
        function_name: None,
        validate: true,
        storage_configuration: vec![],
    }
}

fn set_endpoints(url: &str) {
    for (name, value) in [
        ("SEBS_AZURE_MANAGEMENT_URL", format!("{url}/arm")),
        ("SEBS_AZURE_LOGIN_URL", format!("{url}/login")),
        ("SEBS_AZURE_FUNCTIONS_URL", format!("{url}/sites/{{app}}")),
        ("SEBS_AZURE_SCM_URL", format!("{url}/scm/{{app}}")),
        ("SEBS_AZURE_INSIGHTS_URL", format!("{url}/insights")),
        ("SEBS_AZURE_COLD_START_WAIT_S", "0.1".to_owned()),
    ] {
        // One test per process (see the module's comment).
        unsafe { std::env::set_var(name, value) };
    }
    for name in [
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_SUBSCRIPTION_ID",
    ] {
        unsafe { std::env::remove_var(name) };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn azure_backend_against_the_contract_fake() {
    sebs_azure::register();
    let tmp = tempfile::tempdir().unwrap();
    let data_account = format!("sebs{RESOURCES_ID}data");
    let account_key = base64::engine::general_purpose::STANDARD
        .encode("azurite-account-key-of-the-sebs-azure-contract-test");
    let azurite = Azurite::start(
        &format!("{data_account}:{account_key}"),
        &tmp.path().join("azurite"),
    );
    let fake_root = tmp.path().join("fake");
    std::fs::create_dir_all(&fake_root).unwrap();
    let fake = FakeAzure::start(FakeConfig {
        principal: (CLIENT.into(), TENANT.into(), SECRET.into()),
        subscription: SUBSCRIPTION.into(),
        blob_endpoint: azurite.url.clone(),
        account_keys: HashMap::from([(data_account.clone(), account_key.clone())]),
        root: fake_root.clone(),
    })
    .await;
    set_endpoints(&fake.url);
    let config = tmp.path().join("config.json");
    let write_config = |language: &str| {
        let value = json!({
            "deployment": {"name": "azure", "azure": {
                "region": "westeurope",
                "credentials": {"appId": CLIENT, "tenant": TENANT, "password": SECRET},
                "resources": {"resources_id": RESOURCES_ID}
            }},
            "experiments": {"runtime": {"language": language}}
        });
        std::fs::write(&config, value.to_string()).unwrap()
    };
    write_config("python");
    let cache = tmp.path().join("cache");
    let options = RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(repo().join("benchmarks")),
        ..RunOptions::default()
    };

    // Deploy and invoke through the HTTP trigger: one cold start, then the warm instance.
    let out_http = tmp.path().join("http");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, "110.dynamic-html", &out_http, 3))
            .await
            .unwrap();
    let http = results(&outcome.path);
    assert_eq!(http.len(), 3);
    for r in &http {
        assert_eq!(r["stats"]["failure"], false, "{r} {:?}", fake.log());
        assert_eq!(r["validation"]["passed"], true, "{r}");
        assert_eq!(r["request_id"].as_str().unwrap().len(), 36, "{r}");
    }
    assert_eq!(
        http.iter()
            .filter(|r| r["stats"]["cold_start"] == true)
            .count(),
        1
    );
    let deployment = &outcome.experiment.config["deployment"];
    assert_eq!(deployment["name"], "azure");
    let resources = &deployment["resources"];
    assert_eq!(resources["subscription"], SUBSCRIPTION, "found by listing");
    assert_eq!(resources["stack"], "Python|3.11");
    assert_eq!(resources["pricing"]["date"], "2026-11-30");
    let app = resources["function_app"].as_str().unwrap().to_owned();
    assert!(
        app.starts_with("sebs-e2etest1-110-dynamic-html-python-3-11"),
        "{app}"
    );
    let settings = fake.settings(&app);
    assert_eq!(settings["FUNCTIONS_WORKER_RUNTIME"], "python");
    assert_eq!(settings["FUNCTIONS_EXTENSION_VERSION"], "~4");
    assert!(settings["AzureWebJobsStorage"].contains("AccountName=sebse2etest1function"));
    let zipdeploys = |fake: &FakeAzure| {
        fake.log()
            .iter()
            .filter(|l| l.ends_with("/api/zipdeploy"))
            .count()
    };
    assert_eq!(zipdeploys(&fake), 1);

    // The same code again: no new deployment, the instance stays warm.
    let out_warm = tmp.path().join("warm");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, "110.dynamic-html", &out_warm, 2))
            .await
            .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["stats"]["cold_start"], false, "{r} {:#?}", fake.log());
    }
    assert_eq!(zipdeploys(&fake), 1, "up to date: {:?}", fake.log());

    // Processing: Application Insights' records of every invocation.
    for (out, n) in [(&out_http, 3), (&out_warm, 2)] {
        let ctx = ProcessContext::new(out, &cache, Some(&config)).unwrap();
        let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx)
            .await
            .unwrap();
        assert_eq!((filled, missing), (n, 0), "{}", out.display());
        for r in results(&path) {
            assert_eq!(r["billing"]["_memory"], 128, "{r}");
            assert!(r["billing"]["_billed_time"].as_u64().unwrap() >= 100, "{r}");
            assert!(
                r["provider_times"]["execution"].as_u64().unwrap() > 0,
                "{r}"
            );
        }
    }

    cold_start_and_failures(&fake, &config, &cache, &app).await;

    // A storage benchmark: the input driver uploads to Blob storage (Azurite) through
    // runtimes/azure's shim, the function reads and writes through it.
    let out_storage = tmp.path().join("storage-run");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, "311.compression", &out_storage, 1))
            .await
            .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }

    // A NoSQL benchmark: its table is a Cosmos DB container (the fake's data plane checks every
    // request's master-key signature); the driver writes the items, the function reads them.
    let out_nosql = tmp.path().join("nosql-run");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, "130.crud-api", &out_nosql, 1))
            .await
            .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }

    // A Node.js app.
    write_config("nodejs");
    let out_node = tmp.path().join("node");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, "110.dynamic-html", &out_node, 2))
            .await
            .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert!(
        outcome.experiment.config["deployment"]["resources"]["stack"]
            .as_str()
            .unwrap()
            .starts_with("Node|")
    );
    write_config("python");

    cosmos_and_failed_creation(&fake, &config, &cache).await;
    cleanup(&fake, &options).await;

    assert!(
        fake.violations().is_empty(),
        "requests off the API description: {:#?}",
        fake.violations()
    );
    let mut leaks = Vec::new();
    let keys: Vec<String> = fake
        .settings(&app)
        .get("AzureWebJobsStorage")
        .into_iter()
        .cloned()
        .chain([
            SECRET.to_owned(),
            account_key.clone(),
            "fnkey-".into(),
            common::cosmos::MASTER_KEY.into(),
            "fake-token-".into(),
        ])
        .collect();
    for needle in &keys {
        files_containing(tmp.path(), needle.as_bytes(), &mut leaks);
    }
    leaks.retain(|p| {
        !p.starts_with(&fake_root) && !p.starts_with(tmp.path().join("azurite")) && p != &config
    });
    assert!(leaks.is_empty(), "credentials written to {leaks:?}");
    drop(azurite);
}

/// A forced cold start (an app setting changed), a failing invocation, a trigger kind Azure
/// does not offer.
async fn cold_start_and_failures(
    fake: &FakeAzure,
    config: &std::path::Path,
    cache: &std::path::Path,
    app: &str,
) {
    let backend = sebs_platforms::factory::create_named(
        "azure",
        &sebs_platforms::settings::load_config(Some(config))
            .unwrap()
            .deployment,
        cache,
    )
    .unwrap();
    let started = fake.workers.started();
    backend.enforce_cold_start(&[app.to_owned()]).await.unwrap();
    assert!(fake.settings(app).contains_key("ForceColdStart"));
    let trigger = backend.trigger(app, TriggerKind::Http).await.unwrap();
    let input = json!({"username": "x", "random_len": 10});
    let cold = trigger.invoke(&input).await;
    assert!(!cold.stats.failure, "{:?}", cold.error);
    assert!(cold.stats.cold_start, "a restarted app has new instances");
    assert_eq!(fake.workers.started(), started + 1);
    let warm = trigger.invoke(&input).await;
    assert!(!warm.stats.failure && !warm.stats.cold_start, "{warm:?}");
    let pooled = trigger.reusing_connections().expect("a keep-alive variant");
    let again = pooled.invoke(&input).await;
    assert!(!again.stats.failure && !again.stats.cold_start, "{again:?}");
    let failed = trigger.invoke(&json!({"random_len": 10})).await;
    assert!(failed.stats.failure);
    let error = failed.error.unwrap();
    assert_eq!(error.kind, "ValueError", "{error:?}");
    assert!(error.message.contains("username"), "{error:?}");
    assert_eq!(
        failed.request_id.len(),
        36,
        "failed executions have ids too"
    );
    assert!(
        !trigger.url().unwrap().contains("fnkey"),
        "the key travels in a header"
    );
    let refused = backend
        .trigger(app, TriggerKind::Library)
        .await
        .err()
        .unwrap();
    assert!(refused.to_string().contains("use `http`"), "{refused}");
    backend.shutdown().await;
}

/// A Cosmos DB account for NoSQL benchmarks (Cosmos DB's 200 + Azure-AsyncOperation pattern),
/// and a function app whose creation fails in its asynchronous operation.
async fn cosmos_and_failed_creation(
    fake: &FakeAzure,
    config: &std::path::Path,
    cache: &std::path::Path,
) {
    let backend = sebs_platforms::factory::create_named(
        "azure",
        &sebs_platforms::settings::load_config(Some(config))
            .unwrap()
            .deployment,
        cache,
    )
    .unwrap();
    let provided = backend.storage(false, true).await.unwrap().unwrap();
    assert_eq!(
        provided.function_env["NOSQL_STORAGE_ENDPOINT"],
        format!("{}/", fake.url)
    );
    assert_eq!(
        provided.function_env["NOSQL_STORAGE_DATABASE"],
        "benchmarks"
    );
    assert!(
        fake.resources()
            .iter()
            .any(|r| r.ends_with("/databaseaccounts/sebs-e2etest1-cosmos"))
    );
    fake.fail_next_site(
        json!({"code": "SubscriptionIsOverQuotaForSku", "message": "quota exceeded for Y1"}),
    );
    let f = sebs_platforms::FunctionConfig {
        name: "sebs-e2etest1-failing".into(),
        benchmark: "110.dynamic-html".into(),
        language: sebs_core::config::Language::Python,
        language_version: "3.11".into(),
        interpreter: "python3".into(),
        architecture: sebs_core::config::Architecture::X64,
        code_dir: cache.to_owned(),
        code_hash: "0".into(),
        code_size: 0,
        memory_mb: 128,
        timeout_s: 10,
        env: Default::default(),
    };
    let e = backend.create_or_update(&f).await.unwrap_err().to_string();
    assert!(
        e.contains("SubscriptionIsOverQuotaForSku: quota exceeded for Y1"),
        "{e}"
    );
    // A wrong client secret: Entra ID's refusal, with what to check.
    let mut wrong = sebs_platforms::settings::load_config(Some(config))
        .unwrap()
        .deployment;
    let mut credentials = wrong.azure.as_ref().unwrap().credentials.clone().unwrap();
    credentials.password = Some(sebs_core::config::Secret::new("not-the-secret"));
    wrong.azure.as_mut().unwrap().credentials = Some(credentials);
    let refused = sebs_platforms::factory::create_named("azure", &wrong, cache).unwrap();
    let e = refused.resources().await.unwrap_err().to_string();
    assert!(
        e.contains("refused the service principal") && e.contains("AZURE_CLIENT_SECRET"),
        "{e}"
    );
    let arm64 = sebs_platforms::FunctionConfig {
        architecture: sebs_core::config::Architecture::Arm64,
        ..f
    };
    let e = backend
        .create_or_update(&arm64)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("x64 only"), "{e}");
    backend.shutdown().await;
}

/// `sebs resources list` finds what the run created; `remove` deletes it all.
async fn cleanup(fake: &FakeAzure, options: &RunOptions) {
    let (_, listed) = sebs_platforms::resources::list(options, &Selection::default())
        .await
        .unwrap();
    let kinds = |k: &str| listed.iter().filter(|r| r.kind == k).count();
    assert_eq!(kinds("function"), 4, "{listed:?}");
    assert_eq!(kinds("storage-account"), 2, "{listed:?}");
    assert_eq!(kinds("app-service-plan"), 1, "{listed:?}");
    assert_eq!(kinds("insights-component"), 1, "{listed:?}");
    assert_eq!(kinds("cosmosdb-account"), 1, "{listed:?}");
    assert_eq!(kinds("resource-group"), 1, "{listed:?}");
    assert_eq!(listed.last().unwrap().kind, "resource-group");
    let (_, removed) = sebs_platforms::resources::remove(options, &Selection::default(), false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.error.is_none()), "{removed:?}");
    assert!(fake.resources().is_empty(), "{:?}", fake.resources());
    let (_, after) = sebs_platforms::resources::list(options, &Selection::default())
        .await
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
}
