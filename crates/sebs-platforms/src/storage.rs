//! Storage for `benchmark invoke`: the configured endpoints (`--storage-configuration`,
//! `deployment.local.storage`) or, for what is not configured, the embedded servers started in
//! this process; the benchmark data directory; and what functions and the input driver get.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sebs_core::catalogue::{Benchmark, DriverStorage};
use sebs_storage::{EmbeddedOptions, EmbeddedStorage, Services, StorageConfig};

use crate::platform::Platform;
use crate::settings::Settings;

/// The benchmarks bucket of a deployment (SeBS: `sebs-benchmarks-{resources_id}`).
pub fn benchmarks_bucket(resources_id: &str) -> String {
    format!("sebs-benchmarks-{resources_id}")
}

/// Storage prepared for one benchmark run.
pub struct RunStorage {
    embedded: Option<EmbeddedStorage>,
    /// Endpoint and credential variables for the input driver (never logged).
    env: BTreeMap<String, String>,
    /// The same for the functions (never logged).
    function_env: BTreeMap<String, String>,
    shim_dir: PathBuf,
    update_storage: bool,
    resources_id: String,
}

impl RunStorage {
    /// Resolve the storage `benchmark` needs (`modules` in its config.json); `None` if none.
    /// `shared` is storage already running for several runs (the regression's): its sections
    /// replace those of the config file and `files`. Embedded servers are started only for what
    /// none of them covers.
    pub async fn prepare(
        settings: &Settings,
        benchmark: &Benchmark,
        files: &[PathBuf],
        shared: Option<&StorageConfig>,
        platform: &dyn Platform,
    ) -> Result<Option<RunStorage>> {
        let needs = Services {
            object: benchmark.uses_module("storage"),
            nosql: benchmark.uses_module("nosql"),
        };
        if !needs.object && !needs.nosql {
            return Ok(None);
        }
        let resources_id = platform.resources_id();
        let shim_dir = settings.cache_dir.join("runtime/python");
        if let Some(provided) = platform.storage(needs.object, needs.nosql).await? {
            tracing::info!("storage: the {} platform's own", platform.name());
            // A platform's own shims live apart, so runs on other platforms keep sebs's.
            let shims = platform.driver_shims();
            let shim_dir = match &shims {
                Some(_) => settings
                    .cache_dir
                    .join(format!("runtime/python-{}", platform.name())),
                None => shim_dir,
            };
            sebs_build::write_python_shims(&shim_dir)?;
            for (name, source) in shims.unwrap_or_default() {
                std::fs::write(shim_dir.join(name), source)?;
            }
            return Ok(Some(RunStorage {
                embedded: None,
                env: provided.driver_env,
                function_env: provided.function_env,
                shim_dir: std::path::absolute(shim_dir)?,
                update_storage: settings.config.experiments.update_storage,
                resources_id: resources_id.to_owned(),
            }));
        }
        let mut configured = StorageConfig::default();
        if let Some(value) = &settings.config.deployment.local.storage
            && value.as_object().is_some_and(|o| !o.is_empty())
        {
            configured = StorageConfig::from_value(value)
                .context("invalid deployment.local.storage in the config file")?;
        }
        for file in files {
            configured.merge(StorageConfig::load(file)?);
        }
        if let Some(shared) = shared {
            configured.merge(shared.clone());
        }
        let mut env = BTreeMap::new();
        let mut embed = Services {
            object: false,
            nosql: false,
        };
        if needs.object {
            match configured.object_endpoint()? {
                Some(e) => {
                    tracing::info!("object storage: {} (configured)", e.address);
                    env.extend(e.object_env());
                }
                None => embed.object = true,
            }
        }
        if needs.nosql {
            match configured.nosql_endpoint()? {
                Some(e) => {
                    tracing::info!("NoSQL storage: {} (configured)", e.address);
                    env.extend(e.nosql_env());
                }
                None => embed.nosql = true,
            }
        }
        let embedded = if embed.object || embed.nosql {
            let root = settings.cache_dir.join("storage");
            let storage = EmbeddedStorage::start(embed, &EmbeddedOptions::under(&root))
                .await
                .context("failed to start the embedded storage; or start it with `sebs storage start all --output-json s.json` and pass `--storage-configuration s.json`")?;
            let config = storage.config();
            if let Some(e) = config.object_endpoint()? {
                tracing::info!(
                    "object storage: embedded S3 on {}, data in {}",
                    e.address,
                    root.join("minio-volume").display()
                );
                env.extend(e.object_env());
            }
            if let Some(e) = config.nosql_endpoint()? {
                tracing::info!(
                    "NoSQL storage: embedded DynamoDB API on {}, data in {}",
                    e.address,
                    root.join("scylladb-volume").display()
                );
                env.extend(e.nosql_env());
            }
            Some(storage)
        } else {
            None
        };
        sebs_build::write_python_shims(&shim_dir)?;
        Ok(Some(RunStorage {
            embedded,
            function_env: env.clone(),
            env,
            shim_dir: std::path::absolute(shim_dir)?,
            update_storage: settings.config.experiments.update_storage,
            resources_id: resources_id.to_owned(),
        }))
    }

    /// What the input driver needs to upload, create tables and validate.
    pub fn driver(&self) -> DriverStorage<'_> {
        DriverStorage {
            shim_dir: &self.shim_dir,
            env: &self.env,
            update_storage: self.update_storage,
            resources_id: &self.resources_id,
        }
    }

    /// The function's environment: endpoints, credentials and `NOSQL_STORAGE_TABLE_*`.
    pub fn function_env(&self, tables: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut env = self.function_env.clone();
        for (logical, physical) in tables {
            env.insert(format!("NOSQL_STORAGE_TABLE_{logical}"), physical.clone());
        }
        env
    }

    /// Stop the embedded servers, if any.
    pub async fn shutdown(self) {
        if let Some(embedded) = self.embedded {
            embedded.shutdown().await;
        }
    }
}

/// The benchmarks-data directory of `benchmark` (`<root>/<group>/<id>`), generating the default
/// tree on first use when no `--data-dir` is given. `None` for benchmarks that need no data.
pub async fn data_dir(settings: &Settings, benchmark: &Benchmark) -> Result<Option<PathBuf>> {
    if !benchmark.uses_module("storage") {
        return Ok(None);
    }
    let root = match &settings.data_dir {
        Some(dir) => {
            if !dir.is_dir() {
                anyhow::bail!(
                    "--data-dir {} is not a directory; pass a benchmarks-data checkout or a tree from `sebs data generate --dir DIR`",
                    dir.display()
                );
            }
            dir.clone()
        }
        None => {
            let dir = settings.cache_dir.join("benchmarks-data");
            ensure_generated(&dir, sebs_data::DEFAULT_SEED).await?;
            dir
        }
    };
    Ok(Some(std::path::absolute(
        root.join(&benchmark.group).join(&benchmark.id),
    )?))
}

/// Generate the default data tree under `dir` unless it is complete.
pub async fn ensure_generated(dir: &Path, seed: u64) -> Result<()> {
    if sebs_data::is_complete(dir, seed) {
        return Ok(());
    }
    tracing::info!(
        "generating benchmark data (seed {seed}) in {}; done once",
        dir.display()
    );
    let owned = dir.to_owned();
    let started = std::time::Instant::now();
    let summary = tokio::task::spawn_blocking(move || sebs_data::generate(&owned, seed))
        .await?
        .with_context(|| format!("failed to generate benchmark data in {}", dir.display()))?;
    tracing::info!(
        "generated {} files ({}) in {:.1} s",
        summary.files,
        sebs_core::fsutil::human_size(summary.bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
