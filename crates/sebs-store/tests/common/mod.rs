//! Test helpers: a throw-away PostgreSQL cluster in a temporary directory on a free port.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The PostgreSQL server binaries, where installed (Debian keeps them under a versioned
/// directory; some installs put them on PATH).
fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|v| v.join("bin").join(name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A PostgreSQL cluster of its own, stopped and deleted on drop.
pub struct PgCluster {
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    /// `postgres://sebs@127.0.0.1:PORT/postgres`.
    pub url: String,
}

/// As root, the server refuses to run: it runs as the `postgres` user (or `nobody`).
fn as_server_user(program: &Path) -> Command {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Command::new(program);
    }
    let user = if Command::new("id")
        .arg("postgres")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        "postgres"
    } else {
        "nobody"
    };
    let mut command = Command::new("runuser");
    command.args(["-u", user, "--"]).arg(program);
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl PgCluster {
    /// Start a cluster, or `None` (with a visible SKIP line) when PostgreSQL is not installed.
    pub fn start(test: &str) -> Option<PgCluster> {
        let (Some(initdb), Some(pg_ctl)) = (pg_bin("initdb"), pg_bin("pg_ctl")) else {
            eprintln!("SKIP {test}: PostgreSQL server binaries (initdb, pg_ctl) are not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("sebs-pg-")
            .tempdir()
            .unwrap();
        if unsafe { libc::getuid() } == 0 {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            if !status.success() {
                Command::new("chmod")
                    .arg("777")
                    .arg(dir.path())
                    .status()
                    .unwrap();
            }
        }
        let data = dir.path().join("data");
        let out = as_server_user(&initdb)
            .args(["-D"])
            .arg(&data)
            .args(["-U", "sebs", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A port taken between choosing and binding: try again with another.
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
                dir.path().display()
            );
            let started = as_server_user(&pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(dir.path().join("log"))
                .args(["-w", "-t", "60", "start"])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            if started.success() {
                return Some(PgCluster {
                    url: format!("postgres://sebs@127.0.0.1:{port}/postgres"),
                    dir,
                    pg_ctl,
                });
            }
        }
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start: {log}");
    }

    /// A new, empty database in the cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url.replace("/postgres", &format!("/{name}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
