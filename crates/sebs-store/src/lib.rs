//! The results store of `sebs`: every run recorded in a database (SQLite by default, one file
//! and no set-up; PostgreSQL through a `postgres://` URL for a store shared by a team), in
//! tables of platforms, configurations, runs, invocations, provider metrics and failures, plus
//! the studies and slots of scheduled runs (`sebs stability run`).
//!
//! - [`Store::open`] connects and migrates the schema forward ([`schema`]).
//! - [`Store::import`] records a results directory, read by `sebs_report`'s streaming readers
//!   (`rundir`, `dataset`): the one code path of `sebs db import` and of `--store` recording.
//! - [`Store::run_groups`] reads a run's invocations back as `sebs_report` groups.
//! - [`Store::query`] runs a user's SQL ([`query`] formats the result).
//! - [`schedule`]: a study's slots, claimed atomically, resumable after a crash.
//! - [`Store::study_series`]: a study's invocations as `sebs_stability` series.
#![warn(missing_docs, rust_2018_idioms)]

pub mod backend;
mod import;
pub mod query;
mod read;
pub mod schedule;
pub mod schema;
mod series;

use anyhow::{Context, Result};

pub use backend::{Cell, Dialect, Location, Val};
pub use import::{Imported, RunTags, benchmark_of};
pub use query::QueryResult;
pub use read::StoredRun;

use backend::Conn;

/// The environment variable naming the store when `--store` is not given.
pub const STORE_ENV: &str = "SEBS_STORE";

/// An open, migrated store.
pub struct Store {
    conn: Conn,
    location: Location,
}

impl Store {
    /// Open the store at `url` (a SQLite path, `sqlite:PATH` or `postgres://...`) and migrate
    /// its schema to the latest version.
    pub fn open(url: &str) -> Result<Store> {
        let mut store = Store::open_unmigrated(url)?;
        store.migrate_to(schema::LATEST)?;
        Ok(store)
    }

    /// Open without migrating (for `sebs db migrate --to` and tests of migrations).
    pub fn open_unmigrated(url: &str) -> Result<Store> {
        let location = Location::parse(url)?;
        let conn = Conn::open(&location)?;
        Ok(Store { conn, location })
    }

    /// Where the store is, for messages (no password).
    pub fn describe(&self) -> String {
        self.location.describe()
    }

    /// The database kind.
    pub fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// The schema version (0: empty).
    pub fn version(&mut self) -> Result<i64> {
        schema::version(&mut self.conn)
    }

    /// Migrate to schema version `target`; returns the versions before and after.
    pub fn migrate_to(&mut self, target: i64) -> Result<(i64, i64)> {
        let description = self.describe();
        schema::migrate_to(&mut self.conn, target)
            .with_context(|| format!("failed to migrate the store {description}"))
    }

    /// Run one SQL statement a user wrote and return its columns and rows.
    pub fn query(&mut self, sql: &str) -> Result<QueryResult> {
        let (columns, rows) = self
            .conn
            .user_query(sql)
            .with_context(|| format!("the query failed on {}", self.location.describe()))?;
        Ok(QueryResult { columns, rows })
    }

    /// One statement with parameters (`?`), for the store's own modules and tests.
    pub fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        self.conn.execute(sql, params)
    }

    /// Rows of one statement with parameters (`?`).
    pub fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Cell>>> {
        self.conn.query(sql, params)
    }
}

/// The store named by `--store`, else `SEBS_STORE`, else the config file's `store` key
/// (`config_store`); `None` when none is given (recording is opt-in).
pub fn store_url(flag: Option<&str>, config_store: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| {
            std::env::var(STORE_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| config_store.map(str::to_owned))
}
