//! A study's invocations as the stability analysis's input: one `sebs_stability::Series` per
//! benchmark × platform × configuration, its slots in schedule order (a missed or failed slot
//! is a gap), each with every invocation recorded for it.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use sebs_stability::{Observation, Series, SeriesKey, Slot};
use serde_json::Value;

use crate::Store;
use crate::backend::{Cell, Val};
use crate::schedule::Study;

const SERIES_SQL: &str = "
SELECT c.benchmark, p.name, c.label, c.language, c.language_version, c.settings,
       r.slot, r.started, i.id, i.begin_s, i.client_us, i.benchmark_us, m.execution_us,
       i.cold, i.failed, i.invalid
FROM invocations i
JOIN runs r ON r.id = i.run_id
JOIN configurations c ON c.id = i.configuration_id
JOIN platforms p ON p.id = r.platform_id
LEFT JOIN provider_metrics m ON m.invocation_id = i.id
WHERE r.study_id = ?
ORDER BY p.name, c.benchmark, c.id, r.slot, i.seq";

/// The configuration of a series in one string: the group's label, the runtime and the extra
/// settings (`warm 256 MB, python 3.11, size test`).
fn configuration(row: &[Cell]) -> String {
    let mut parts = vec![
        row[2].as_text(),
        format!("{} {}", row[3].as_text(), row[4].as_text()),
    ];
    if let Ok(Value::Object(settings)) = serde_json::from_str::<Value>(&row[5].as_text()) {
        for (key, value) in settings {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            parts.push(format!("{key} {value}"));
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(", ")
}

fn time(epoch: f64) -> Option<DateTime<Utc>> {
    if !epoch.is_finite() {
        return None;
    }
    DateTime::from_timestamp(epoch.floor() as i64, ((epoch.fract()) * 1e9) as u32)
}

/// A positive time as an optional measurement (0: not reported).
fn reported(cell: &Cell) -> Option<u64> {
    cell.as_i64().filter(|v| *v > 0).map(|v| v as u64)
}

fn observation(row: &[Cell], slot_start: DateTime<Utc>) -> Observation {
    let failed = row[14].as_i64().unwrap_or(0) != 0;
    let invalid = row[15].as_i64().unwrap_or(0) != 0;
    Observation {
        // The store's invocation id: `SELECT * FROM invocations WHERE id = N` finds it.
        request_id: format!("invocation {}", row[8].as_i64().unwrap_or(0)),
        at: time(row[9].as_f64()).unwrap_or(slot_start),
        client_us: row[10].as_i64().unwrap_or(0).max(0) as u64,
        function_us: reported(&row[11]),
        provider_us: reported(&row[12]),
        cold: row[13].as_i64().unwrap_or(0) != 0,
        instance: None,
        payload_bytes: None,
        success: !failed && !invalid,
        error: match (failed, invalid) {
            (true, _) => Some("failed".into()),
            (false, true) => Some("output failed validation".into()),
            _ => None,
        },
    }
}

impl Store {
    /// Every series of `study`, by platform, benchmark and configuration.
    pub fn study_series(&mut self, study: &Study) -> Result<Vec<Series>> {
        let rows = self.conn.query(SERIES_SQL, &[Val::int(study.id)])?;
        if rows.is_empty() {
            bail!(
                "study `{}` has no recorded invocations yet: `sebs stability status --study {}` shows its slots",
                study.name,
                study.name
            );
        }
        let mut series: BTreeMap<SeriesKey, BTreeMap<u64, Slot>> = BTreeMap::new();
        for row in &rows {
            let key = SeriesKey {
                benchmark: row[0].as_text(),
                platform: row[1].as_text(),
                configuration: configuration(row),
            };
            let index = row[6].as_i64().unwrap_or(0).max(0) as u64;
            let start = time(row[7].as_f64())
                .or_else(|| time(study.due(index as i64)))
                .unwrap_or_default();
            let slot = series
                .entry(key)
                .or_default()
                .entry(index)
                .or_insert_with(|| Slot {
                    index,
                    start,
                    invocations: Vec::new(),
                });
            slot.invocations.push(observation(row, slot.start));
        }
        Ok(series
            .into_iter()
            .map(|(key, slots)| Series {
                key,
                slots: slots.into_values().collect(),
            })
            .collect())
    }
}
