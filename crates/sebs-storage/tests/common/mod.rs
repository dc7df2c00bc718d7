//! Set-up shared by the integration tests: the shims of the runtimes and a client script run
//! against an embedded storage.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sebs_storage::EmbeddedStorage;

/// The shims of a runtime (`runtimes/<language>`).
pub fn shims(language: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../runtimes")
        .join(language)
}

/// Run `script` with `program` (`node` or `python3`), the shims importable and the storage
/// environment of `storage` plus `extra_env`; returns whether it succeeded and what it printed.
pub fn run(
    program: &str,
    storage: &EmbeddedStorage,
    script: &str,
    extra_env: &[(&str, &str)],
) -> (bool, String) {
    let config = storage.config();
    let mut cmd = Command::new(program);
    if program == "node" {
        cmd.arg("-e")
            .arg(script)
            .current_dir(shims("nodejs"))
            .env_remove("NODE_OPTIONS");
    } else {
        cmd.arg("-c").arg(script).env("PYTHONPATH", shims("python"));
    }
    if let Some(e) = config.object_endpoint().unwrap() {
        cmd.envs(e.object_env());
    }
    if let Some(e) = config.nosql_endpoint().unwrap() {
        cmd.envs(e.nosql_env());
    }
    cmd.envs(extra_env.iter().copied());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
