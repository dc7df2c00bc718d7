//! The schema and its versioned migrations. `schema_version` holds one row per migration
//! applied; a store is migrated forward, one version at a time, each in its own transaction, when
//! it is opened. The tables are documented in `docs/stability.md` ("The schema").

use anyhow::{Context, Result, bail};

use crate::backend::{Cell, Conn, Dialect, Val};

/// A migration: the version it brings the store to, what it does, and its statements (`{pk}`
/// is the dialect's auto-numbered key).
pub struct Migration {
    /// The version after it.
    pub version: i64,
    /// One line for `schema_version.description` and `sebs db migrate`.
    pub description: &'static str,
    /// The statements, separated by `;`.
    pub sql: &'static str,
}

/// v1: the results (platforms, configurations, runs, invocations, provider metrics, failures).
const V1: &str = "
CREATE TABLE platforms (
    id {pk},
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    UNIQUE (name, region)
);
CREATE TABLE configurations (
    id {pk},
    digest TEXT NOT NULL UNIQUE,
    benchmark TEXT NOT NULL,
    function_name TEXT NOT NULL,
    label TEXT NOT NULL,
    memory_mb BIGINT,
    language TEXT NOT NULL,
    language_version TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE runs (
    id {pk},
    digest TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    platform_id BIGINT NOT NULL REFERENCES platforms (id),
    started DOUBLE PRECISION,
    ended DOUBLE PRECISION,
    imported_at TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE invocations (
    id {pk},
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    configuration_id BIGINT NOT NULL REFERENCES configurations (id),
    seq BIGINT NOT NULL,
    begin_s DOUBLE PRECISION,
    client_us BIGINT NOT NULL,
    benchmark_us BIGINT NOT NULL,
    compute_us DOUBLE PRECISION,
    download_us DOUBLE PRECISION,
    upload_us DOUBLE PRECISION,
    cold BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    invalid BIGINT NOT NULL
);
CREATE INDEX invocations_run ON invocations (run_id, configuration_id, seq);
CREATE TABLE provider_metrics (
    invocation_id BIGINT PRIMARY KEY REFERENCES invocations (id) ON DELETE CASCADE,
    execution_us BIGINT NOT NULL,
    init_us BIGINT NOT NULL,
    billed_gb_seconds DOUBLE PRECISION,
    memory_mb BIGINT NOT NULL
);
CREATE TABLE failures (
    id {pk},
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    configuration_id BIGINT NOT NULL REFERENCES configurations (id),
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    request_id TEXT NOT NULL
)";

/// v2: scheduled studies and their slots; a run may belong to a slot.
const V2: &str = "
CREATE TABLE studies (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    suite TEXT NOT NULL,
    suite_digest TEXT NOT NULL,
    start_s DOUBLE PRECISION NOT NULL,
    every_s DOUBLE PRECISION NOT NULL,
    slots BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE slots (
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    slot BIGINT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    claimed_s DOUBLE PRECISION NOT NULL,
    finished_s DOUBLE PRECISION,
    note TEXT NOT NULL,
    PRIMARY KEY (study_id, slot)
);
ALTER TABLE runs ADD COLUMN study_id BIGINT REFERENCES studies (id);
ALTER TABLE runs ADD COLUMN slot BIGINT;
CREATE INDEX runs_study_slot ON runs (study_id, slot)";

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "results: platforms, configurations, runs, invocations, provider metrics, failures",
        sql: V1,
    },
    Migration {
        version: 2,
        description: "scheduled studies and their slots; runs.study_id and runs.slot",
        sql: V2,
    },
];

/// The newest schema version this build knows.
pub const LATEST: i64 = 2;

/// The store's schema version (0: empty).
pub(crate) fn version(conn: &mut Conn) -> Result<i64> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version BIGINT PRIMARY KEY,
            applied_at TEXT NOT NULL,
            description TEXT NOT NULL)",
    )?;
    let rows = conn.query("SELECT MAX(version) FROM schema_version", &[])?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(Cell::as_i64)
        .unwrap_or(0))
}

/// Migrate to `target` (at most [`LATEST`]); returns the versions before and after.
pub(crate) fn migrate_to(conn: &mut Conn, target: i64) -> Result<(i64, i64)> {
    if !(1..=LATEST).contains(&target) {
        bail!("schema version {target} does not exist: this build knows versions 1 to {LATEST}");
    }
    let before = version(conn)?;
    if before > LATEST {
        bail!(
            "the store's schema is version {before}, newer than this build of sebs knows ({LATEST}): upgrade sebs to use it"
        );
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version <= target) {
        conn.transaction(|tx| {
            if tx.dialect() == Dialect::Postgres {
                // Two processes opening a new store at once: one migrates, the other waits.
                tx.batch("SELECT pg_advisory_xact_lock(5358)")?;
            }
            // Re-read inside the transaction: another process may have applied it meanwhile.
            if version(tx)? >= migration.version {
                return Ok(());
            }
            tx.batch(migration.sql).with_context(|| {
                format!(
                    "failed to migrate the store to schema version {}",
                    migration.version
                )
            })?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)",
                &[
                    Val::int(migration.version),
                    Val::text(chrono::Utc::now().to_rfc3339()),
                    Val::text(migration.description),
                ],
            )?;
            Ok(())
        })?;
    }
    Ok((before, version(conn)?.max(before)))
}
