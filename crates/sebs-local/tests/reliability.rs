//! What misbehaving functions cannot do to the platform: answer more than Lambda's response
//! limit and lose their instance, leave processes behind (a `setsid` child), or leave debris of a
//! dead platform (temporary directories, cgroups) that nothing sweeps.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::python;
use sebs_local::{FunctionSpec, LocalPlatform, MAX_PAYLOAD, Outcome, Protocol};
use serde_json::json;

/// A package whose `raw.handler` (no SeBS wrapper) is `source`.
fn raw_package(dir: &Path, source: &str) -> PathBuf {
    let root = dir.join("raw");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("raw.py"), source).unwrap();
    root
}

fn raw_spec(name: &str, pkg: PathBuf, protocol: Protocol) -> FunctionSpec {
    let mut spec = FunctionSpec::python(name, pkg, python(), 256, Duration::from_secs(30));
    spec.handler = "raw.handler".into();
    spec.protocol = protocol;
    spec
}

/// Returns a JSON string of exactly `n` bytes once encoded.
const SIZED: &str = "def handler(event, context):\n    return 'x' * (event['n'] - 2)\n";

async fn sized(platform: &LocalPlatform, n: usize) -> sebs_local::Invocation {
    platform
        .invoke("f", Bytes::from(json!({ "n": n }).to_string()))
        .await
        .expect("invocation accepted")
}

fn assert_too_large(inv: &sebs_local::Invocation, size: usize) {
    match &inv.outcome {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "Function.ResponseSizeTooLarge", "{message}");
            assert!(
                message.contains(&format!("({size} bytes)"))
                    && message.contains(&format!("({MAX_PAYLOAD} bytes)")),
                "the message names the size and the limit: {message}"
            );
        }
        other => panic!("a {size}-byte response must be too large, got {other:?}"),
    }
}

async fn response_limit(protocol: Protocol) {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    platform
        .deploy(raw_spec("f", raw_package(tmp.path(), SIZED), protocol))
        .await;
    let first = sized(&platform, 10).await;
    assert!(matches!(first.outcome, Outcome::Response(_)));

    // 7 MB: over the limit, and over what the channel's frames may carry.
    let seven = 7 * 1024 * 1024;
    let big = sized(&platform, seven).await;
    assert_too_large(&big, seven);
    assert_eq!(big.report.status, "error", "a function error, not a crash");
    let after = sized(&platform, 10).await;
    assert!(
        !after.cold && after.instance_id == first.instance_id,
        "the instance survives a response over the limit: {:?}",
        after.outcome
    );

    // The boundary: exactly the limit passes, one byte more does not.
    match sized(&platform, MAX_PAYLOAD).await.outcome {
        Outcome::Response(body) => assert_eq!(body.len(), MAX_PAYLOAD),
        other => panic!("a response of exactly {MAX_PAYLOAD} bytes is allowed, got {other:?}"),
    }
    let over = sized(&platform, MAX_PAYLOAD + 1).await;
    assert_too_large(&over, MAX_PAYLOAD + 1);
    let last = sized(&platform, 10).await;
    assert_eq!(
        last.instance_id, first.instance_id,
        "still the same instance"
    );
    platform.shutdown().await;
}

#[tokio::test]
async fn responses_over_the_limit_are_classified_and_keep_the_instance_channel() {
    response_limit(Protocol::Channel).await;
}

#[tokio::test]
async fn responses_over_the_limit_are_classified_and_keep_the_instance_runtime_api() {
    response_limit(Protocol::RuntimeApi).await;
}
