//! The Knative backend end to end against a fake Kubernetes API server with Knative Serving
//! (tests/common/knative.rs), which checks every request against the Service CRD's schema and
//! the Kubernetes API conventions, runs the function's server runtime from the build context
//! sebs writes, and scales idle instances to zero: 110.dynamic-html through the route (HTTP and
//! library), processing, a forced cold start (new revision, then scale to zero), a failing
//! invocation, perf-cost (cold and warm samples), a Node.js function, and cleanup. The cache and results are then searched for the token.
//!
//! One test per process: `KUBECONFIG` is process-wide.

mod common;

use std::time::Duration;

use common::knative::FakeKnative;
use common::repo;
use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_platforms::resources::Selection;
use sebs_platforms::{RunOptions, TriggerKind};
use sebs_testkit::{files_containing, results};
use serde_json::json;

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.sebs-test-token-5b7c2e";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn knative_backend_against_the_contract_fake() {
    sebs_cluster::register_knative();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let build_root = std::path::absolute(&cache).unwrap().join("knative/build");
    let fake = FakeKnative::start(TOKEN, &build_root, Duration::from_millis(1500)).await;
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: test\n  context: {{cluster: c, user: u, namespace: bench}}\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n",
            fake.api_url
        ),
    )
    .unwrap();
    unsafe { std::env::set_var("KUBECONFIG", &kubeconfig) };
    let config = tmp.path().join("config.json");
    let write_config = |language: &str| {
        std::fs::write(
        &config,
        json!({
            "deployment": {"name": "knative", "knative": {
                "image": "registry.test/sebs-{benchmark}-{language}-{version}:v1",
                "ingress": fake.ingress_url, "domain": "example.com",
                "min_scale": 0, "max_scale": 3, "container_concurrency": 1, "scale_to_zero_wait_s": 60
            }},
            "experiments": {"runtime": {"language": language},
                "perf-cost": {"benchmark": "110.dynamic-html", "experiments": ["cold", "warm"], "input-size": "test",
                              "repetitions": 2, "concurrent-invocations": 1, "memory-sizes": [128]}}
        })
        .to_string(),
    )
    .unwrap()
    };
    write_config("python");
    let options = RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(repo().join("benchmarks")),
        ..RunOptions::default()
    };

    // HTTP trigger: the route through the ingress; the first request starts an instance.
    let out_http = tmp.path().join("http");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, TriggerKind::Http, &out_http))
            .await
            .unwrap();
    let http = results(&outcome.path);
    assert_eq!(http.len(), 3);
    for r in &http {
        assert_eq!(r["stats"]["failure"], false, "{r} {:?}", fake.violations());
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert_eq!(
        http.iter()
            .filter(|r| r["stats"]["cold_start"] == true)
            .count(),
        1
    );
    let deployment = &outcome.experiment.config["deployment"];
    assert_eq!(deployment["name"], "knative");
    let function = deployment["resources"]["function"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        function.starts_with("sebs-") && function.ends_with("-110-dynamic-html-python-3-11"),
        "{function}"
    );
    assert_eq!(
        deployment["resources"]["image"],
        "registry.test/sebs-110-dynamic-html-python-3.11:v1"
    );
    assert_eq!(
        deployment["resources"]["url"],
        format!("http://{function}.bench.example.com")
    );
    let service = fake.service(&function).unwrap();
    let template = &service["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"],
        "3"
    );
    assert_eq!(template["spec"]["containerConcurrency"], 1);
    assert_eq!(template["spec"]["timeoutSeconds"], 10);
    assert_eq!(
        template["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "128Mi"
    );
    assert_eq!(service["metadata"]["generation"], 1);

    // The library trigger is the same route; the second run finds the Service up to date.
    let out_lib = tmp.path().join("library");
    let outcome =
        sebs_experiments::benchmark::invoke(&request(&options, TriggerKind::Library, &out_lib))
            .await
            .unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
    }
    assert_eq!(
        fake.service(&function).unwrap()["metadata"]["generation"],
        1,
        "no new revision"
    );

    // Processing: Knative has no per-request records, and says so by filling nothing.
    let ctx = ProcessContext::new(&out_http, &cache, Some(&config)).unwrap();
    let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx)
        .await
        .unwrap();
    assert_eq!((filled, missing), (0, 3));
    assert!(path.is_file());

    // A forced cold start: a new revision, then scale to zero; the next request starts one.
    let backend = sebs_platforms::factory::create_named(
        "knative",
        &sebs_platforms::settings::load_config(Some(&config))
            .unwrap()
            .deployment,
        &cache,
    )
    .unwrap();
    let trigger = backend.trigger(&function, TriggerKind::Http).await.unwrap();
    let input = json!({"username": "x", "random_len": 10});
    assert!(
        !trigger.invoke(&input).await.stats.cold_start,
        "warm before"
    );
    backend
        .enforce_cold_start(std::slice::from_ref(&function))
        .await
        .unwrap();
    assert_eq!(fake.instances(), 0, "scaled to zero");
    assert_eq!(
        fake.service(&function).unwrap()["metadata"]["generation"],
        2
    );
    let cold = trigger.invoke(&input).await;
    assert!(!cold.stats.failure, "{:?}", cold.error);
    assert!(cold.stats.cold_start);
    assert_eq!(
        cold.output["cold_start_var"].as_str().unwrap().len(),
        16,
        "{}",
        cold.output
    );
    let failed = trigger.invoke(&json!({"random_len": 10})).await;
    assert!(failed.stats.failure);
    assert_eq!(
        failed.error.as_ref().unwrap().kind,
        "ValueError",
        "{:?}",
        failed.error
    );

    // An experiment through the same seam: perf-cost's cold samples are forced cold starts.
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
    let cold = results(&run.results.join("cold_results_128.json"));
    assert_eq!(cold.len(), 2, "{cold:?}");
    assert!(
        cold.iter()
            .all(|r| r["stats"]["cold_start"] == true && r["stats"]["failure"] == false),
        "{cold:?}"
    );
    let warm = results(&run.results.join("warm_results_128.json"));
    assert!(
        warm.len() >= 2 && warm.iter().all(|r| r["stats"]["cold_start"] == false),
        "{warm:?}"
    );

    // A Node.js function: its image runs the Node.js server runtime.
    write_config("nodejs");
    let out_node = tmp.path().join("node");
    let mut req = request(&options, TriggerKind::Http, &out_node);
    req.repetitions = 2;
    let outcome = sebs_experiments::benchmark::invoke(&req).await.unwrap();
    for r in results(&outcome.path) {
        assert_eq!(r["stats"]["failure"], false, "{r}");
        assert_eq!(r["validation"]["passed"], true, "{r}");
    }
    assert!(
        outcome.experiment.config["deployment"]["resources"]["function"]
            .as_str()
            .unwrap()
            .contains("-nodejs-")
    );

    // Resources: the three Services (perf-cost's function has its memory in its name), then
    // nothing after cleanup.
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
    assert!(fake.services().is_empty());
    assert_eq!(fake.instances(), 0);

    assert!(
        fake.violations().is_empty(),
        "requests off the schema or conventions: {:#?}",
        fake.violations()
    );
    let mut leaks = Vec::new();
    files_containing(&cache, TOKEN.as_bytes(), &mut leaks);
    files_containing(&out_http, TOKEN.as_bytes(), &mut leaks);
    assert!(leaks.is_empty(), "the token written to {leaks:?}");
    backend.shutdown().await;
}
