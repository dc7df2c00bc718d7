//! Azurite's Blob service (npm `azurite`) on a free port with its data in a temporary directory, killed when
//! dropped.

use std::time::Duration;

/// A running Azurite Blob service.
pub struct Azurite {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Azurite {
    /// Start Azurite for `accounts` (`name:base64key;...`, Azurite's `AZURITE_ACCOUNTS`).
    pub fn start(accounts: &str, dir: &std::path::Path) -> Azurite {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        std::fs::create_dir_all(dir).unwrap();
        let child = std::process::Command::new("azurite-blob")
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--silent", "--skipApiVersionCheck", "--location"])
            .arg(dir)
            .env("AZURITE_ACCOUNTS", accounts)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("azurite-blob is installed (npm install -g azurite, see .ci/run)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "Azurite did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Azurite { child, url }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
