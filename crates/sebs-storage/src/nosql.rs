//! The embedded DynamoDB-compatible store: dynoxide on SQLite, served over HTTP on 127.0.0.1.
//!
//! Like ScyllaDB Alternator in its default configuration, dynoxide checks that requests carry
//! SigV4 authentication material but does not verify the signature.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The SQLite file inside the NoSQL data directory.
pub const DATABASE_FILE: &str = "dynoxide.db";

/// A running embedded DynamoDB-API server.
pub struct NosqlServer {
    addr: SocketAddr,
    database: PathBuf,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl NosqlServer {
    /// Start serving the database in `data_dir` (created if missing) on `127.0.0.1:port`
    /// (0 picks a free port).
    pub async fn start(data_dir: &Path, port: u16) -> Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| {
            format!(
                "failed to create the NoSQL data directory {}",
                data_dir.display()
            )
        })?;
        let database = std::path::absolute(data_dir)?.join(DATABASE_FILE);
        let path = database
            .to_str()
            .context("the NoSQL data directory path is not valid UTF-8; choose another one")?;
        let db = dynoxide::Database::new(path).map_err(|e| {
            anyhow::anyhow!(
                "failed to open the NoSQL database {}: {e}; remove it if it is corrupt",
                database.display()
            )
        })?;
        let listener = crate::bind("NoSQL", port).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.changed().await;
            };
            if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, shutdown).await {
                tracing::warn!("NoSQL server stopped: {e}");
            }
        });
        tracing::debug!(
            "NoSQL (DynamoDB API) listening on http://{addr}, database {}",
            database.display()
        );
        Ok(Self {
            addr,
            database,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SQLite database file.
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// Stop the server and wait (at most 5 s) for open requests to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}
