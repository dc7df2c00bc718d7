//! Instances are isolated: namespaces give them a private `/tmp` and no network, and their
//! memory limit is a cgroup's. Both need a capable host; where it is not, the tests say
//! `SKIPPED` (and fail on CI, whose machine is capable).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{ECHO, call, package, skip_unless_ci, spec};
use sebs_local::{ColdStartMode, LimitBackend, LocalPlatform, PlatformConfig};
use serde_json::json;

const ISOLATION_PROBE: &str = r#"import os, socket

def handler(event):
    mine = os.path.join("/tmp", "mark-" + str(os.getpid()))
    open(mine, "w").close()
    try:
        socket.create_connection(("127.0.0.1", event["port"]), timeout=1).close()
        network = "reachable"
    except OSError as e:
        network = type(e).__name__
    return {"tmp": sorted(os.listdir("/tmp")), "network": network}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_give_a_private_tmp_and_no_network() {
    // Everything the instances need must live outside /tmp for /tmp to be replaced.
    let base = tempfile::tempdir_in("/var/tmp").unwrap();
    let platform = Arc::new(
        LocalPlatform::with_config(PlatformConfig {
            namespaces: true,
            work_dir: Some(base.path().join("run")),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    let isolation = *platform.isolation();
    if !isolation.mount || !isolation.net {
        let reason = format!(
            "this host does not allow mount and network namespaces (available: {})",
            isolation.describe()
        );
        skip_unless_ci("namespaces_give_a_private_tmp_and_no_network", &reason);
        return;
    }
    let port = platform.addr().port();
    for mode in [ColdStartMode::Exec, ColdStartMode::Fork] {
        let name = format!("iso-{mode}");
        let mut s = spec(
            &name,
            package(&base.path().join(&name), ISOLATION_PROBE),
            Duration::from_secs(10),
        );
        s.network = false;
        s.cold_start = Some(mode);
        platform.deploy(s).await;
        let calls: Vec<_> = (0..2)
            .map(|_| {
                let p = platform.clone();
                let name = name.clone();
                tokio::spawn(
                    async move { call(&p, &name, json!({"port": port, "sleep": 0})).await },
                )
            })
            .collect();
        for c in calls {
            let (inv, body) = c.await.unwrap();
            let body = body.unwrap_or_else(|| panic!("{mode}: {:?}", inv.outcome));
            let tmp = body["result"]["tmp"].as_array().unwrap();
            // Each instance sees only its own marker (and the wrapper's cold-start marker).
            let marks: Vec<_> = tmp
                .iter()
                .filter(|f| f.as_str().unwrap().starts_with("mark-"))
                .collect();
            assert_eq!(marks.len(), 1, "{mode}: {tmp:?}");
            assert_ne!(
                body["result"]["network"], "reachable",
                "{mode}: the instance reached the gateway"
            );
        }
    }
}

/// The memory limit of an instance is a cgroup's, not the rlimit fallback's: the process (exec
/// or forked) is in a memory cgroup whose limit is the function's memory size, and its address
/// space is as unlimited as the platform's own.
#[tokio::test]
async fn instances_run_under_a_cgroup_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    let v2 = match platform.limits() {
        LimitBackend::V1 { .. } => false,
        LimitBackend::V2 { .. } => true,
        LimitBackend::Rlimit => {
            skip_unless_ci(
                "instances_run_under_a_cgroup_memory_limit",
                "cgroups are not writable on this host, so memory is limited by RLIMIT_AS",
            );
            return;
        }
    };
    // The description names only what is applied: no CPU share was asked for.
    let limits = platform.limits().describe();
    assert!(
        limits.starts_with("cgroup v") && limits.contains("(memory") && !limits.contains("cpu"),
        "{limits}"
    );
    let own_address_space = address_space_limit(std::process::id() as i32);
    for mode in [ColdStartMode::Exec, ColdStartMode::Fork] {
        let name = format!("mem-{mode}");
        let mut s = spec(
            &name,
            package(&tmp.path().join(&name), ECHO),
            Duration::from_secs(30),
        );
        s.cold_start = Some(mode);
        platform.deploy(s).await;
        let (inv, body) = call(&platform, &name, json!({"allocate_mb": 20})).await;
        assert_eq!(inv.report.cold_start_mode.as_deref(), Some(mode.as_str()));
        let body = body.unwrap_or_else(|| panic!("{mode}: {:?}", inv.outcome));
        let pid = body["result"]["pid"].as_i64().unwrap() as i32;
        assert_eq!(
            memory_limit(pid, v2),
            Some(128 * 1024 * 1024),
            "{mode}: the limit of the instance's memory cgroup"
        );
        assert_eq!(
            address_space_limit(pid),
            own_address_space,
            "{mode}: the instance runs without the fallback's RLIMIT_AS"
        );
    }
}

/// The limit (bytes) of the memory cgroup `pid` is in, as the kernel shows it; `None` if there
/// is none.
fn memory_limit(pid: i32, v2: bool) -> Option<u64> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let memory = if v2 {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == "memory")
        };
        memory.then(|| path.trim_start_matches('/').to_owned())
    })?;
    let (hierarchy, file) = if v2 {
        ("", "memory.max")
    } else {
        ("memory", "memory.limit_in_bytes")
    };
    let dir = Path::new("/sys/fs/cgroup").join(hierarchy).join(path);
    std::fs::read_to_string(dir.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The soft `RLIMIT_AS` of `pid` as `/proc/<pid>/limits` shows it: `unlimited` or bytes.
fn address_space_limit(pid: i32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .expect("/proc/<pid>/limits has an address-space line");
    line.split_whitespace().nth(3).unwrap().to_owned()
}
