//! Set-up shared by the integration tests: for Python functions the interpreter, a code package
//! with the SeBS wrapper, a function spec and an echo function deployed; for every language an
//! invocation with its parsed response; visible skips.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use sebs_local::{FunctionSpec, LocalPlatform, Outcome};
use serde_json::Value;

const HANDLER: &str = include_str!("../../../../runtimes/python/handler.py");

/// The real Python interpreter (not a version-manager shim).
pub fn python() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is installed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A code package with the SeBS wrapper and `function.py` = `source`.
pub fn package(dir: &Path, source: &str) -> PathBuf {
    let root = dir.join("pkg");
    std::fs::create_dir_all(root.join("function")).unwrap();
    std::fs::write(root.join("handler.py"), HANDLER).unwrap();
    std::fs::write(root.join("function/__init__.py"), "").unwrap();
    std::fs::write(root.join("function/function.py"), source).unwrap();
    root
}

/// A function that sleeps, allocates, crashes or raises as the event asks, and echoes `value`.
pub const ECHO: &str = r#"import os, time

def handler(event):
    time.sleep(event.get('sleep', 0))
    if event.get('allocate_mb'):
        block = bytearray(event['allocate_mb'] * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
    if event.get('crash'):
        os.kill(os.getpid(), 11)
    if event.get('raise'):
        raise ValueError('asked to raise')
    return {'pid': os.getpid(), 'echo': event.get('value')}
"#;

/// A 128 MB Python function with the platform's defaults.
pub fn spec(name: &str, pkg: PathBuf, timeout: Duration) -> FunctionSpec {
    FunctionSpec::python(name, pkg, python(), 128, timeout)
}

/// Deploy [`ECHO`] as `f` (128 MB, `timeout`), its package under `dir`.
pub async fn deploy_echo(platform: &LocalPlatform, dir: &Path, timeout: Duration) {
    platform
        .deploy(spec("f", package(dir, ECHO), timeout))
        .await;
}

/// Invoke and parse the SeBS response out of the wrapper's `{"statusCode", "body"}` (200 on
/// every completed invocation, with either language's wrapper).
pub async fn call(
    platform: &LocalPlatform,
    name: &str,
    event: Value,
) -> (sebs_local::Invocation, Option<Value>) {
    let inv = platform
        .invoke(name, Bytes::from(event.to_string()))
        .await
        .expect("invocation accepted");
    let body = match &inv.outcome {
        Outcome::Response(b) => {
            let outer: Value = serde_json::from_slice(b).unwrap();
            assert_eq!(outer["statusCode"], 200, "{outer}");
            Some(serde_json::from_str(outer["body"].as_str().unwrap()).unwrap())
        }
        _ => None,
    };
    (inv, body)
}

/// Give up on a test this host cannot run, visibly: a `SKIPPED: <test>: <reason>` line on
/// stderr. On CI (the `CI` environment variable is set), whose machine can run every test,
/// fail instead.
pub fn skip_unless_ci(test: &str, reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {reason}; CI's machine must run this test (CI is set), so it fails rather than skips"
    );
    // Straight to the process's stderr: the harness captures `eprintln!` in a passing test and
    // never shows it.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}
