//! Shared by the contract tests: discovery-document checks, the fake control plane, the Cloud
//! Storage emulator, test credentials and a package to deploy.
#![allow(dead_code)]

pub mod discovery;
pub mod fake;
pub mod fake_api;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real Python interpreter (not pyenv's shim script).
pub fn python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The absolute path of `program` on PATH (functions run with an empty environment).
pub fn which(program: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A process group killed on drop (emulators leave children).
pub struct Group(pub Child);

impl Drop for Group {
    fn drop(&mut self) {
        unsafe_kill_group(self.0.id());
        let _ = self.0.wait();
    }
}

fn unsafe_kill_group(pid: u32) {
    // The group the emulator leads (never 0 or 1: that would be ours or everyone's).
    if pid > 1 {
        // SAFETY: kill(2) with a negative pid signals that process group only.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGTERM);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gcp-storage-emulator` on a free port (in memory), or the reason it cannot run.
pub fn storage_emulator() -> Result<(Group, String), String> {
    let port = free_port();
    let child = Command::new("gcp-storage-emulator")
        .args([
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--in-memory",
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("gcp-storage-emulator (pip install gcp-storage-emulator): {e}"))?;
    let group = Group(child);
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            return Err("gcp-storage-emulator did not start within 30 s".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok((group, format!("http://127.0.0.1:{port}")))
}

/// `gcloud emulators <args>` on a free port in a process group of its own (the emulators leave
/// Java children), up once its health endpoint answers; or the reason it cannot run (printed
/// by the tests as a SKIP line).
pub fn gcloud_emulator(args: &[&str]) -> Result<(Group, String), String> {
    let found = Command::new("sh")
        .args(["-c", "command -v gcloud && command -v java"])
        .output();
    if !found.is_ok_and(|o| o.status.success()) {
        return Err("gcloud or java is not on PATH (Google Cloud SDK with the Datastore/Firestore emulators)".into());
    }
    let port = free_port();
    let host_port = format!("--host-port=127.0.0.1:{port}");
    let child = Command::new("gcloud")
        .args(args)
        .args([host_port.as_str(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("gcloud: {e}"))?;
    let group = Group(child);
    let started = std::time::Instant::now();
    loop {
        let up = Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{port}/")])
            .output();
        if up.is_ok_and(|o| o.status.success()) {
            return Ok((group, format!("127.0.0.1:{port}")));
        }
        if started.elapsed() > std::time::Duration::from_secs(90) {
            return Err(format!(
                "`gcloud {}` did not answer within 90 s",
                args.join(" ")
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A service-account key file whose `token_uri` is `token_uri`: a fresh RSA key from openssl.
/// Returns the file and the key's PEM (to grep for later); `public.pem` lies next to it.
pub fn service_account(dir: &Path, token_uri: &str) -> (PathBuf, String) {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl");
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(pem.contains("BEGIN PRIVATE KEY"), "openssl genpkey failed");
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "sebs-test-project",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "sebs@sebs-test-project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    let path = dir.join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();
    // The public half, for the fake token endpoint to check signatures with.
    let private = dir.join("private.pem");
    std::fs::write(&private, &pem).unwrap();
    let public = dir.join("public.pem");
    let status = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&private).unwrap();
    (path, pem)
}

/// A package as sebs-build lays it out: the SeBS wrapper, the profiler, and a benchmark that
/// writes to and reads from Cloud Storage through the storage shim.
pub fn package(dir: &Path) {
    let runtimes = repo().join("runtimes/python");
    std::fs::create_dir_all(dir.join("function")).unwrap();
    for f in ["handler.py", "faas_profiler_python.py"] {
        std::fs::copy(runtimes.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("function/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("function/function.py"),
        "from . import storage\n\n\ndef handler(event):\n    client = storage.storage.get_instance()\n    client.create_bucket(event['bucket'])\n    key = client.upload_stream(event['bucket'], 'in/data.txt', ('hello ' + event['name']).encode())\n    back = client.download_stream(event['bucket'], key)\n    return {'result': {'echo': back.decode(), 'key': key}}\n",
    )
    .unwrap();
}
