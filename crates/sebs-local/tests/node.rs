//! The local platform with real Node.js functions: the Node.js wrapper and bootstrap over the
//! private channel and the HTTP Runtime API, sync/async/callback handlers, errors that keep the
//! instance, the scrubbed environment, init errors, heap exhaustion and the fork-mode fallback.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::call;
use sebs_local::{ColdStartMode, FunctionSpec, LocalPlatform, Outcome, PlatformConfig, Protocol};
use serde_json::{Value, json};

const HANDLER: &str = include_str!("../../../runtimes/nodejs/handler.js");

fn node() -> PathBuf {
    let out = std::process::Command::new("node")
        .args(["-p", "process.execPath"])
        .env_remove("NODE_OPTIONS")
        .output()
        .expect("node is installed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A Node.js code package: the SeBS wrapper and `function/function.js` = `source`.
fn package(dir: &Path, source: &str) -> PathBuf {
    let root = dir.join("pkg");
    std::fs::create_dir_all(root.join("function")).unwrap();
    std::fs::write(root.join("handler.js"), HANDLER).unwrap();
    std::fs::write(root.join("function/function.js"), source).unwrap();
    root
}

const ECHO: &str = r#"
exports.handler = async (event) => {
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  if (event.raise) { const e = new RangeError('asked to raise'); throw e; }
  if (event.reject) return Promise.reject(new TypeError('asked to reject'));
  if (event.uncaught) {
    // Thrown outside the handler's promise chain: only process-level handlers see it.
    return new Promise(() => setTimeout(() => { throw new SyntaxError('thrown in a timer'); }, 5));
  }
  if (event.allocate_mb) {
    const keep = [];
    for (let i = 0; i < event.allocate_mb; i++) keep.push(new Array(128 * 1024).fill(i));
    return { kept: keep.length };
  }
  if (event.crash) process.kill(process.pid, 'SIGSEGV');
  return { pid: process.pid, echo: event.value, env: process.env, cwd: process.cwd() };
};
"#;

fn spec(name: &str, pkg: PathBuf) -> FunctionSpec {
    FunctionSpec::node(name, pkg, node(), 128, Duration::from_secs(10))
}

fn function_error(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::FunctionError(body) => serde_json::from_slice(body).unwrap(),
        other => panic!("expected a function error, got {other:?}"),
    }
}

/// The wrapper's response and the platform agree on cold and warm starts, in both protocols.
async fn cold_then_warm(protocol: Protocol) {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO));
    s.protocol = protocol;
    platform.deploy(s).await;
    let (a, body_a) = call(&platform, "f", json!({"value": 7})).await;
    let body_a = body_a.unwrap();
    assert!(a.cold);
    assert_eq!(body_a["is_cold"], true, "{body_a}");
    assert_eq!(body_a["result"]["echo"], 7);
    assert_eq!(body_a["request_id"], a.request_id.as_str());
    assert_eq!(body_a["container_id"].as_str().unwrap().len(), 8);
    let begin = body_a["begin"].as_f64().unwrap();
    let end = body_a["end"].as_f64().unwrap();
    assert!(begin > 1.6e9 && end >= begin, "{body_a}");
    let compute = body_a["compute_time"].as_f64().unwrap();
    assert!(
        compute > 0.0 && compute <= (end - begin) * 1e6 + 1000.0,
        "compute_time (µs) within begin..end: {body_a}"
    );
    for _ in 0..3 {
        let (b, body_b) = call(&platform, "f", json!({"value": 8})).await;
        let body_b = body_b.unwrap();
        assert!(!b.cold);
        assert_eq!(body_b["is_cold"], false, "{body_b}");
        assert_eq!(body_b["container_id"], body_a["container_id"]);
        assert_eq!(body_b["result"]["pid"], body_a["result"]["pid"]);
    }
    // Errors are reported with their type and message, and the instance serves on.
    let (err, _) = call(&platform, "f", json!({"raise": true})).await;
    let e = function_error(&err.outcome);
    assert_eq!(e["errorType"], "RangeError");
    assert_eq!(e["errorMessage"], "asked to raise");
    assert!(e["stackTrace"].to_string().contains("function.js"), "{e}");
    let (rej, _) = call(&platform, "f", json!({"reject": true})).await;
    assert_eq!(function_error(&rej.outcome)["errorType"], "TypeError");
    let (unc, _) = call(&platform, "f", json!({"uncaught": true})).await;
    let e = function_error(&unc.outcome);
    assert_eq!(e["errorType"], "SyntaxError");
    assert_eq!(e["errorMessage"], "thrown in a timer");
    let (after, body) = call(&platform, "f", json!({"value": 9})).await;
    assert!(!after.cold, "the instance survived the handler's errors");
    assert_eq!(body.unwrap()["result"]["pid"], body_a["result"]["pid"]);
    // A crash replaces the instance.
    let (crash, _) = call(&platform, "f", json!({"crash": true})).await;
    assert!(
        matches!(&crash.outcome, Outcome::Failed { kind, message } if kind == "Runtime.ExitError" && message.contains("signal 11")),
        "{:?}",
        crash.outcome
    );
    assert!(call(&platform, "f", json!({})).await.0.cold);
    platform.shutdown().await;
}

#[tokio::test]
async fn channel_protocol_cold_warm_and_errors() {
    cold_then_warm(Protocol::Channel).await;
}

#[tokio::test]
async fn runtime_api_protocol_cold_warm_and_errors() {
    cold_then_warm(Protocol::RuntimeApi).await;
}

#[tokio::test]
async fn sync_and_callback_handlers() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    // The wrapper is replaced by handlers of each style, exported from handler.js directly.
    let root = tmp.path().join("pkg");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("handler.js"),
        "exports.sync = (event) => ({ doubled: event.n * 2 });\n\
         exports.callback = (event, context, callback) => setTimeout(() => callback(null, { id: context.awsRequestId, left: context.getRemainingTimeInMillis() }), 1);\n\
         exports.failing = (event, context, callback) => callback(new Error('callback error'));\n",
    )
    .unwrap();
    for (name, handler) in [
        ("sync", "handler.sync"),
        ("callback", "handler.callback"),
        ("failing", "handler.failing"),
    ] {
        let mut s = spec(name, root.clone());
        s.handler = handler.into();
        platform.deploy(s).await;
    }
    let inv = platform
        .invoke("sync", Bytes::from(r#"{"n": 21}"#))
        .await
        .unwrap();
    assert!(matches!(&inv.outcome, Outcome::Response(b) if b.as_ref() == br#"{"doubled":42}"#));
    let inv = platform
        .invoke("callback", Bytes::from("{}"))
        .await
        .unwrap();
    let Outcome::Response(body) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["id"], inv.request_id.as_str());
    let left = body["left"].as_u64().unwrap();
    assert!(left > 5_000 && left <= 10_000, "remaining time {left} ms");
    let inv = platform.invoke("failing", Bytes::from("{}")).await.unwrap();
    assert_eq!(
        function_error(&inv.outcome)["errorMessage"],
        "callback error"
    );
    platform.shutdown().await;
}

#[tokio::test]
async fn node_instances_get_a_scrubbed_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let mut s = spec("f", package(tmp.path(), ECHO));
    s.env.insert("MY_SETTING".into(), "1".into());
    // Even set explicitly for the function, these never reach a Node.js instance.
    s.env
        .insert("NODE_OPTIONS".into(), "--require /nonexistent.js".into());
    s.env
        .insert("NODE_EXTRA_CA_CERTS".into(), "/etc/ssl/certs/x.pem".into());
    platform.deploy(s).await;
    // SAFETY: tests in this binary do not read these variables concurrently.
    unsafe {
        std::env::set_var("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt");
        std::env::set_var("SEBS_TEST_SECRET", "leak");
    }
    let (inv, body) = call(&platform, "f", json!({})).await;
    let body = body.unwrap_or_else(|| panic!("{:?}", inv.outcome));
    let env = body["result"]["env"].as_object().unwrap();
    for key in [
        "NODE_EXTRA_CA_CERTS",
        "NODE_OPTIONS",
        "SEBS_TEST_SECRET",
        "SEBS_CHANNEL_FD",
    ] {
        assert!(
            !env.contains_key(key),
            "{key} reached the instance: {env:?}"
        );
    }
    assert_eq!(env["MY_SETTING"], "1");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert!(
        env["TMPDIR"]
            .as_str()
            .unwrap()
            .starts_with(body["result"]["cwd"].as_str().unwrap()),
        "TMPDIR inside the instance's own directory"
    );
    platform.shutdown().await;
}

#[tokio::test]
async fn init_errors_and_missing_handlers_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    platform
        .deploy(spec(
            "missing-module",
            package(tmp.path(), "require('no-such-module');\n"),
        ))
        .await;
    let (inv, _) = call(&platform, "missing-module", json!({})).await;
    match &inv.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Runtime.InitError");
            assert!(
                message.contains("Cannot find module 'no-such-module'"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut s = spec("no-handler", package(&other, ECHO));
    s.handler = "handler.nothing".into();
    s.protocol = Protocol::RuntimeApi;
    platform.deploy(s).await;
    let (inv, _) = call(&platform, "no-handler", json!({})).await;
    assert!(
        matches!(&inv.outcome, Outcome::Failed { kind, message } if kind == "Runtime.InitError" && message.contains("Runtime.HandlerNotFound")),
        "{:?}",
        inv.outcome
    );
    platform.shutdown().await;
}

#[tokio::test]
async fn heap_exhaustion_is_out_of_memory_and_fork_mode_falls_back_to_exec() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::with_config(PlatformConfig {
        cold_start: ColdStartMode::Fork,
        ..PlatformConfig::default()
    })
    .await
    .unwrap();
    let s = spec("f", package(tmp.path(), ECHO));
    assert_eq!(
        s.effective_cold_start(ColdStartMode::Fork),
        ColdStartMode::Exec
    );
    platform.deploy(s).await;
    let (a, _) = call(&platform, "f", json!({})).await;
    assert!(a.cold);
    assert_eq!(a.report.cold_start_mode.as_deref(), Some("exec"));
    let (oom, _) = call(&platform, "f", json!({"allocate_mb": 400})).await;
    assert!(
        matches!(&oom.outcome, Outcome::Failed { kind, .. } if kind == "Runtime.OutOfMemory"),
        "{:?}",
        oom.outcome
    );
    let (next, _) = call(&platform, "f", json!({})).await;
    assert!(next.cold, "a fresh instance after running out of memory");
    platform.shutdown().await;
}

#[tokio::test]
async fn a_response_over_the_limit_is_classified_and_keeps_the_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let root = tmp.path().join("pkg");
    std::fs::create_dir_all(&root).unwrap();
    // A JSON string of exactly `n` bytes once encoded.
    std::fs::write(
        root.join("handler.js"),
        "exports.sized = async (event) => 'x'.repeat(event.n - 2);\n",
    )
    .unwrap();
    let mut s = spec("f", root);
    s.handler = "handler.sized".into();
    platform.deploy(s).await;
    let sized = |n: usize| {
        let platform = &platform;
        async move {
            platform
                .invoke("f", Bytes::from(json!({ "n": n }).to_string()))
                .await
                .unwrap()
        }
    };
    let first = sized(10).await;
    assert!(matches!(first.outcome, Outcome::Response(_)));
    for n in [7 * 1024 * 1024, sebs_local::MAX_PAYLOAD + 1] {
        let big = sized(n).await;
        assert!(
            matches!(&big.outcome, Outcome::Failed { kind, message }
                if kind == "Function.ResponseSizeTooLarge" && message.contains(&format!("({n} bytes)"))),
            "{:?}",
            big.outcome
        );
        assert_eq!(big.instance_id, first.instance_id);
    }
    match sized(sebs_local::MAX_PAYLOAD).await.outcome {
        Outcome::Response(body) => assert_eq!(body.len(), sebs_local::MAX_PAYLOAD),
        other => panic!("exactly the limit is allowed, got {other:?}"),
    }
    let last = sized(10).await;
    assert!(!last.cold && last.instance_id == first.instance_id);
    platform.shutdown().await;
}
