//! `sebs db ...` (import, query, migrate) and the recording of every run in a store given by
//! `--store`, `SEBS_STORE` or the config's `store` key: both import through
//! `sebs_store::Store::import`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use sebs_store::{RunTags, Store};

/// The store a `db` or `stability` command uses when none is named: a SQLite file here.
pub const DEFAULT_STORE: &str = "sebs-results.db";

static STORE_FLAG: OnceLock<Option<String>> = OnceLock::new();

/// Remember the global `--store` flag (called once, before dispatch).
pub fn set_store_flag(flag: Option<String>) {
    let _ = STORE_FLAG.set(flag);
}

fn store_flag() -> Option<&'static str> {
    STORE_FLAG.get().and_then(|f| f.as_deref())
}

/// The `store` key of a config file, when the file names one.
fn config_store(config: Option<&Path>) -> Result<Option<String>> {
    match config {
        Some(path) => Ok(sebs_core::config::UserConfig::load(path)?.config.store),
        None => Ok(None),
    }
}

/// The store runs are recorded in (`--store`, `SEBS_STORE`, the config's `store`); `None`
/// when recording is off.
pub fn recording_store(config: Option<&Path>) -> Result<Option<String>> {
    if let Some(url) = sebs_store::store_url(store_flag(), None) {
        return Ok(Some(url));
    }
    config_store(config)
}

/// The store of a `db` or `stability` command: as [`recording_store`], else [`DEFAULT_STORE`].
pub fn open_store(config: Option<&Path>) -> Result<Store> {
    let url = recording_store(config)?.unwrap_or_else(|| DEFAULT_STORE.to_owned());
    tokio::task::block_in_place(|| Store::open(&url))
}

/// Record the results directory `dir` a command just wrote, when a store is configured.
pub fn record(config: Option<&Path>, dir: &Path) -> Result<()> {
    let Some(url) = recording_store(config)? else {
        return Ok(());
    };
    let imported = tokio::task::block_in_place(|| -> Result<_> {
        let mut store = Store::open(&url)?;
        let imported = store.import(dir, &RunTags::default())?;
        Ok((store.describe(), imported))
    })
    .with_context(|| {
        format!(
            "the results are kept in {}: record them later with `sebs db import {} --store URL`",
            dir.display(),
            dir.display()
        )
    })?;
    let (store, runs) = imported;
    let invocations: usize = runs.iter().map(|r| r.invocations).sum();
    tracing::info!(
        "recorded {} run(s), {invocations} invocations, in {store}",
        runs.len()
    );
    Ok(())
}

/// `sebs db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Record results directories in the store: any command's --output-dir, a directory of
    /// them, or a result file (SeBS's experiments.json included). A run already recorded is
    /// skipped.
    #[command(after_help = "Docs: docs/db.md")]
    Import(ImportArgs),
    /// Run one SQL statement on the store and print its rows.
    #[command(after_help = "Docs: docs/db.md (the schema: docs/stability.md)")]
    Query(QueryArgs),
    /// Migrate the store's schema to the latest version (stores are also migrated when opened).
    #[command(after_help = "Docs: docs/db.md")]
    Migrate(MigrateArgs),
}

/// `sebs db import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Results directories or result files.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// SeBS user config whose `store` key names the store (when --store and SEBS_STORE are unset).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How `sebs db query` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `sebs db query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL statement (SQLite's or PostgreSQL's dialect, as the store is).
    pub sql: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
    /// SeBS user config whose `store` key names the store.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `sebs db migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Migrate only up to this schema version.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    /// SeBS user config whose `store` key names the store.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Run a `db` command.
pub fn run(command: DbCommand) -> Result<i32> {
    match command {
        DbCommand::Import(args) => {
            let mut store = open_store(args.config.as_deref())?;
            for dir in &args.dirs {
                let runs = tokio::task::block_in_place(|| store.import(dir, &RunTags::default()))?;
                for run in runs {
                    let state = if run.already {
                        "already recorded".to_owned()
                    } else {
                        format!("{} invocations", run.invocations)
                    };
                    println!(
                        "{}\t{}\trun {}\t{state}",
                        run.source.display(),
                        run.kind,
                        run.run_id
                    );
                }
            }
            Ok(0)
        }
        DbCommand::Query(args) => {
            let mut store = open_store(args.config.as_deref())?;
            let result = tokio::task::block_in_place(|| store.query(&args.sql))?;
            print!(
                "{}",
                match args.format {
                    QueryFormat::Table => result.table(),
                    QueryFormat::Csv => result.csv(),
                    QueryFormat::Json => result.json(),
                }
            );
            Ok(0)
        }
        DbCommand::Migrate(args) => {
            let url = recording_store(args.config.as_deref())?
                .unwrap_or_else(|| DEFAULT_STORE.to_owned());
            let (before, after, name) = tokio::task::block_in_place(|| -> Result<_> {
                let mut store = Store::open_unmigrated(&url)?;
                let (before, after) =
                    store.migrate_to(args.to.unwrap_or(sebs_store::schema::LATEST))?;
                Ok((before, after, store.describe()))
            })?;
            println!("{name}: schema version {after} (was {before})");
            Ok(0)
        }
    }
}
