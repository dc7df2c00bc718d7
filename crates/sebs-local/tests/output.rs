//! A function that prints megabytes per call: the platform keeps only the end of its output, so
//! its own memory stays flat and error messages stay small. (A test binary of its own: it
//! measures this process's peak memory.)

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use sebs_local::{FunctionSpec, LocalPlatform, Outcome, PlatformConfig};
use serde_json::json;

/// Prints a 10 MB line and a short one per call; crashes (SIGKILL to itself) when asked.
const CHATTY: &str = r#"import os, sys

def handler(event, context):
    sys.stdout.write("x" * (10 * 1024 * 1024) + "\n")
    sys.stdout.write("call %d done\n" % event["i"])
    if event.get("crash"):
        os.kill(os.getpid(), 9)
    return event["i"]
"#;

/// A `kB` field of this process's `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// The output file of instance `id` under the platform's work directory `base`.
fn output_log(base: &Path, id: &str) -> PathBuf {
    std::fs::read_dir(base)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("instances").join(id).join("output.log"))
        .find(|p| p.exists())
        .expect("the instance's output.log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_per_call_leave_memory_flat_and_messages_small() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pkg");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("chatty.py"), CHATTY).unwrap();
    let mut spec = FunctionSpec::python("f", root, common::python(), 256, Duration::from_secs(30));
    spec.handler = "chatty.handler".into();
    let work = tmp.path().join("work");
    let platform = LocalPlatform::with_config(PlatformConfig {
        work_dir: Some(work.clone()),
        ..PlatformConfig::default()
    })
    .await
    .unwrap();
    platform.deploy(spec).await;

    // Reset this process's peak resident set ("5" to clear_refs), then measure from here.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let (rss_before, peak_before) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    let mut instance = String::new();
    for i in 1..=40 {
        let inv = platform
            .invoke("f", Bytes::from(json!({ "i": i }).to_string()))
            .await
            .unwrap();
        assert!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{:?}",
            inv.outcome
        );
        instance = inv.instance_id;
    }
    // 400 MB printed; within a sweep (100 ms) the file holds about the cap again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = output_log(&work, &instance);
    let meta = std::fs::metadata(&log).unwrap();
    assert!(
        meta.len() >= 40 * 10 * 1024 * 1024,
        "everything was written"
    );
    assert!(
        meta.blocks() * 512 <= 1024 * 1024,
        "the output occupies {} bytes on disk",
        meta.blocks() * 512
    );

    // The instance dies: its message quotes the end of the output, not 400 MB of it.
    let crash = platform
        .invoke(
            "f",
            Bytes::from(json!({ "i": 41, "crash": true }).to_string()),
        )
        .await
        .unwrap();
    let Outcome::Failed { kind, message } = &crash.outcome else {
        panic!("expected a crash, got {:?}", crash.outcome);
    };
    assert_eq!(kind, "Runtime.ExitError");
    assert!(
        message.len() <= 5000,
        "a {}-byte error message",
        message.len()
    );
    assert!(
        message.contains("killed by signal 9") && message.ends_with("call 41 done"),
        "{}",
        &message[..message.len().min(300)]
    );
    assert!(
        message.contains("bytes in all"),
        "the message says output was left out: {}",
        &message[..message.len().min(300)]
    );
    let (rss_after, peak_after) = (status_bytes("VmRSS:"), status_bytes("VmHWM:"));
    eprintln!(
        "peak {peak_before} -> {peak_after}, resident {rss_before} -> {rss_after}; message {} bytes",
        message.len()
    );
    let margin = 64 * 1024 * 1024;
    assert!(
        peak_after < peak_before + margin && rss_after < rss_before + margin,
        "memory grew: peak {peak_before} -> {peak_after}, resident {rss_before} -> {rss_after}"
    );
    platform.shutdown().await;
}
