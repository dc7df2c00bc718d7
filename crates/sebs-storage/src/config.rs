//! SeBS's storage configuration JSON (contract §2.4): what `sebs storage start` writes, and what
//! `--storage-configuration` and `deployment.local.storage` accept.
//!
//! ```json
//! { "object": { "type": "minio", "minio": { "address": "127.0.0.1:9011", "access_key": ..., ... } },
//!   "nosql":  { "type": "scylladb", "scylladb": { "address": "127.0.0.1:9012", ... } } }
//! ```
//! `address` is `host:port` (plain HTTP, as SeBS writes it) or a URL with a scheme
//! (`https://s3.eu-west-1.amazonaws.com`), so MinIO, ScyllaDB Alternator, AWS S3 and DynamoDB can
//! all be configured in place of the embedded servers.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Region used for signing when a configuration names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The whole storage configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageConfig {
    /// Object storage (MinIO's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectStorage>,
    /// NoSQL storage (ScyllaDB Alternator's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nosql: Option<NosqlStorage>,
}

/// `{"type": "minio", "minio": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectStorage {
    /// Always `minio` (an S3-compatible endpoint).
    #[serde(rename = "type")]
    pub kind: String,
    /// The endpoint's settings.
    pub minio: MinioConfig,
}

/// `{"type": "scylladb", "scylladb": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NosqlStorage {
    /// Always `scylladb` (a DynamoDB-API endpoint).
    #[serde(rename = "type")]
    pub kind: String,
    /// The endpoint's settings.
    pub scylladb: ScyllaConfig,
}

/// MinIO's configuration fields (SeBS's `MinioConfig`), plus the daemon's pid.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MinioConfig {
    /// `host:port` or a URL.
    pub address: String,
    /// The port the server listens on (0: pick a free one at start).
    pub mapped_port: u16,
    /// SigV4 access key id.
    pub access_key: String,
    /// SigV4 secret key.
    pub secret_key: String,
    /// Identifies the serving process (its pid for `sebs storage start`).
    pub instance_id: String,
    /// Output prefixes handed out so far.
    pub output_buckets: Vec<String>,
    /// Input prefixes handed out so far.
    pub input_buckets: Vec<String>,
    /// Server version.
    pub version: String,
    /// Data directory.
    pub data_volume: String,
    /// Kept for SeBS compatibility (no containers here).
    #[serde(rename = "type")]
    pub kind: String,
    /// Kept for SeBS compatibility (no containers here).
    pub remove_containers: bool,
    /// Signing region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The daemon's process id (`sebs storage start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// ScyllaDB's configuration fields (SeBS's `ScyllaDBConfig`), plus the daemon's pid.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ScyllaConfig {
    /// `host:port` or a URL.
    pub address: String,
    /// The port the server listens on (0: pick a free one at start).
    pub mapped_port: u16,
    /// The DynamoDB-API port inside a ScyllaDB container (8000); informational.
    pub alternator_port: u16,
    /// SigV4 access key id.
    pub access_key: String,
    /// SigV4 secret key.
    pub secret_key: String,
    /// Identifies the serving process (its pid for `sebs storage start`).
    pub instance_id: String,
    /// Signing region.
    pub region: String,
    /// Kept for SeBS compatibility.
    pub cpus: u32,
    /// Kept for SeBS compatibility.
    pub memory: Value,
    /// Server version.
    pub version: String,
    /// Data directory.
    pub data_volume: String,
    /// Kept for SeBS compatibility (no containers here).
    pub remove_containers: bool,
    /// The daemon's process id (`sebs storage start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StorageConfig {
    /// Parse a SeBS storage JSON value; sections other than `object` and `nosql` are refused.
    pub fn from_value(value: &Value) -> Result<Self> {
        let config: StorageConfig = serde_json::from_value(value.clone())
            .context("the storage configuration does not have SeBS's shape {\"object\": {\"type\": \"minio\", \"minio\": {...}}, \"nosql\": {\"type\": \"scylladb\", \"scylladb\": {...}}}")?;
        if let Some(object) = &config.object
            && object.kind != "minio"
        {
            bail!(
                "object storage type `{}` is not supported: use \"minio\" (any S3-compatible endpoint, AWS S3 included)",
                object.kind
            );
        }
        if let Some(nosql) = &config.nosql
            && nosql.kind != "scylladb"
        {
            bail!(
                "NoSQL storage type `{}` is not supported: use \"scylladb\" (any DynamoDB-API endpoint, DynamoDB included)",
                nosql.kind
            );
        }
        Ok(config)
    }

    /// Read a storage JSON file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "failed to read the storage configuration {}",
                path.display()
            )
        })?;
        let value: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "failed to parse the storage configuration {} as JSON",
                path.display()
            )
        })?;
        Self::from_value(&value)
            .with_context(|| format!("invalid storage configuration {}", path.display()))
    }

    /// Fill the sections `other` has and `self` lacks (later files complete earlier ones).
    pub fn merge(&mut self, other: StorageConfig) {
        if other.object.is_some() {
            self.object = other.object;
        }
        if other.nosql.is_some() {
            self.nosql = other.nosql;
        }
    }

    /// The object endpoint, if configured and usable.
    pub fn object_endpoint(&self) -> Result<Option<Endpoint>> {
        let Some(object) = &self.object else {
            return Ok(None);
        };
        let m = &object.minio;
        if m.address.is_empty() {
            bail!(
                "the object storage configuration has no `address`; start it with `sebs storage start object --output-json FILE` and pass that file"
            );
        }
        Ok(Some(Endpoint {
            address: m.address.clone(),
            access_key: m.access_key.clone(),
            secret_key: m.secret_key.clone(),
            region: m.region.clone().unwrap_or_else(|| DEFAULT_REGION.into()),
        }))
    }

    /// The NoSQL endpoint, if configured and usable.
    pub fn nosql_endpoint(&self) -> Result<Option<Endpoint>> {
        let Some(nosql) = &self.nosql else {
            return Ok(None);
        };
        let s = &nosql.scylladb;
        if s.address.is_empty() {
            bail!(
                "the NoSQL configuration has no `address`; start it with `sebs storage start nosql --output-json FILE` and pass that file"
            );
        }
        let region = if s.region.is_empty() || s.region == "None" {
            DEFAULT_REGION.to_owned()
        } else {
            s.region.clone()
        };
        Ok(Some(Endpoint {
            address: s.address.clone(),
            access_key: s.access_key.clone(),
            secret_key: s.secret_key.clone(),
            region,
        }))
    }
}

/// Where a client finds a storage service, and how it signs.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` (HTTP) or a URL.
    pub address: String,
    /// SigV4 access key id.
    pub access_key: String,
    /// SigV4 secret key.
    pub secret_key: String,
    /// Signing region.
    pub region: String,
}

impl std::fmt::Debug for Endpoint {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The environment a function (or the input driver) gets for object storage: SeBS's MinIO
    /// variables plus the signing region.
    pub fn object_env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("MINIO_ADDRESS".into(), self.address.clone()),
            ("MINIO_ACCESS_KEY".into(), self.access_key.clone()),
            ("MINIO_SECRET_KEY".into(), self.secret_key.clone()),
            ("MINIO_REGION".into(), self.region.clone()),
        ])
    }

    /// The environment for NoSQL: SeBS's ScyllaDB variables plus credentials and region.
    pub fn nosql_env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("NOSQL_STORAGE_TYPE".into(), "scylladb".into()),
            ("NOSQL_STORAGE_ENDPOINT".into(), self.address.clone()),
            ("NOSQL_STORAGE_ACCESS_KEY".into(), self.access_key.clone()),
            ("NOSQL_STORAGE_SECRET_KEY".into(), self.secret_key.clone()),
            ("NOSQL_STORAGE_REGION".into(), self.region.clone()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_sebs_output_and_keeps_unknown_fields() {
        let value = json!({
            "object": {"type": "minio", "minio": {"address": "127.0.0.1:9011", "mapped_port": 9011,
                "access_key": "a", "secret_key": "s", "instance_id": "x", "output_buckets": [],
                "input_buckets": [], "version": "v", "data_volume": "minio-volume", "type": "minio",
                "remove_containers": true, "network_name": "bridge"}},
            "nosql": {"type": "scylladb", "scylladb": {"address": "127.0.0.1:9012", "mapped_port": 9012,
                "alternator_port": 8000, "access_key": "None", "secret_key": "None",
                "instance_id": "y", "region": "None", "cpus": 1, "memory": "750",
                "version": "6.0", "data_volume": "scylladb-volume"}}
        });
        let config = StorageConfig::from_value(&value).unwrap();
        assert_eq!(
            config.object.as_ref().unwrap().minio.extra["network_name"],
            "bridge"
        );
        let nosql = config.nosql_endpoint().unwrap().unwrap();
        assert_eq!(nosql.region, DEFAULT_REGION);
        assert_eq!(nosql.address, "127.0.0.1:9012");
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["object"]["minio"]["network_name"], "bridge");
        assert_eq!(back["nosql"]["scylladb"]["alternator_port"], 8000);
    }

    #[test]
    fn refuses_unknown_types_and_missing_addresses() {
        let err = StorageConfig::from_value(&json!({"object": {"type": "azure", "minio": {}}}))
            .unwrap_err();
        assert!(format!("{err:#}").contains("not supported"));
        let config =
            StorageConfig::from_value(&json!({"object": {"type": "minio", "minio": {}}})).unwrap();
        assert!(config.object_endpoint().is_err());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let e = Endpoint {
            address: "a".into(),
            access_key: "AK".into(),
            secret_key: "TOPSECRET".into(),
            region: "r".into(),
        };
        assert!(!format!("{e:?}").contains("TOPSECRET"));
    }
}
