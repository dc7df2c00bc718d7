//! Storage and queue triggers of the AWS backend against moto: the wiring the backend creates
//! with a function's first storage or queue trigger (bucket notification and S3's permission,
//! queue + dead-letter queue + event source mapping, result queue, role policy), invocations
//! through both triggers with results returning on the result queue, a lost result recorded as
//! a failure, and removal with the function.
//!
//! moto runs no function code, so `support/lambda_poller.py` plays Lambda's event delivery: it
//! polls the queue or watches the bucket and calls the package's real wrapper, which reads the
//! trigger object from moto's S3 and sends its result to moto's SQS itself. The event source
//! mapping is disabled for that (moto would otherwise consume the messages with its no-op
//! invocation). Skipped, visibly, without moto (`.ci/run` installs it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sebs_aws::event_sources;
use sebs_core::config::{Architecture, Language, TriggerConfig};
use sebs_platforms::{FunctionConfig, Platform, TriggerKind};
use serde_json::{Value, json};

use common::{OnMoto, aws_test_env, on_moto, repo, start_moto};

/// Run the poller for `count` events of `target` in moto's environment.
fn poller(
    moto: &str,
    mode: &str,
    target: &str,
    package: &Path,
    count: usize,
) -> std::process::Child {
    let tmp = std::env::temp_dir().join(format!("sebs-poller-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::process::Command::new("python3")
        .arg(repo().join("crates/sebs-aws/tests/support/lambda_poller.py"))
        .args([mode, target])
        .arg(package)
        .arg(count.to_string())
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("TMPDIR", &tmp)
        .spawn()
        .expect("python3 runs the poller")
}

async fn invoke_all(
    trigger: &std::sync::Arc<dyn sebs_platforms::Trigger>,
    inputs: &[Value],
) -> Vec<sebs_core::result::ExecutionResult> {
    let mut set = tokio::task::JoinSet::new();
    for input in inputs {
        let (t, input) = (trigger.clone(), input.clone());
        set.spawn(async move { t.invoke(&input).await });
    }
    set.join_all().await
}

fn sleep_function(name: &str, dir: PathBuf, hash: String, size: u64) -> FunctionConfig {
    FunctionConfig {
        name: name.to_owned(),
        benchmark: "010.sleep".into(),
        language: Language::Python,
        language_version: "3.11".into(),
        interpreter: PathBuf::from("python3"),
        architecture: Architecture::X64,
        code_dir: dir,
        code_hash: hash,
        code_size: size,
        memory_mb: 128,
        timeout_s: 30,
        env: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_and_queue_triggers_on_aws_against_moto() {
    aws_test_env();
    sebs_aws::register();
    let Some(moto) = start_moto().await else {
        eprintln!("SKIPPED: moto_server is not installed (python3 -m pip install 'moto[server]')");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let OnMoto {
        options,
        aws,
        cache,
        ..
    } = on_moto(tmp.path(), &moto.url, "mototrig");
    let mut aws = aws.unwrap();
    aws.triggers = Some(TriggerConfig {
        batch_size: Some(5),
        batching_window: Some(1.0),
        max_receive_count: Some(2),
        result_timeout: Some(15.0),
        ..TriggerConfig::default()
    });
    let backend = sebs_aws::AwsBackend::new(Some(&aws), &cache).unwrap();
    let package = sebs_platforms::pipeline::package(&options, "010.sleep").unwrap();
    let name = backend.format_function_name("sebs-mototrig-010.sleep-python-3.11");
    let function = sleep_function(
        &name,
        package.dir.clone(),
        package.hash.clone(),
        package.size,
    );
    backend.create_or_update(&function).await.unwrap();
    let clients = backend.clients().await.clone();

    // Queue: queue, dead-letter queue and result queue; a mapping with the configured batch.
    let queue = backend
        .event_trigger(&name, TriggerKind::Queue)
        .await
        .unwrap();
    let uuids = event_sources::mappings(&clients, &name).await.unwrap();
    assert_eq!(uuids.len(), 1, "{uuids:?}");
    let mapping = clients
        .lambda
        .get_event_source_mapping()
        .uuid(&uuids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(mapping.batch_size(), Some(5));
    assert!(
        mapping
            .event_source_arn()
            .unwrap()
            .ends_with(&event_sources::queue_name(&name)),
        "{mapping:?}"
    );
    let mut queues = event_sources::queues(&clients, &event_sources::queue_name(&name))
        .await
        .unwrap();
    queues.sort();
    assert_eq!(queues.len(), 3, "{queues:?}");
    assert!(
        queues.iter().any(|q| q.ends_with("-dlq"))
            && queues.iter().any(|q| q.ends_with("-results"))
    );
    let redrive = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue.target())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive = format!("{redrive:?}");
    assert!(
        redrive.contains("-dlq") && redrive.contains("maxReceiveCount"),
        "{redrive}"
    );
    let policy = clients
        .iam
        .get_role_policy()
        .role_name("sebs-mototrig-lambda-role")
        .policy_name(event_sources::TRIGGER_POLICY)
        .send()
        .await
        .expect("the role may use the trigger queues");
    assert!(policy.policy_document().contains("sqs"), "{policy:?}");

    // A later run (a new backend on the same cache) reuses the mapping instead of failing.
    let again = sebs_aws::AwsBackend::new(Some(&aws), &cache).unwrap();
    again
        .event_trigger(&name, TriggerKind::Queue)
        .await
        .unwrap();
    assert_eq!(
        event_sources::mappings(&clients, &name).await.unwrap(),
        uuids
    );

    // Invocations through the queue: the wrapper sends each result to the result queue.
    clients
        .lambda
        .update_event_source_mapping()
        .uuid(&uuids[0])
        .enabled(false)
        .send()
        .await
        .unwrap();
    let trigger = backend.trigger(&name, TriggerKind::Queue).await.unwrap();
    assert_eq!(trigger.kind(), TriggerKind::Queue);
    let mut child = poller(&moto.url, "queue", queue.target(), &package.dir, 3);
    let inputs: Vec<Value> = (0..3).map(|i| json!({"sleep": 0, "n": i})).collect();
    let results = invoke_all(&trigger, &inputs).await;
    assert!(
        child.wait().unwrap().success(),
        "the poller handled 3 messages"
    );
    for r in &results {
        assert!(!r.stats.failure, "{r:?}");
        assert_eq!(r.output["result"]["result"], 0, "{r:?}");
        assert!(!r.request_id.is_empty());
        assert!(r.times.client >= r.times.benchmark, "{r:?}");
    }

    // Storage: the bucket notifies the function; the wrapper reads the uploaded input.
    let storage = backend
        .event_trigger(&name, TriggerKind::Storage)
        .await
        .unwrap();
    let bucket = storage.target().to_owned();
    assert!(
        bucket.starts_with("sebs-mototrig-") && bucket.len() <= 63,
        "{bucket}"
    );
    let notifications = clients
        .s3
        .get_bucket_notification_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let lambdas = notifications.lambda_function_configurations();
    assert_eq!(lambdas.len(), 1, "{notifications:?}");
    assert!(lambdas[0].lambda_function_arn().ends_with(&name));
    assert_eq!(lambdas[0].events()[0].as_str(), "s3:ObjectCreated:*");
    let permission = clients
        .lambda
        .get_policy()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert!(permission.policy().unwrap().contains("s3.amazonaws.com"));
    let trigger = backend.trigger(&name, TriggerKind::Storage).await.unwrap();
    let mut child = poller(&moto.url, "storage", &bucket, &package.dir, 2);
    let inputs = vec![json!({"sleep": 0.25}), json!({"sleep": 0.25})];
    let results = invoke_all(&trigger, &inputs).await;
    assert!(
        child.wait().unwrap().success(),
        "the poller handled 2 objects"
    );
    for r in &results {
        assert!(!r.stats.failure, "{r:?}");
        // The input came from the object, not from its location.
        assert_eq!(r.output["result"]["result"], 0.25, "{r:?}");
    }

    // The Node.js wrapper does the same: reads the object, sends its result to the queue.
    node_wrapper_reads_the_object_and_sends_the_result(
        &moto.url,
        &options,
        &clients,
        &bucket,
        queue.results_url(),
    )
    .await;

    // Nobody delivers: the invocation is a failure with its cause, after the result timeout.
    let lost = trigger.invoke(&json!({"sleep": 0})).await;
    assert!(lost.stats.failure, "{lost:?}");
    assert!(format!("{lost:?}").contains("result-timeout"), "{lost:?}");

    // `sebs resources list` (and so `cleanup`) sees the queues and the trigger bucket.
    let listed = sebs_aws::resources::list(&clients, "mototrig")
        .await
        .unwrap();
    assert_eq!(
        listed.iter().filter(|r| r.kind == "queue").count(),
        3,
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|r| r.kind == "bucket" && r.name == bucket),
        "{listed:?}"
    );

    // Removed with the function: mappings, queues and the trigger bucket.
    backend.remove(std::slice::from_ref(&name)).await.unwrap();
    assert!(
        event_sources::mappings(&clients, &name)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        event_sources::queues(&clients, "sebs-mototrig-")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        clients
            .s3
            .head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .is_err()
    );
    let left = sebs_aws::resources::list(&clients, "mototrig")
        .await
        .unwrap();
    assert!(
        !left.iter().any(|r| r.kind == "queue" || r.name == bucket),
        "{left:?}"
    );

    // The test credentials are nowhere in the cache.
    let mut leaks = Vec::new();
    sebs_testkit::files_containing(&cache, b"testing-secret-not-logged", &mut leaks);
    assert!(leaks.is_empty(), "the secret is in {leaks:?}");
}

/// Run 010.sleep's Node.js package's wrapper on an S3 event for an object in `bucket` and check
/// the result it sends to `results`.
async fn node_wrapper_reads_the_object_and_sends_the_result(
    moto: &str,
    options: &sebs_platforms::RunOptions,
    clients: &sebs_aws::clients::Clients,
    bucket: &str,
    results: &str,
) {
    let options = sebs_platforms::RunOptions {
        language: Some(Language::Nodejs),
        ..options.clone()
    };
    let package = sebs_platforms::pipeline::package(&options, "010.sleep").unwrap();
    let input =
        json!({"sleep": 0.5, "sebs-trigger-request": "node-1", "sebs-result-queue": results});
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key("node input.json")
        .body(input.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": "node+input.json", "size": 10}}}]});
    let script = "require(process.argv[1]).handler(JSON.parse(process.argv[2]), {awsRequestId: 'r-1'})\
        .then(r => console.log(JSON.stringify(r)), e => { console.error(e); process.exit(1); })";
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("node")
        .args(["-e", script])
        .arg(package.dir.join("handler.js"))
        .arg(event.to_string())
        .env("AWS_ENDPOINT_URL", moto)
        .env("TMPDIR", tmp.path())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        response["results"][0]["body"]["result"]["result"], 0.5,
        "{response}"
    );
    let received = clients
        .sqs
        .receive_message()
        .queue_url(results)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let message: Value = serde_json::from_str(received.messages()[0].body().unwrap()).unwrap();
    assert_eq!(message["sebs-trigger-request"], "node-1", "{message}");
    assert_eq!(message["body"]["result"]["result"], 0.5, "{message}");
    clients
        .sqs
        .delete_message()
        .queue_url(results)
        .receipt_handle(received.messages()[0].receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
}
