//! The functions' storage shims (`runtimes/gcp/python`, `runtimes/gcp/nodejs`) against Google's own emulators: the
//! Datastore emulator and the Firestore emulator in Datastore mode (from gcloud), and the Cloud
//! Storage emulator (PyPI `gcp-storage-emulator`). A missing emulator prints a SKIP line.

mod common;

use std::process::Command;

fn check(script: &str, env: &[(&str, &str)], extra: &[&str]) {
    let (program, dir) = if script.ends_with(".js") {
        (common::which("node"), "nodejs")
    } else {
        (common::python(), "python")
    };
    let shims = common::repo().join("runtimes/gcp").join(dir);
    let script = common::repo()
        .join("crates/sebs-gcp/tests/data")
        .join(script);
    let out = Command::new(program)
        .arg(&script)
        .arg(&shims)
        .args(extra)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn nosql_on(name: &str, args: &[&str]) {
    let (_emulator, host) = match common::gcloud_emulator(args) {
        Ok(e) => e,
        Err(why) => {
            println!("SKIP {name}: {why}");
            return;
        }
    };
    for script in ["nosql_check.py", "nosql_check.js"] {
        let env = [
            ("DATASTORE_EMULATOR_HOST", host.as_str()),
            ("GOOGLE_CLOUD_PROJECT", "sebs-test"),
        ];
        check(script, &env, &[]);
    }
}

#[test]
fn nosql_shim_on_the_datastore_emulator() {
    nosql_on(
        "nosql_shim_on_the_datastore_emulator",
        &[
            "beta",
            "emulators",
            "datastore",
            "start",
            "--no-store-on-disk",
            "--project=sebs-test",
        ],
    );
}

#[test]
fn nosql_shim_on_the_firestore_emulator_in_datastore_mode() {
    nosql_on(
        "nosql_shim_on_the_firestore_emulator_in_datastore_mode",
        &[
            "emulators",
            "firestore",
            "start",
            "--database-mode=datastore-mode",
            "--project=sebs-test",
        ],
    );
}

#[test]
fn storage_shim_on_the_cloud_storage_emulator() {
    let (_emulator, url) = match common::storage_emulator() {
        Ok(e) => e,
        Err(why) => {
            println!("SKIP storage_shim_on_the_cloud_storage_emulator: {why}");
            return;
        }
    };
    for script in ["storage_check.py", "storage_check.js"] {
        let scratch = tempfile::tempdir().unwrap();
        check(
            script,
            &[("STORAGE_EMULATOR_HOST", &url)],
            &[scratch.path().to_str().unwrap()],
        );
    }
}
