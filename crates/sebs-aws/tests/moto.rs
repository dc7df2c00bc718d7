//! The AWS backend against moto (`moto_server`, PyPI `moto[server]`): what the local platform
//! does not provide — IAM (the role and its policy), S3, DynamoDB, CloudWatch Logs (REPORT
//! records seeded with PutLogEvents), function URLs, API Gateway HTTP APIs — and a cleanup
//! that leaves moto empty. moto runs no function code, so invocations are not tested here
//! (`local_lambda.rs` does that). Skipped, visibly, without moto (`.ci/run` installs it).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sebs_core::config::{Architecture, Language};
use sebs_platforms::resources::Selection;
use sebs_platforms::{FunctionConfig, Platform, TriggerKind};
use serde_json::json;

use common::{OnMoto, aws_test_env, on_moto, start_moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_backend_control_plane_against_moto() {
    aws_test_env();
    let Some(moto) = start_moto().await else {
        eprintln!("SKIPPED: moto_server is not installed (python3 -m pip install 'moto[server]')");
        return;
    };
    sebs_aws::register();
    let tmp = tempfile::tempdir().unwrap();
    let OnMoto {
        config,
        cache,
        options,
        aws,
        backend,
    } = on_moto(tmp.path(), &moto.url, "mototest");
    let package = sebs_platforms::pipeline::package(&options, "110.dynamic-html").unwrap();
    let name = backend.format_function_name("sebs-mototest-110.dynamic-html-python-3.11");
    let mut function = FunctionConfig {
        name: name.clone(),
        benchmark: "110.dynamic-html".into(),
        language: Language::Python,
        language_version: "3.11".into(),
        interpreter: PathBuf::from("python3"),
        architecture: Architecture::Arm64,
        code_dir: package.dir.clone(),
        code_hash: package.hash.clone(),
        code_size: package.size,
        memory_mb: 256,
        timeout_s: 30,
        env: BTreeMap::from([("SEBS_TEST".to_owned(), "1".to_owned())]),
    };

    // Create: the role is made (with the S3 + DynamoDB policy), then the function.
    let record = backend.create_or_update(&function).await.unwrap();
    let clients = backend.clients().await;
    let role = clients
        .iam
        .get_role()
        .role_name("sebs-mototest-lambda-role")
        .send()
        .await
        .expect("the role exists");
    assert_eq!(record["resources"]["role"], role.role().unwrap().arn());
    let policy = clients
        .iam
        .get_role_policy()
        .role_name("sebs-mototest-lambda-role")
        .policy_name("sebs-benchmarks-access")
        .send()
        .await
        .unwrap();
    let document = urlencoding_decode(policy.policy_document());
    assert!(
        document.contains("dynamodb:*") && document.contains("s3:*"),
        "{document}"
    );
    let conf = sebs_aws::functions::configuration(clients, &name)
        .await
        .unwrap();
    assert_eq!(conf.memory_size(), Some(256));
    assert_eq!(conf.runtime().map(|r| r.as_str()), Some("python3.11"));
    assert_eq!(conf.handler(), Some("handler.handler"));
    assert_eq!(
        conf.architectures().first().map(|a| a.as_str()),
        Some("arm64")
    );
    assert_eq!(record["resources"]["architecture"], "arm64");
    assert_eq!(record["region"], "us-east-1");
    assert!(
        record["resources"]["pricing"]["gb-second"]
            .as_f64()
            .unwrap()
            < 0.0000166667
    );

    // Update: a new memory size changes the configuration, not the code.
    function.memory_mb = 512;
    backend.create_or_update(&function).await.unwrap();
    let conf = sebs_aws::functions::configuration(clients, &name)
        .await
        .unwrap();
    assert_eq!(conf.memory_size(), Some(512));

    // Cold start: the marker variable changes; a redeploy keeps it.
    backend
        .enforce_cold_start(std::slice::from_ref(&name))
        .await
        .unwrap();
    backend
        .enforce_cold_start(std::slice::from_ref(&name))
        .await
        .unwrap();
    let env = |c: &aws_sdk_lambda::types::FunctionConfiguration| {
        c.environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default()
    };
    let conf = sebs_aws::functions::configuration(clients, &name)
        .await
        .unwrap();
    assert_eq!(env(&conf).get("cold_start").map(String::as_str), Some("2"));
    assert_eq!(env(&conf).get("SEBS_TEST").map(String::as_str), Some("1"));
    backend.create_or_update(&function).await.unwrap();
    let conf = sebs_aws::functions::configuration(clients, &name)
        .await
        .unwrap();
    assert_eq!(env(&conf).get("cold_start").map(String::as_str), Some("2"));

    // A package above the direct-upload limit goes through the benchmarks bucket.
    let mut via_s3 = sebs_aws::AwsBackend::new(aws.as_ref(), &cache).unwrap();
    via_s3.set_direct_upload_limit(1000);
    let mut big = function.clone();
    big.name = format!("{name}-s3");
    via_s3.create_or_update(&big).await.unwrap();
    let objects = clients
        .s3
        .list_objects_v2()
        .bucket("sebs-benchmarks-mototest")
        .prefix(format!("code/{}/", big.name))
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1, "the zip was uploaded to S3");
    let conf = sebs_aws::functions::configuration(clients, &big.name)
        .await
        .unwrap();
    assert_eq!(conf.memory_size(), Some(512));

    // HTTP triggers: a function URL (public), and an HTTP API from a second backend.
    let url = backend
        .trigger(&name, TriggerKind::Http)
        .await
        .unwrap()
        .url()
        .unwrap();
    assert!(url.contains("lambda-url"), "{url}");
    let mut api_config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    api_config["deployment"]["aws"]["resources"]["use-function-url"] = json!(false);
    let api_deployment: sebs_core::config::AwsConfig =
        serde_json::from_value(api_config["deployment"]["aws"].clone()).unwrap();
    let api_backend = sebs_aws::AwsBackend::new(Some(&api_deployment), &cache).unwrap();
    let api_url = api_backend
        .trigger(&name, TriggerKind::Http)
        .await
        .unwrap()
        .url()
        .unwrap();
    assert!(api_url.contains("execute-api"), "{api_url}");

    // Storage: the driver's environment points at moto; a bucket and a table as the driver
    // makes them.
    let provided = backend.storage(true, true).await.unwrap().unwrap();
    assert_eq!(provided.driver_env["AWS_ENDPOINT_URL_S3"], moto.url);
    assert_eq!(provided.function_env["MINIO_ADDRESS"], moto.url);
    assert!(
        !format!("{provided:?}").contains("testing-secret"),
        "Debug hides values"
    );
    let bucket = "sebs-benchmarks-mototest";
    clients
        .s3
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key("110.dynamic-html-0-input/x.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let table = "sebs-benchmarks-mototest-130.crud-api-shopping_cart";
    clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("cart_id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("cart_id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // CloudWatch Logs: REPORT records of two invocations, read back for processing.
    let group = sebs_aws::logs::log_group(&name);
    clients
        .logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    clients
        .logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("2026/12/01/[$LATEST]abc")
        .send()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let lines = [
        "START RequestId: req-1 Version: $LATEST",
        "REPORT RequestId: req-1\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 512 MB\tMax Memory Used: 70 MB\tInit Duration: 241.09 ms\t",
        "REPORT RequestId: req-2\tDuration: 3.50 ms\tBilled Duration: 4 ms\tMemory Size: 512 MB\tMax Memory Used: 71 MB\t",
    ];
    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now + i as i64)
                .message(*l)
                .build()
                .unwrap()
        })
        .collect();
    clients
        .logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("2026/12/01/[$LATEST]abc")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    let metrics = backend
        .provider_metrics(&record, &["req-1".into(), "req-2".into(), "req-3".into()])
        .await
        .unwrap();
    assert_eq!(metrics.len(), 2, "{metrics:?}");
    assert_eq!(metrics["req-1"].execution_us, 102_250);
    assert_eq!(metrics["req-1"].initialization_us, Some(241_090));
    assert_eq!(metrics["req-2"].billed_ms, 4);
    assert_eq!(metrics["req-2"].memory_mb, 512);

    // Resources: everything above, listed from moto; cleanup leaves moto empty.
    let (_, listed) = sebs_platforms::resources::list(&options, &Selection::default())
        .await
        .unwrap();
    let kinds: std::collections::BTreeSet<&str> = listed.iter().map(|r| r.kind.as_str()).collect();
    for kind in [
        "function",
        "http-api",
        "iam-role",
        "bucket",
        "table",
        "log-group",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {listed:?}");
    }
    let (_, dry) = sebs_platforms::resources::remove(&options, &Selection::default(), true)
        .await
        .unwrap();
    assert_eq!(dry.len(), listed.len());
    let (_, removed) = sebs_platforms::resources::remove(&options, &Selection::default(), false)
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.error.is_none()), "{removed:?}");
    assert!(
        clients
            .lambda
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
            .is_empty()
    );
    assert!(
        clients
            .s3
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .is_empty()
    );
    assert!(
        clients
            .dynamodb
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names()
            .is_empty()
    );
    assert!(
        clients
            .apigw
            .get_apis()
            .send()
            .await
            .unwrap()
            .items()
            .is_empty()
    );
    let roles = clients.iam.list_roles().send().await.unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with("sebs-mototest")),
        "the role is gone"
    );
    let groups = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/sebs-mototest")
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());

    // The secret is nowhere in the cache.
    let mut stack = vec![cache.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                assert!(
                    !bytes.windows(25).any(|w| w == b"testing-secret-not-logged"),
                    "the secret key is in {}",
                    p.display()
                );
            }
        }
    }
}

/// Datapoints of the `AWS/Lambda` metric `metric` put to CloudWatch (as Lambda would):
/// `(function, seconds after m0, value)`.
async fn put_lambda_metric(
    client: &aws_sdk_cloudwatch::Client,
    metric: &str,
    m0: i64,
    data: &[(&str, i64, f64)],
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let data = data
        .iter()
        .map(|(function, dt, value)| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(*function)
                        .build(),
                )
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(m0 + dt))
                .value(*value)
                .build()
        })
        .collect();
    client
        .put_metric_data()
        .namespace("AWS/Lambda")
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_history_from_cloudwatch_on_moto() {
    aws_test_env();
    let Some(moto) = start_moto().await else {
        eprintln!("SKIPPED: moto_server is not installed (python3 -m pip install 'moto[server]')");
        return;
    };
    const CONCURRENCY: &str = "ConcurrentExecutions";
    let tmp = tempfile::tempdir().unwrap();
    let aws = |endpoint: &str| -> sebs_core::config::AwsConfig {
        serde_json::from_value(json!({"region": "us-east-1", "endpoint-url": endpoint,
            "resources": {"resources_id": "motocw"}}))
        .unwrap()
    };
    let backend = sebs_aws::AwsBackend::new(Some(&aws(&moto.url)), tmp.path()).unwrap();
    let cloudwatch = backend.clients().await.cloudwatch.clone();
    // A run from m0 + 15.5 s to m0 + 130.2 s is read over [m0, m0 + 240 s).
    let m0 = (chrono::Utc::now().timestamp() / 60 - 10) * 60;
    let (begin, end) = (m0 as f64 + 15.5, m0 as f64 + 130.2);
    let (a, b, idle) = ("sebs-motocw-a", "sebs-motocw-b", "sebs-motocw-idle");
    let seeded = [(a, -30, 99.0), (a, 5, 3.0), (a, 40, 7.0), (a, 70, 12.0)];
    put_lambda_metric(&cloudwatch, CONCURRENCY, m0, &seeded).await;
    put_lambda_metric(
        &cloudwatch,
        CONCURRENCY,
        m0,
        &[(a, 200, 2.0), (a, 250, 50.0), (b, 61, 4.0)],
    )
    .await;
    // Another metric of the same function is not read.
    put_lambda_metric(&cloudwatch, "Invocations", m0, &[(a, 10, 1000.0)]).await;

    // 502 functions: two requests (500 queries at most each); b is the second one's f1.
    let mut functions = vec![a.to_owned(), idle.to_owned()];
    functions.extend((0..499).map(|i| format!("sebs-motocw-none-{i}")));
    functions.push(b.to_owned());
    let record = json!({"name": "aws", "region": "us-east-1",
        "resources": {"endpoint": moto.url, "functions": [a, b, idle]}});
    let history = backend
        .concurrency_history(&record, &functions, begin, end)
        .await
        .unwrap();
    let point = |function: &str, dt: i64, instances: f64| sebs_platforms::ConcurrencyPoint {
        time: (m0 + dt) as f64,
        period: 60.0,
        function: function.into(),
        instances,
    };
    let expected = vec![
        point(a, 0, 7.0),
        point(a, 60, 12.0),
        point(a, 180, 2.0),
        point(b, 60, 4.0),
    ];
    assert_eq!(history, expected);
    let idle_only = [idle.to_owned()];
    let none = backend.concurrency_history(&record, &idle_only, begin, end);
    assert_eq!(none.await.unwrap(), vec![], "no data, no points");

    // The metric is read in the region the run's record names.
    let west = aws_sdk_cloudwatch::Client::from_conf(
        cloudwatch
            .config()
            .to_builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build(),
    );
    let w = "sebs-motocw-west";
    put_lambda_metric(&west, CONCURRENCY, m0, &[(w, 10, 5.0)]).await;
    let mut west_record = record.clone();
    west_record["region"] = json!("eu-west-1");
    let west_only = [w.to_owned()];
    let in_west = backend.concurrency_history(&west_record, &west_only, begin, end);
    assert_eq!(in_west.await.unwrap(), vec![point(w, 0, 5.0)]);
    let in_east = backend.concurrency_history(&record, &west_only, begin, end);
    assert_eq!(in_east.await.unwrap(), vec![]);

    // Failures name the function and the fix.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = sebs_aws::AwsBackend::new(Some(&aws(&down)), tmp.path()).unwrap();
    let e = unreachable
        .concurrency_history(&record, &[a.into()], begin, end)
        .await
        .unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains(a)
            && text.contains("credentials")
            && text.contains("cloudwatch:GetMetricData"),
        "{text}"
    );
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
