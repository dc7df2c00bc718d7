//! Deploy → invoke → process → cleanup on each Google Cloud kind (1st gen, 2nd gen, Cloud
//! Run) through the `Platform` trait, against the fake control plane (every request checked
//! against Google's discovery documents) and the Cloud Storage emulator, with the deployed code
//! really running. Then no file of the cache, the results or the log holds the credentials.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sebs_core::config::{Architecture, GcpConfig, Language};
use sebs_gcp::GcpBackend;
use sebs_gcp::api::Endpoints;
use sebs_platforms::{FunctionConfig, Platform, TriggerKind};
use serde_json::json;

fn function(backend: &GcpBackend, code: &std::path::Path, gcs: &str) -> FunctionConfig {
    FunctionConfig {
        name: backend.format_function_name("sebs-test-110.hello-python-3.11"),
        benchmark: "110.hello".into(),
        language: Language::Python,
        language_version: "3.11".into(),
        interpreter: common::python(),
        architecture: Architecture::X64,
        code_dir: code.to_owned(),
        code_hash: "0123abcd".into(),
        code_size: 1,
        memory_mb: 256,
        timeout_s: 30,
        env: BTreeMap::from([("STORAGE_EMULATOR_HOST".to_string(), gcs.to_string())]),
    }
}

async fn one_kind(
    variant: &str,
    fake: &Arc<common::fake::Fake>,
    gcs: &str,
    key: &std::path::Path,
    root: &std::path::Path,
) -> Vec<serde_json::Value> {
    let config: GcpConfig = serde_json::from_value(json!({
        "region": "europe-west1",
        "credentials": {"credentials-json": key},
        "system-variant": variant,
        "configuration": {
            "function-gen1": {"min-instances": 0, "max-instances": 5},
            "function-gen2": {"vcpus": 1, "gcp-concurrency": 4, "max-instances": 5},
            "container": {"environment": "gen2", "vcpus": 1, "cpu-boost": true, "cpu-throttle": false},
        },
    }))
    .unwrap();
    let endpoints = Endpoints {
        functions: format!("{}/functions", fake.base),
        run: format!("{}/run", fake.base),
        storage: gcs.to_owned(),
        logging: format!("{}/logging", fake.base),
        artifacts: format!("{}/artifacts", fake.base),
    };
    let cache = root.join("cache");
    let backend =
        GcpBackend::with_endpoints(Some(&config), &cache, endpoints, Duration::from_millis(10))
            .unwrap();
    assert_eq!(
        backend.settings().project,
        "sebs-test-project",
        "the project comes from the key"
    );
    let code = root.join(format!("code-{variant}"));
    common::package(&code);
    let f = function(&backend, &code, gcs);
    let record = backend.create_or_update(&f).await.unwrap();
    assert_eq!(record["resources"]["system_variant"], variant);
    let creates = |fake: &common::fake::Fake| {
        fake.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.ends_with(".create"))
            .count()
    };
    let before = creates(fake);
    backend.create_or_update(&f).await.unwrap();
    assert_eq!(
        creates(fake),
        before,
        "an unchanged function is not redeployed"
    );

    let results = invocations(&backend, &f, &record, variant).await;
    let listed = backend.resources().await.unwrap();
    assert!(listed.iter().any(|r| r.name == f.name), "{listed:?}");
    for r in &listed {
        backend.delete(r).await.unwrap();
    }
    assert!(
        backend.resources().await.unwrap().is_empty(),
        "cleanup leaves nothing"
    );
    results
}

/// Each trigger of the kind: a forced cold start, a cold then a warm call, their provider metrics.
async fn invocations(
    backend: &GcpBackend,
    f: &FunctionConfig,
    record: &serde_json::Value,
    variant: &str,
) -> Vec<serde_json::Value> {
    let mut results = Vec::new();
    let mut kinds = vec![TriggerKind::Http];
    if variant == "function-gen1" {
        kinds.push(TriggerKind::Library);
    } else {
        let e = backend
            .trigger(&f.name, TriggerKind::Library)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--trigger http"), "{e}");
    }
    for kind in kinds {
        backend
            .enforce_cold_start(std::slice::from_ref(&f.name))
            .await
            .unwrap();
        let trigger = backend.trigger(&f.name, kind).await.unwrap();
        let input =
            json!({"bucket": format!("data-{}", variant.replace("function-", "")), "name": "gcp"});
        let first = trigger.invoke(&input).await;
        assert!(
            !first.stats.failure,
            "{variant} {kind:?}: {:?}",
            first.error
        );
        assert!(
            first.stats.cold_start,
            "{variant} {kind:?}: the first call after enforcing a cold start is cold"
        );
        assert_eq!(
            first.output["result"]["result"]["echo"].as_str(),
            Some("hello gcp"),
            "{}",
            first.output
        );
        let second = trigger.invoke(&input).await;
        assert!(
            !second.stats.failure && !second.stats.cold_start,
            "{variant}: the second call is warm"
        );
        assert!(!first.request_id.is_empty());
        results.push(serde_json::to_value(&first).unwrap());
        results.push(serde_json::to_value(&second).unwrap());
        let ids = vec![first.request_id.clone(), second.request_id.clone()];
        let metrics = backend.provider_metrics(record, &ids).await.unwrap();
        assert_eq!(
            metrics.len(),
            2,
            "{variant}: both invocations have a duration record"
        );
        for m in metrics.values() {
            assert!(
                m.execution_us > 0
                    && m.billed_ms % 100 == 0
                    && m.billed_ms > 0
                    && m.memory_mb == if variant == "container" { 512 } else { 256 }
            );
        }
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_invoke_process_cleanup_on_each_kind() {
    let docs = match common::discovery::documents_dir() {
        Ok(d) => d,
        Err(why) => {
            println!("SKIP deploy_invoke_process_cleanup_on_each_kind: {why}");
            return;
        }
    };
    let (_emulator, gcs) = match common::storage_emulator() {
        Ok(e) => e,
        Err(why) => {
            println!("SKIP deploy_invoke_process_cleanup_on_each_kind: {why}");
            return;
        }
    };
    let root = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(root.path().join("sebs.log")).unwrap();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(log))
        .with_env_filter("debug")
        .with_ansi(false)
        .try_init();
    let fake = common::fake::start(&docs, &gcs, common::python()).await;
    let keydir = tempfile::tempdir().unwrap();
    let (key, pem) = common::service_account(keydir.path(), &format!("{}/token", fake.base));
    fake.state.lock().unwrap().public_key = Some(keydir.path().join("public.pem"));
    let mut results = Vec::new();
    for variant in ["function-gen1", "function-gen2", "container"] {
        results.extend(one_kind(variant, &fake, &gcs, &key, root.path()).await);
    }
    let state = fake.state.lock().unwrap();
    assert!(
        state.violations.is_empty(),
        "requests outside Google's API descriptions: {:#?}",
        state.violations
    );
    assert!(
        state.tokens_issued >= 1 && state.tokens_issued <= 3,
        "tokens are cached: {}",
        state.tokens_issued
    );
    assert!(
        state.iam.len() == 3,
        "each kind is made public once: {:?}",
        state.iam
    );
    drop(state);
    std::fs::write(
        root.path().join("results.json"),
        serde_json::to_vec(&results).unwrap(),
    )
    .unwrap();
    let line = pem.lines().nth(1).unwrap();
    for needle in [
        line.as_bytes(),
        common::fake::TOKEN.as_bytes(),
        key.to_str().unwrap().as_bytes(),
    ] {
        let mut found = Vec::new();
        sebs_testkit::files_containing(root.path(), needle, &mut found);
        assert!(found.is_empty(), "credentials written to {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_another_key_is_refused() {
    let docs = match common::discovery::documents_dir() {
        Ok(d) => d,
        Err(why) => return println!("SKIP a_token_signed_with_another_key_is_refused: {why}"),
    };
    let fake = common::fake::start(&docs, "http://127.0.0.1:9", common::python()).await;
    let token_uri = format!("{}/token", fake.base);
    let known = tempfile::tempdir().unwrap();
    common::service_account(known.path(), &token_uri);
    fake.state.lock().unwrap().public_key = Some(known.path().join("public.pem"));
    let other = tempfile::tempdir().unwrap();
    let (key, _) = common::service_account(other.path(), &token_uri);
    let config: GcpConfig = serde_json::from_value(json!({"credentials": key})).unwrap();
    let endpoints = Endpoints {
        functions: format!("{}/functions", fake.base),
        run: format!("{}/run", fake.base),
        storage: "http://127.0.0.1:9".into(),
        logging: format!("{}/logging", fake.base),
        artifacts: format!("{}/artifacts", fake.base),
    };
    let cache = tempfile::tempdir().unwrap();
    let backend = GcpBackend::with_endpoints(
        Some(&config),
        cache.path(),
        endpoints,
        Duration::from_millis(10),
    )
    .unwrap();
    let e = backend.resources().await;
    // Listing turns API failures into warnings; a trigger needs the API and fails outright.
    assert!(e.unwrap().is_empty());
    let e = backend
        .trigger("f-gen1", TriggerKind::Http)
        .await
        .err()
        .unwrap();
    let text = format!("{e:#}");
    assert!(
        text.contains("cannot get a Google access token") && text.contains("Invalid JWT Signature"),
        "{text}"
    );
    assert_eq!(fake.state.lock().unwrap().tokens_issued, 0);
}
