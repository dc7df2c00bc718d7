//! The platform raises its own file-descriptor limit and gives instances the one it started
//! with. A test binary of its own: the limit is the process's, and the platform records it the
//! first time one starts in the process.

mod common;

use std::time::Duration;

use common::{call, package, spec};
use sebs_local::{ColdStartMode, LocalPlatform};
use serde_json::json;

const NOFILE: &str = r#"import resource

def handler(event):
    return {'nofile': resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
"#;

fn nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscall filling `limit`.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_raises_its_descriptor_limit_and_instances_get_the_original() {
    let hard = nofile().rlim_max;
    if hard <= 256 {
        common::skip_unless_ci(
            "the_platform_raises_its_descriptor_limit_and_instances_get_the_original",
            "the hard descriptor limit leaves no room below it",
        );
        return;
    }
    // Start as a host with a low default would (most give 1,024).
    let low = libc::rlimit {
        rlim_cur: 256,
        rlim_max: hard,
    };
    // SAFETY: plain syscall; lowering the soft limit needs no privilege.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);

    let tmp = tempfile::tempdir().unwrap();
    let platform = LocalPlatform::start().await.unwrap();
    assert_eq!(nofile().rlim_cur, hard.min(1 << 20));
    for (name, mode) in [("e", ColdStartMode::Exec), ("f", ColdStartMode::Fork)] {
        let mut s = spec(
            name,
            package(&tmp.path().join(name), NOFILE),
            Duration::from_secs(10),
        );
        s.cold_start = Some(mode);
        platform.deploy(s).await;
        let (inv, body) = call(&platform, name, json!({})).await;
        assert_eq!(inv.report.cold_start_mode.as_deref(), Some(mode.as_str()));
        assert_eq!(body.unwrap()["result"]["nofile"], 256, "{mode:?}");
    }
}
