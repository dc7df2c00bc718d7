//! Reading runs back: the runs recorded, and a run's invocations as `sebs_report` groups (the
//! same model the files give, so every statistic is computed by one implementation).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use sebs_report::dataset::{Failure, Group, Sample};

use crate::Store;
use crate::backend::{Cell, Val};

/// A run in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// `runs.id`.
    pub id: i64,
    /// The command that wrote it.
    pub kind: String,
    /// The directory it was imported from.
    pub source: String,
    /// `platforms.name`.
    pub platform: String,
    /// Invocations recorded.
    pub invocations: i64,
    /// The study and slot, for a scheduled run.
    pub slot: Option<(i64, i64)>,
}

const SAMPLE_COLUMNS: &str = "c.function_name, c.label, c.memory_mb, i.begin_s, i.client_us, i.benchmark_us, p.execution_us, p.init_us, i.compute_us, i.download_us, i.upload_us, p.billed_gb_seconds, p.memory_mb, i.cold, i.failed, i.invalid";

/// A sample from a row of [`SAMPLE_COLUMNS`] (from `begin_s` on).
pub(crate) fn sample_of(row: &[Cell]) -> Sample {
    let micros = |c: &Cell| c.as_i64().unwrap_or(0).clamp(0, u32::MAX.into()) as u32;
    let flag = |c: &Cell| c.as_i64().unwrap_or(0) != 0;
    Sample {
        begin: row[0].as_f64(),
        client: micros(&row[1]),
        benchmark: micros(&row[2]),
        provider: micros(&row[3]),
        init: micros(&row[4]),
        compute: row[5].as_f64(),
        download: row[6].as_f64(),
        upload: row[7].as_f64(),
        gb_seconds: row[8].as_f64(),
        memory_mb: micros(&row[9]),
        cold: flag(&row[10]),
        failed: flag(&row[11]),
        invalid: flag(&row[12]),
    }
}

impl Store {
    /// Every run recorded, oldest first.
    pub fn runs(&mut self) -> Result<Vec<StoredRun>> {
        let rows = self.conn.query(
            "SELECT r.id, r.kind, r.source, p.name, r.study_id, r.slot,
                    (SELECT COUNT(*) FROM invocations i WHERE i.run_id = r.id)
             FROM runs r JOIN platforms p ON p.id = r.platform_id ORDER BY r.id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredRun {
                id: r[0].as_i64().unwrap_or(0),
                kind: r[1].as_text(),
                source: r[2].as_text(),
                platform: r[3].as_text(),
                slot: r[4].as_i64().zip(r[5].as_i64()),
                invocations: r[6].as_i64().unwrap_or(0),
            })
            .collect())
    }

    /// A run's invocations as groups (by configuration, in recorded order), with the failures
    /// kept for it (the first 50 of each group, as the files' reader keeps them).
    pub fn run_groups(&mut self, run_id: i64) -> Result<Vec<Group>> {
        let sql = format!(
            "SELECT c.id, {SAMPLE_COLUMNS}
             FROM invocations i JOIN configurations c ON c.id = i.configuration_id
             LEFT JOIN provider_metrics p ON p.invocation_id = i.id
             WHERE i.run_id = ? ORDER BY i.seq"
        );
        let rows = self.conn.query(&sql, &[Val::int(run_id)])?;
        if rows.is_empty() && !self.run_exists(run_id)? {
            bail!(
                "no run {run_id} in the store: `sebs db query 'SELECT id, kind, source FROM runs'` lists them"
            );
        }
        let mut order: Vec<i64> = Vec::new();
        let mut groups: BTreeMap<i64, Group> = BTreeMap::new();
        for row in &rows {
            let configuration = row[0].as_i64().unwrap_or(0);
            let group = groups.entry(configuration).or_insert_with(|| {
                order.push(configuration);
                Group {
                    function: row[1].as_text(),
                    configuration: row[2].as_text(),
                    memory_mb: row[3].as_i64().map(|m| m as u64),
                    ..Group::default()
                }
            });
            group.samples.push(sample_of(&row[4..]));
        }
        let failures = self.conn.query(
            "SELECT configuration_id, kind, message, request_id FROM failures WHERE run_id = ? ORDER BY id",
            &[Val::int(run_id)],
        )?;
        for f in &failures {
            if let Some(group) = groups.get_mut(&f[0].as_i64().unwrap_or(0)) {
                let entry = group
                    .failure_kinds
                    .entry(f[1].as_text())
                    .or_insert((0, f[2].as_text()));
                entry.0 += 1;
                group.failures.push(Failure {
                    kind: f[1].as_text(),
                    message: f[2].as_text(),
                    request_id: f[3].as_text(),
                });
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|id| groups.remove(&id))
            .collect())
    }

    fn run_exists(&mut self, run_id: i64) -> Result<bool> {
        Ok(!self
            .conn
            .query("SELECT id FROM runs WHERE id = ?", &[Val::int(run_id)])?
            .is_empty())
    }
}
