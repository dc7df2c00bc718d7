//! What misbehaving functions cannot do to the platform: answer more than Lambda's response
//! limit and lose their instance, leave processes behind (a `setsid` child), or leave debris of a
//! dead platform (temporary directories, cgroups) that nothing sweeps.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::python;
use sebs_local::{
    ColdStartMode, FunctionSpec, LimitBackend, LocalPlatform, MAX_PAYLOAD, Outcome, PlatformConfig,
    Protocol,
};
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

/// Starts `sleep 1000` in a new session (out of the instance's process group), writes its pid to
/// `event["pidfile"]`, and exits the instance if asked to.
const SPAWNER: &str = r#"import os, subprocess

def handler(event, context):
    child = subprocess.Popen(["sleep", "1000"], start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(event["pidfile"], "w") as f:
        f.write(str(child.pid))
    if event.get("exit"):
        os._exit(3)
    return child.pid
"#;

/// Whether `pid` is running (a zombie waiting for its new parent to reap it is not).
fn running(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, None | Some("Z"))
}

/// Wait (at most 5 s) for `pid` to stop running.
async fn gone(pid: i32) -> bool {
    for _ in 0..500 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Invoke the spawner; returns the pid of the `setsid` child it left.
async fn spawn_child(platform: &LocalPlatform, dir: &Path, exit: bool) -> i32 {
    let pidfile = dir.join(format!("child-{}", uuid_like()));
    let event = json!({ "pidfile": pidfile, "exit": exit });
    let inv = platform
        .invoke("f", Bytes::from(event.to_string()))
        .await
        .unwrap();
    assert_eq!(
        matches!(inv.outcome, Outcome::Response(_)),
        !exit,
        "{:?}",
        inv.outcome
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // (When the instance exits, its child may be gone already: that is the point.)
    assert!(exit || running(pid), "the child {pid} runs");
    pid
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// The platform's own cgroup directories.
fn platform_cgroups(limits: &LimitBackend) -> Vec<PathBuf> {
    match limits {
        LimitBackend::V1 { memory, cpu, pids } => [Some(memory), cpu.as_ref(), pids.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        LimitBackend::V2 { dir, .. } => vec![dir.clone()],
        LimitBackend::Rlimit => Vec::new(),
    }
}

async fn setsid_children_do_not_survive(config: PlatformConfig, mode: ColdStartMode, test: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = raw_package(tmp.path(), SPAWNER);
    let mut spec = raw_spec("f", pkg, Protocol::Channel);
    spec.cold_start = Some(mode);
    spec.keep_alive = Some(Duration::from_secs(600));

    // Retired (as `enforce_cold_start` retires for experiments).
    let platform = LocalPlatform::with_config(config.clone()).await.unwrap();
    platform.deploy(spec.clone()).await;
    let child = spawn_child(&platform, tmp.path(), false).await;
    assert_eq!(platform.enforce_cold_start("f").unwrap(), 1);
    assert!(
        gone(child).await,
        "retired: the setsid child {child} survived"
    );

    // The instance exits by itself, leaving the child: found through its cgroup.
    if matches!(platform.limits(), LimitBackend::Rlimit) {
        common::skip_unless_ci(
            test,
            "no writable cgroups here: a child whose instance exited by itself is not found",
        );
    } else {
        let child = spawn_child(&platform, tmp.path(), true).await;
        assert!(
            gone(child).await,
            "exited: the setsid child {child} survived"
        );
    }

    // Platform shutdown: nothing left, neither processes nor cgroups.
    let child = spawn_child(&platform, tmp.path(), false).await;
    let cgroups = platform_cgroups(platform.limits());
    platform.shutdown().await;
    assert!(
        gone(child).await,
        "shut down: the setsid child {child} survived"
    );
    for dir in cgroups {
        assert!(!dir.exists(), "{} is left after shutdown", dir.display());
    }

    // A platform dropped without a shutdown.
    let platform = LocalPlatform::with_config(config).await.unwrap();
    platform.deploy(spec).await;
    let child = spawn_child(&platform, tmp.path(), false).await;
    drop(platform);
    assert!(
        gone(child).await,
        "dropped: the setsid child {child} survived"
    );
}

#[tokio::test]
async fn setsid_children_die_with_their_instance_exec() {
    setsid_children_do_not_survive(
        PlatformConfig::default(),
        ColdStartMode::Exec,
        "setsid_children_die_with_their_instance_exec",
    )
    .await;
}

#[tokio::test]
async fn setsid_children_die_with_their_instance_fork() {
    setsid_children_do_not_survive(
        PlatformConfig::default(),
        ColdStartMode::Fork,
        "setsid_children_die_with_their_instance_fork",
    )
    .await;
}

#[tokio::test]
async fn setsid_children_die_with_their_instance_without_cgroups() {
    let tmp = tempfile::tempdir().unwrap();
    let config = PlatformConfig {
        cgroups: false,
        ..PlatformConfig::default()
    };
    let platform = LocalPlatform::with_config(config.clone()).await.unwrap();
    let mut spec = raw_spec("f", raw_package(tmp.path(), SPAWNER), Protocol::Channel);
    spec.keep_alive = Some(Duration::from_secs(600));
    platform.deploy(spec.clone()).await;
    let child = spawn_child(&platform, tmp.path(), false).await;
    assert_eq!(platform.enforce_cold_start("f").unwrap(), 1);
    assert!(
        gone(child).await,
        "retired: the setsid child {child} survived"
    );
    let child = spawn_child(&platform, tmp.path(), false).await;
    platform.shutdown().await;
    assert!(
        gone(child).await,
        "shut down: the setsid child {child} survived"
    );
    for mode in [ColdStartMode::Exec, ColdStartMode::Fork] {
        let platform = LocalPlatform::with_config(config.clone()).await.unwrap();
        spec.cold_start = Some(mode);
        platform.deploy(spec.clone()).await;
        let child = spawn_child(&platform, tmp.path(), false).await;
        drop(platform);
        assert!(
            gone(child).await,
            "{mode:?}, dropped: the child {child} survived"
        );
    }
}

/// A process's start time (clock ticks since boot), field 22 of `/proc/<pid>/stat`.
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn sleeper() -> (std::process::Child, String) {
    // Not on the test's output: cargo would wait for it to close.
    let child = std::process::Command::new("sleep")
        .arg("1000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let token = format!("{}.{}", child.id(), start_time(child.id()));
    (child, token)
}

#[tokio::test]
async fn debris_of_dead_platforms_is_swept_and_that_of_live_ones_stays() {
    let base = tempfile::tempdir().unwrap();
    let config = PlatformConfig {
        work_dir: Some(base.path().to_owned()),
        ..PlatformConfig::default()
    };
    // Where this process's platforms put their cgroups.
    let probe = LocalPlatform::with_config(config.clone()).await.unwrap();
    let cgroup_base = platform_cgroups(probe.limits())
        .first()
        .and_then(|d| d.parent().map(Path::to_owned));
    probe.shutdown().await;

    // A dead owner (a process that has exited), a live one, and a live pid with another start
    // time (the dead owner's pid reused).
    let (mut dead, dead_token) = sleeper();
    dead.kill().unwrap();
    dead.wait().unwrap();
    let (mut live, live_token) = sleeper();
    let (live_pid, live_start) = live_token.split_once('.').unwrap();
    let reused_token = format!("{live_pid}.{}", live_start.parse::<u64>().unwrap() + 1);

    let dir = |name: String| {
        let path = base.path().join(name);
        std::fs::create_dir_all(path.join("instances/abc")).unwrap();
        std::fs::write(path.join("instances/abc/output.log"), "left behind").unwrap();
        path
    };
    let stale = [
        dir(format!("sebs-local-{dead_token}-AbCdEf")),
        dir(format!("sebs-local-{reused_token}-GhIjKl")),
    ];
    let kept = [
        dir(format!("sebs-local-{live_token}-MnOpQr")),
        // No owner in its name (written before owners were): never touched.
        dir("sebs-local-StUvWx".into()),
    ];

    // A dead platform's cgroup, with a process still in an instance cgroup below it.
    let mut orphan = None;
    let mut cgroups = Vec::new();
    if let Some(cgroup_base) = &cgroup_base {
        let stale = cgroup_base.join(format!("sebs-{dead_token}-1"));
        std::fs::create_dir_all(stale.join("instance")).unwrap();
        let (child, _) = sleeper();
        std::fs::write(stale.join("instance/cgroup.procs"), child.id().to_string()).unwrap();
        orphan = Some(child);
        let live = cgroup_base.join(format!("sebs-{live_token}-2"));
        std::fs::create_dir_all(&live).unwrap();
        cgroups = vec![stale, live];
    } else {
        common::skip_unless_ci(
            "debris_of_dead_platforms_is_swept_and_that_of_live_ones_stays",
            "no writable cgroups here: only temporary directories are checked",
        );
    }

    let platform = LocalPlatform::with_config(config).await.unwrap();
    for path in &stale {
        assert!(
            !path.exists(),
            "{} of a dead owner is swept",
            path.display()
        );
    }
    for path in &kept {
        assert!(path.exists(), "{} stays", path.display());
    }
    if let Some(mut orphan) = orphan {
        assert!(!cgroups[0].exists(), "the dead platform's cgroup is swept");
        assert!(
            gone(orphan.id() as i32).await,
            "the process left in it is killed"
        );
        let _ = orphan.wait();
        assert!(cgroups[1].exists(), "a live platform's cgroup stays");
        std::fs::remove_dir(&cgroups[1]).unwrap();
    }
    platform.shutdown().await;
    live.kill().unwrap();
    live.wait().unwrap();
}
