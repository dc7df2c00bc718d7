//! moto_server for the tests of this crate: started on a free port, configured, killed when
//! dropped; and the test credentials.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// moto_server on a free port, killed when dropped.
pub struct Moto {
    child: std::process::Child,
    /// The endpoint URL.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto_server with Lambda keeping functions as records (no Docker).
pub async fn start_moto() -> Option<Moto> {
    start_moto_with(serde_json::json!({"lambda": {"use_docker": false}})).await
}

/// moto_server with `config` posted to its `/moto-api/config`.
pub async fn start_moto_with(config: serde_json::Value) -> Option<Moto> {
    let have = std::process::Command::new("python3")
        .args(["-c", "import moto.server, flask"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let url = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, url };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            let status = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import sys,urllib.request;urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/config',data=sys.argv[2].encode(),headers={'Content-Type':'application/json'}))",
                    &moto.url,
                    &config.to_string(),
                ])
                .status()
                .unwrap();
            assert!(status.success(), "moto accepts its config");
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start on port {port}");
}

/// The test credentials and region, and no profile files: set once for every test of this
/// file (they run in parallel threads of one process), before anything reads the environment.
pub fn aws_test_env() {
    static ENV: std::sync::Once = std::sync::Once::new();
    ENV.call_once(|| {
        let none = std::env::temp_dir().join(format!("sebs-moto-{}-none", std::process::id()));
        // SAFETY: under the `Once`, before any test of this file reads the environment.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing-key");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing-secret-not-logged");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_CONFIG_FILE", none.join("config"));
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", none.join("credentials"));
            std::env::remove_var("AWS_PROFILE");
        }
    });
}

/// An AWS backend pointed at moto under resource id `id`, with its config file and cache in
/// `dir`.
pub struct OnMoto {
    /// The config file.
    pub config: PathBuf,
    /// The cache directory.
    pub cache: PathBuf,
    /// Run options naming both and the repository's benchmarks.
    pub options: sebs_platforms::RunOptions,
    /// `deployment.aws` as read from the config.
    pub aws: Option<sebs_core::config::AwsConfig>,
    /// The backend.
    pub backend: sebs_aws::AwsBackend,
}

/// See [`OnMoto`].
pub fn on_moto(dir: &Path, url: &str, id: &str) -> OnMoto {
    let config = dir.join("config.json");
    let document = serde_json::json!({"deployment": {"name": "aws", "aws": {
        "endpoint-url": url, "resources": {"resources_id": id}}}});
    std::fs::write(&config, document.to_string()).unwrap();
    let cache = dir.join("cache");
    let options = sebs_platforms::RunOptions {
        config: Some(config.clone()),
        cache_dir: cache.clone(),
        benchmarks_dir: Some(repo().join("benchmarks")),
        ..sebs_platforms::RunOptions::default()
    };
    let aws = sebs_platforms::settings::load_config(Some(&config))
        .unwrap()
        .deployment
        .aws;
    let backend = sebs_aws::AwsBackend::new(aws.as_ref(), &cache).unwrap();
    OnMoto {
        config,
        cache,
        options,
        aws,
        backend,
    }
}
