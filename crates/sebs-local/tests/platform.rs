//! The local platform with real Python functions: scheduling, keep-alive, limits, faults, cold
//! start modes, protocols and metrics. (Isolation, namespaces and cgroups: `isolation.rs`.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{ECHO, call, deploy_echo, package, spec};
use sebs_local::{ColdStartMode, LocalPlatform, Outcome, PlatformConfig, PlatformError, Protocol};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_cold_starts_then_twenty_warm() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = Arc::new(LocalPlatform::start().await.unwrap());
    deploy_echo(&platform, tmp.path(), Duration::from_secs(30)).await;
    let wave = |platform: Arc<LocalPlatform>| async move {
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let p = platform.clone();
                tokio::spawn(async move { call(&p, "f", json!({"sleep": 0.5})).await })
            })
            .collect();
        let mut out = Vec::new();
        for c in calls {
            out.push(c.await.unwrap());
        }
        out
    };
    let first = wave(platform.clone()).await;
    let mut ids = std::collections::HashSet::new();
    for (inv, body) in &first {
        let body = body.as_ref().expect("success");
        assert!(inv.cold);
        assert_eq!(body["is_cold"], true);
        ids.insert(body["container_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 20, "20 cold starts, 20 distinct containers");
    let second = wave(platform.clone()).await;
    for (inv, body) in &second {
        let body = body.as_ref().expect("success");
        assert!(!inv.cold);
        assert_eq!(body["is_cold"], false);
        assert!(
            ids.contains(body["container_id"].as_str().unwrap()),
            "warm wave reuses the instances"
        );
    }
    assert_eq!(platform.instance_count("f"), 20);
}

#[tokio::test]
async fn keep_alive_evicts_idle_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO), Duration::from_secs(10));
    s.keep_alive = Some(Duration::from_secs(2));
    platform.deploy(s).await;
    assert!(call(&platform, "f", json!({})).await.0.cold);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !call(&platform, "f", json!({})).await.0.cold,
        "1 s idle: warm"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        call(&platform, "f", json!({})).await.0.cold,
        "3 s idle: evicted, cold"
    );
    // The sweeper evicts idle instances in the background too.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(platform.instance_count("f"), 0);
}

#[tokio::test]
async fn zero_keep_alive_never_reuses() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO), Duration::from_secs(10));
    s.keep_alive = Some(Duration::ZERO);
    platform.deploy(s).await;
    assert!(call(&platform, "f", json!({})).await.0.cold);
    assert!(call(&platform, "f", json!({})).await.0.cold);
}

#[tokio::test]
async fn out_of_memory_fails_and_the_next_invocation_gets_a_fresh_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    deploy_echo(&platform, tmp.path(), Duration::from_secs(30)).await;
    let (warmup, body) = call(&platform, "f", json!({})).await;
    let first_pid = body.unwrap()["result"]["pid"].clone();
    let (inv, _) = call(&platform, "f", json!({"allocate_mb": 300})).await;
    match &inv.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Runtime.OutOfMemory", "{message}");
            assert_eq!(message, "out of memory (limit 128 MB)");
        }
        other => panic!("expected an out-of-memory failure, got {other:?}"),
    }
    assert_eq!(inv.report.status, "oom");
    let (next, body) = call(&platform, "f", json!({})).await;
    assert!(next.cold, "a fresh instance replaces the killed one");
    assert_ne!(next.instance_id, warmup.instance_id);
    assert_ne!(body.unwrap()["result"]["pid"], first_pid);
}

#[tokio::test]
async fn out_of_memory_under_the_rlimit_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::with_config(PlatformConfig {
        cgroups: false,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(matches!(
        platform.limits(),
        sebs_local::LimitBackend::Rlimit
    ));
    deploy_echo(&platform, tmp.path(), Duration::from_secs(30)).await;
    let (inv, _) = call(&platform, "f", json!({"allocate_mb": 300})).await;
    assert!(
        matches!(&inv.outcome, Outcome::Failed { kind, message } if kind == "Runtime.OutOfMemory" && message == "out of memory (limit 128 MB)"),
        "{:?}",
        inv.outcome
    );
    let (next, body) = call(&platform, "f", json!({"allocate_mb": 20})).await;
    assert!(next.cold);
    assert!(body.is_some());
    assert!(
        next.report.max_memory_used_mb.unwrap() >= 20,
        "{:?}",
        next.report
    );
}

#[tokio::test]
async fn timeout_kills_the_instance_after_about_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    deploy_echo(&platform, tmp.path(), Duration::from_secs(1)).await;
    call(&platform, "f", json!({})).await;
    let started = Instant::now();
    let (inv, _) = call(&platform, "f", json!({"sleep": 5})).await;
    let elapsed = started.elapsed();
    match &inv.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Sandbox.Timedout");
            assert_eq!(message, "Task timed out after 1.00 seconds");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        elapsed >= Duration::from_millis(990) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert!(call(&platform, "f", json!({})).await.0.cold);
}

#[tokio::test]
async fn exceptions_keep_the_instance_crashes_replace_it() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    deploy_echo(&platform, tmp.path(), Duration::from_secs(10)).await;
    let (first, _) = call(&platform, "f", json!({"raise": true})).await;
    match &first.outcome {
        Outcome::FunctionError(body) => {
            let err: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(err["errorType"], "ValueError");
            assert_eq!(err["errorMessage"], "asked to raise");
            assert!(err["stackTrace"].to_string().contains("function.py"));
        }
        other => panic!("{other:?}"),
    }
    let (second, _) = call(&platform, "f", json!({"crash": true})).await;
    assert!(!second.cold, "the instance survived the exception");
    match &second.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Runtime.ExitError");
            assert!(
                message.contains("killed by signal 11 (SIGSEGV)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        call(&platform, "f", json!({})).await.0.cold,
        "crashed instance replaced"
    );
}

#[tokio::test]
async fn init_errors_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    platform
        .deploy(spec(
            "f",
            package(tmp.path(), "import no_such_module\n"),
            Duration::from_secs(10),
        ))
        .await;
    let (inv, _) = call(&platform, "f", json!({})).await;
    match &inv.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Runtime.InitError");
            assert!(
                message.contains("No module named 'no_such_module'"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fork_mode_starts_instances_from_a_zygote() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO), Duration::from_secs(10));
    s.cold_start = Some(ColdStartMode::Fork);
    platform.deploy(s).await;
    let (a, body_a) = call(&platform, "f", json!({})).await;
    assert!(a.cold);
    assert_eq!(a.report.cold_start_mode.as_deref(), Some("fork"));
    let body_a = body_a.unwrap();
    assert_eq!(body_a["is_cold"], true);
    let (b, body_b) = call(&platform, "f", json!({})).await;
    assert!(!b.cold);
    assert_eq!(body_b.unwrap()["container_id"], body_a["container_id"]);
    platform.enforce_cold_start("f").unwrap();
    let (c, body_c) = call(&platform, "f", json!({})).await;
    assert!(c.cold);
    let body_c = body_c.unwrap();
    assert_eq!(
        body_c["is_cold"], true,
        "each forked instance has its own TMPDIR"
    );
    assert_ne!(body_c["container_id"], body_a["container_id"]);
    // Faults behave as with exec.
    let (oom, _) = call(&platform, "f", json!({"allocate_mb": 300})).await;
    assert!(
        matches!(&oom.outcome, Outcome::Failed { kind, .. } if kind == "Runtime.OutOfMemory"),
        "{:?}",
        oom.outcome
    );
    let (crash, _) = call(&platform, "f", json!({"crash": true})).await;
    assert!(
        matches!(&crash.outcome, Outcome::Failed { message, .. } if message.contains("signal 11")),
        "{:?}",
        crash.outcome
    );
}

#[tokio::test]
async fn runtime_api_protocol_serves_the_same_function() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO), Duration::from_secs(10));
    s.protocol = Protocol::RuntimeApi;
    platform.deploy(s).await;
    let (a, body) = call(&platform, "f", json!({"value": 7})).await;
    assert!(a.cold);
    assert_eq!(body.unwrap()["result"]["echo"], 7);
    let (b, _) = call(&platform, "f", json!({"raise": true})).await;
    assert!(!b.cold);
    assert!(matches!(b.outcome, Outcome::FunctionError(_)));
    let (c, _) = call(&platform, "f", json!({"crash": true})).await;
    assert!(
        matches!(&c.outcome, Outcome::Failed { message, .. } if message.contains("signal 11")),
        "{:?}",
        c.outcome
    );
}

#[tokio::test]
async fn concurrency_limit_queues_then_throttles() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = Arc::new(
        LocalPlatform::with_config(PlatformConfig {
            queue: 1,
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    let mut s = spec("f", package(tmp.path(), ECHO), Duration::from_secs(10));
    s.concurrency = Some(1);
    platform.deploy(s).await;
    let busy = {
        let p = platform.clone();
        tokio::spawn(async move { call(&p, "f", json!({"sleep": 1})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = {
        let p = platform.clone();
        tokio::spawn(async move { call(&p, "f", json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(platform.counts("f").unwrap(), (1, 0, 1));
    let throttled = platform.invoke("f", Bytes::from_static(b"{}")).await;
    assert!(
        matches!(throttled, Err(PlatformError::Throttled(_))),
        "{throttled:?}"
    );
    assert!(busy.await.unwrap().0.cold);
    let (queued, _) = queued.await.unwrap();
    assert!(
        !queued.cold,
        "the queued request got the instance when it became free"
    );
}

#[tokio::test]
async fn reports_have_lambda_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("metrics.jsonl");
    let platform = LocalPlatform::with_config(PlatformConfig {
        metrics_log: Some(log.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    deploy_echo(&platform, tmp.path(), Duration::from_secs(10)).await;
    let (cold, _) = call(&platform, "f", json!({"sleep": 0.05})).await;
    let (warm, _) = call(&platform, "f", json!({"allocate_mb": 40})).await;
    assert!(cold.report.init_duration_ms.unwrap() > 1.0);
    assert!(
        cold.report.duration_ms >= 50.0 && cold.report.duration_ms < 1000.0,
        "{:?}",
        cold.report
    );
    assert_eq!(
        cold.report.billed_duration_ms,
        cold.report.duration_ms.ceil() as u64
    );
    assert_eq!(warm.report.init_duration_ms, None);
    assert_eq!(warm.report.memory_size_mb, 128);
    let used = warm.report.max_memory_used_mb.unwrap();
    assert!((40..128).contains(&used), "max memory used {used} MB");
    assert_eq!(platform.report(&warm.request_id).unwrap(), warm.report);
    platform.shutdown().await;
    let logged = sebs_local::metrics::read_log(&log).unwrap();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].request_id, cold.request_id);
}

#[tokio::test]
async fn instances_get_a_scrubbed_environment_and_private_tmp() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let source = "import os\ndef handler(event):\n    return {'env': dict(os.environ), 'cwd': os.getcwd()}\n";
    let mut s = spec("f", package(tmp.path(), source), Duration::from_secs(10));
    s.env.insert("MY_SETTING".into(), "1".into());
    platform.deploy(s).await;
    // SAFETY: tests in this binary do not read this variable concurrently.
    unsafe { std::env::set_var("SEBS_TEST_SECRET", "leak") };
    let (_, body) = call(&platform, "f", json!({})).await;
    let body = body.unwrap();
    let env = body["result"]["env"].as_object().unwrap();
    assert!(!env.contains_key("SEBS_TEST_SECRET"));
    assert!(!env.contains_key("NODE_EXTRA_CA_CERTS"));
    assert_eq!(env["MY_SETTING"], "1");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    let tmpdir = env["TMPDIR"].as_str().unwrap();
    assert!(
        tmpdir.starts_with(body["result"]["cwd"].as_str().unwrap()),
        "TMPDIR inside the instance's own directory"
    );
}

/// Whether the gateway and the instance busy-poll for each other's next frame or sleep, warm
/// invocations reuse the instance and carry payloads of any size intact (frames larger than one
/// read exercise partial reads on both sides).
#[tokio::test]
async fn busy_polling_or_not_the_channel_carries_every_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path(), ECHO);
    for budget_us in [0u64, 200, 50_000] {
        let platform = LocalPlatform::with_config(PlatformConfig {
            busy_poll: Duration::from_micros(budget_us),
            ..Default::default()
        })
        .await
        .unwrap();
        platform
            .deploy(spec("f", pkg.clone(), Duration::from_secs(30)))
            .await;
        let mut pids = std::collections::HashSet::new();
        for i in 0..20usize {
            let value = if i % 5 == 4 {
                "x".repeat(300_000 + i)
            } else {
                format!("v{i}")
            };
            let (inv, body) = call(&platform, "f", json!({ "value": value })).await;
            let body = body.unwrap_or_else(|| panic!("budget {budget_us} µs, call {i}: {inv:?}"));
            assert_eq!(
                body["result"]["echo"],
                json!(value),
                "budget {budget_us} µs"
            );
            pids.insert(body["result"]["pid"].as_u64().unwrap());
        }
        assert_eq!(
            pids.len(),
            1,
            "one warm instance served all (budget {budget_us} µs)"
        );
    }
}
