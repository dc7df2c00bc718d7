//! Storage for sebs functions without Docker: an embedded S3 server (s3s-fs, MinIO's role in
//! SeBS) and an embedded DynamoDB-compatible store (dynoxide, ScyllaDB Alternator's role), both
//! bound to 127.0.0.1 and keeping their data in directories that survive restarts; and SeBS's
//! storage configuration JSON, which also points at external endpoints (MinIO, S3, DynamoDB).
//!
//! Clients live in the Python shims (`runtimes/python/storage.py`, `nosql.py`), which the
//! harness's input driver uses as well, so one SigV4 implementation serves functions and harness.
#![warn(missing_docs, rust_2018_idioms)]

pub mod config;
pub mod events;
mod keys;
pub mod mapping;
pub mod nosql;
pub mod object;
pub mod queue;

use std::path::{Path, PathBuf};

use anyhow::Result;
pub use config::{Endpoint, StorageConfig};
pub use nosql::NosqlServer;
pub use object::ObjectServer;
pub use queue::QueueServer;

/// Bind a server to `127.0.0.1:port` (0 picks a free port); a port in use is an error that says
/// what to change. `what` names the server (`object storage`, `NoSQL`).
async fn bind(what: &str, port: u16) -> Result<tokio::net::TcpListener> {
    use anyhow::Context as _;
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!(
                "failed to bind the {what} server to 127.0.0.1:{port}; choose another `mapped_port` (0 picks a free one)"
            )
        })
}

/// Version string written to the configuration's `version` fields.
pub const OBJECT_VERSION: &str = "s3s-fs-0.14.1";
/// Version string of the NoSQL server.
pub const NOSQL_VERSION: &str = "dynoxide-3.2.0";

/// A SigV4 key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (20 upper-case alphanumerics, like AWS's).
    pub access_key: String,
    /// Secret key (40 characters).
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A fresh random key pair (from the operating system's random source).
    pub fn generate() -> Self {
        let hex = |n: usize| -> String {
            let mut s = String::new();
            while s.len() < n {
                s.push_str(&uuid::Uuid::new_v4().simple().to_string());
            }
            s.truncate(n);
            s
        };
        Credentials {
            access_key: format!("SEBS{}", hex(16).to_ascii_uppercase()),
            secret_key: hex(40),
        }
    }
}

/// Which services to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    /// The S3 server.
    pub object: bool,
    /// The DynamoDB-API server.
    pub nosql: bool,
}

impl Services {
    /// Object storage only.
    pub const OBJECT: Services = Services {
        object: true,
        nosql: false,
    };
    /// NoSQL only.
    pub const NOSQL: Services = Services {
        object: false,
        nosql: true,
    };
}

/// Where and how to run the embedded services.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Object data directory (SeBS's `data_volume`, default `minio-volume`).
    pub object_dir: PathBuf,
    /// Object port (0: a free one).
    pub object_port: u16,
    /// NoSQL data directory (default `scylladb-volume`).
    pub nosql_dir: PathBuf,
    /// NoSQL port (0: a free one).
    pub nosql_port: u16,
    /// Object storage credentials (the NoSQL store gets its own pair).
    pub credentials: Credentials,
}

impl EmbeddedOptions {
    /// Both data directories under `root`, free ports, fresh credentials.
    pub fn under(root: &Path) -> Self {
        EmbeddedOptions {
            object_dir: root.join("minio-volume"),
            object_port: 0,
            nosql_dir: root.join("scylladb-volume"),
            nosql_port: 0,
            credentials: Credentials::generate(),
        }
    }
}

/// Embedded servers running in this process.
pub struct EmbeddedStorage {
    object: Option<ObjectServer>,
    nosql: Option<NosqlServer>,
    config: StorageConfig,
}

impl EmbeddedStorage {
    /// Start the requested services.
    pub async fn start(services: Services, options: &EmbeddedOptions) -> Result<Self> {
        let pid = std::process::id();
        let mut config = StorageConfig::default();
        let object = if services.object {
            let server = ObjectServer::start(
                &options.object_dir,
                options.object_port,
                &options.credentials,
            )
            .await?;
            config.object = Some(config::ObjectStorage {
                kind: "minio".into(),
                minio: config::MinioConfig {
                    address: server.addr().to_string(),
                    mapped_port: server.addr().port(),
                    access_key: options.credentials.access_key.clone(),
                    secret_key: options.credentials.secret_key.clone(),
                    instance_id: pid.to_string(),
                    version: OBJECT_VERSION.into(),
                    data_volume: server.data_dir().display().to_string(),
                    kind: "minio".into(),
                    remove_containers: true,
                    region: Some(config::DEFAULT_REGION.into()),
                    pid: Some(pid),
                    ..Default::default()
                },
            });
            Some(server)
        } else {
            None
        };
        let nosql = if services.nosql {
            let server = match NosqlServer::start(&options.nosql_dir, options.nosql_port).await {
                Ok(server) => server,
                Err(e) => {
                    if let Some(object) = object {
                        object.shutdown().await;
                    }
                    return Err(e);
                }
            };
            let keys = Credentials::generate();
            config.nosql = Some(config::NosqlStorage {
                kind: "scylladb".into(),
                scylladb: config::ScyllaConfig {
                    address: server.addr().to_string(),
                    mapped_port: server.addr().port(),
                    alternator_port: server.addr().port(),
                    access_key: keys.access_key,
                    secret_key: keys.secret_key,
                    instance_id: pid.to_string(),
                    region: config::DEFAULT_REGION.into(),
                    cpus: 1,
                    memory: serde_json::Value::Null,
                    version: NOSQL_VERSION.into(),
                    data_volume: std::path::absolute(&options.nosql_dir)?
                        .display()
                        .to_string(),
                    remove_containers: true,
                    pid: Some(pid),
                    ..Default::default()
                },
            });
            Some(server)
        } else {
            None
        };
        Ok(EmbeddedStorage {
            object,
            nosql,
            config,
        })
    }

    /// The SeBS-shaped configuration of what runs (credentials included: keep it out of logs).
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// Stop everything.
    pub async fn shutdown(self) {
        if let Some(object) = self.object {
            object.shutdown().await;
        }
        if let Some(nosql) = self.nosql {
            nosql.shutdown().await;
        }
    }
}
