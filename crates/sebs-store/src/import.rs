//! Recording results directories: read by `sebs_report::rundir` (every command's directory and
//! SeBS's `experiments.json`), written in one transaction per run. A run is identified by a
//! digest of its files, so importing the same directory twice records it once.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use sebs_report::dataset::{Group, Sample};
use sebs_report::rundir::{Run, load_runs};

use crate::Store;
use crate::backend::{Cell, Conn, Val};

/// What the caller knows about a run beyond its files (a scheduled slot knows its benchmark,
/// input size and mode).
#[derive(Debug, Clone, Default)]
pub struct RunTags {
    /// The benchmark; taken from the function name when `None`.
    pub benchmark: Option<String>,
    /// More of the configuration (e.g. `{"size": "test", "mode": "warm"}`): part of its identity.
    pub settings: Value,
    /// The study and slot the run belongs to.
    pub slot: Option<(i64, i64)>,
}

/// One run recorded (or found already recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The directory or file read.
    pub source: PathBuf,
    /// The command that wrote it (`benchmark invoke`, `perf-cost`, ...).
    pub kind: String,
    /// The run's id in `runs`.
    pub run_id: i64,
    /// Invocations recorded.
    pub invocations: usize,
    /// The run was in the store already (nothing written).
    pub already: bool,
}

/// Rows per multi-row INSERT.
const BATCH: usize = 100;

impl Store {
    /// Record every run under `path` (a result file, a results directory or a directory of
    /// them), each in its own transaction.
    pub fn import(&mut self, path: &Path, tags: &RunTags) -> Result<Vec<Imported>> {
        let runs = load_runs(path)?;
        let mut imported = Vec::with_capacity(runs.len());
        for run in &runs {
            let digest = run_digest(run)?;
            let one = self
                .conn
                .transaction(|tx| insert_run(tx, run, &digest, tags))
                .with_context(|| {
                    format!(
                        "failed to record {} in the store {}",
                        run.path.display(),
                        self.location.describe()
                    )
                })?;
            imported.push(one);
        }
        Ok(imported)
    }
}

/// A digest of the run's kind and files (names relative to the run, and contents).
fn run_digest(run: &Run) -> Result<String> {
    let mut hash = Sha256::new();
    hash.update(run.kind.title().as_bytes());
    let mut buffer = vec![0u8; 1 << 16];
    for file in &run.files {
        let name = file.strip_prefix(&run.path).unwrap_or(file);
        hash.update(name.to_string_lossy().as_bytes());
        hash.update([0]);
        let mut reader = std::fs::File::open(file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        loop {
            let n = reader.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hash.update(&buffer[..n]);
        }
    }
    Ok(hex(&hash.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The benchmark in a function name as platforms form it (`sebs-local-110.dynamic-html-python-3.11`,
/// or with dots replaced: `sebs-x-110-dynamic-html-python-3-11`): `110.dynamic-html`.
pub fn benchmark_of(function: &str) -> Option<String> {
    let parts: Vec<&str> = function.split('-').collect();
    let start = parts.iter().position(|p| {
        let b = p.as_bytes();
        b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) && (b.len() == 3 || b[3] == b'.')
    })?;
    let first = parts[start];
    let (number, rest) = match first.split_once('.') {
        Some((n, r)) => (n, Some(r)),
        None if first.len() == 3 => (first, None),
        None => return None,
    };
    let mut name: Vec<&str> = rest.into_iter().collect();
    for part in &parts[start + 1..] {
        if ["python", "nodejs", "java", "cpp", "go"].contains(part) {
            break;
        }
        name.push(part);
    }
    (!name.is_empty()).then(|| format!("{number}.{}", name.join("-")))
}

fn insert_run(tx: &mut Conn, run: &Run, digest: &str, tags: &RunTags) -> Result<Imported> {
    let source = run.path.clone();
    let kind = run.kind.title().to_owned();
    let platform = platform_id(tx, &run.config)?;
    let (started, ended) = run.span.unwrap_or((f64::NAN, f64::NAN));
    let (study, slot) = match tags.slot {
        Some((study, slot)) => (Some(study), Some(slot)),
        None => (None, None),
    };
    let rows = tx.query(
        "INSERT INTO runs (digest, kind, source, platform_id, started, ended, imported_at, config, study_id, slot)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING RETURNING id",
        &[
            Val::text(digest),
            Val::text(&kind),
            Val::text(source.display().to_string()),
            Val::int(platform),
            Val::real(started),
            Val::real(ended),
            Val::text(chrono::Utc::now().to_rfc3339()),
            Val::text(run.config.to_string()),
            Val::Int(study),
            Val::Int(slot),
        ],
    )?;
    if rows.is_empty() {
        // Recorded before (or by a concurrent writer that committed first).
        let existing = tx.query("SELECT id FROM runs WHERE digest = ?", &[Val::text(digest)])?;
        return Ok(Imported {
            source,
            kind,
            run_id: id_of(&existing)?,
            invocations: 0,
            already: true,
        });
    }
    let run_id = id_of(&rows)?;
    let mut seq = 0i64;
    for group in &run.groups {
        let configuration = configuration_id(tx, group, &run.config, tags)?;
        insert_group(tx, run_id, configuration, group, &mut seq)?;
    }
    Ok(Imported {
        source,
        kind,
        run_id,
        invocations: seq as usize,
        already: false,
    })
}

fn id_of(rows: &[Vec<Cell>]) -> Result<i64> {
    rows.first()
        .and_then(|r| r.first())
        .and_then(Cell::as_i64)
        .context("the database returned no id for the row just inserted")
}

fn text_at<'a>(config: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(config, |v, key| &v[*key])
        .as_str()
        .unwrap_or("")
}

/// The platform's id, inserted when new (`deployment.name` and `deployment.region`).
fn platform_id(tx: &mut Conn, config: &Value) -> Result<i64> {
    let name = match text_at(config, &["deployment", "name"]) {
        "" => "unknown",
        name => name,
    };
    let region = text_at(config, &["deployment", "region"]);
    let key = [Val::text(name), Val::text(region)];
    tx.execute(
        "INSERT INTO platforms (name, region) VALUES (?, ?) ON CONFLICT (name, region) DO NOTHING",
        &key,
    )?;
    id_of(&tx.query(
        "SELECT id FROM platforms WHERE name = ? AND region = ?",
        &key,
    )?)
}

/// The configuration's id, inserted when new: identified by a digest of every field.
fn configuration_id(tx: &mut Conn, group: &Group, config: &Value, tags: &RunTags) -> Result<i64> {
    let benchmark = tags
        .benchmark
        .clone()
        .or_else(|| benchmark_of(&group.function))
        .unwrap_or_default();
    let language = text_at(config, &["experiments", "runtime", "language"]);
    let version = text_at(config, &["experiments", "runtime", "version"]);
    let settings = if tags.settings.is_null() {
        json!({})
    } else {
        tags.settings.clone()
    };
    let identity = json!([
        benchmark,
        group.function,
        group.configuration,
        group.memory_mb,
        language,
        version,
        settings
    ]);
    let digest = hex(&Sha256::digest(identity.to_string().as_bytes()));
    tx.execute(
        "INSERT INTO configurations (digest, benchmark, function_name, label, memory_mb, language, language_version, settings)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
        &[
            Val::text(&digest),
            Val::text(benchmark),
            Val::text(&group.function),
            Val::text(&group.configuration),
            Val::Int(group.memory_mb.map(|m| m as i64)),
            Val::text(language),
            Val::text(version),
            Val::text(settings.to_string()),
        ],
    )?;
    id_of(&tx.query(
        "SELECT id FROM configurations WHERE digest = ?",
        &[Val::text(digest)],
    )?)
}

const INVOCATION_COLUMNS: &str = "run_id, configuration_id, seq, begin_s, client_us, benchmark_us, compute_us, download_us, upload_us, cold, failed, invalid";

fn invocation_values(run: i64, configuration: i64, seq: i64, s: &Sample) -> [Val; 12] {
    [
        Val::int(run),
        Val::int(configuration),
        Val::int(seq),
        Val::real(s.begin),
        Val::int(s.client.into()),
        Val::int(s.benchmark.into()),
        Val::real(s.compute),
        Val::real(s.download),
        Val::real(s.upload),
        Val::int(s.cold.into()),
        Val::int(s.failed.into()),
        Val::int(s.invalid.into()),
    ]
}

/// Whether the platform reported anything for the invocation.
fn has_provider_metrics(s: &Sample) -> bool {
    s.provider > 0 || s.init > 0 || !s.gb_seconds.is_nan() || s.memory_mb > 0
}

/// A multi-row INSERT of `rows` rows of `width` parameters.
fn insert_sql(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    format!(
        "INSERT INTO {table} ({columns}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

fn insert_group(
    tx: &mut Conn,
    run: i64,
    configuration: i64,
    group: &Group,
    seq: &mut i64,
) -> Result<()> {
    let first = *seq;
    for chunk in group.samples.chunks(BATCH) {
        let mut params = Vec::with_capacity(chunk.len() * 12);
        for sample in chunk {
            params.extend(invocation_values(run, configuration, *seq, sample));
            *seq += 1;
        }
        let sql = insert_sql("invocations", INVOCATION_COLUMNS, 12, chunk.len());
        tx.execute(&sql, &params)?;
    }
    // Provider metrics reference their invocation: the ids by seq, as inserted just now.
    let ids = tx.query(
        "SELECT seq, id FROM invocations WHERE run_id = ? AND seq >= ? ORDER BY seq",
        &[Val::int(run), Val::int(first)],
    )?;
    let reported: Vec<(i64, &Sample)> = ids
        .iter()
        .zip(&group.samples)
        .filter(|(_, s)| has_provider_metrics(s))
        .map(|(row, s)| (row[1].as_i64().unwrap_or(0), s))
        .collect();
    for chunk in reported.chunks(BATCH) {
        let mut params = Vec::with_capacity(chunk.len() * 5);
        for (id, s) in chunk {
            params.extend([
                Val::int(*id),
                Val::int(s.provider.into()),
                Val::int(s.init.into()),
                Val::real(s.gb_seconds),
                Val::int(s.memory_mb.into()),
            ]);
        }
        let columns = "invocation_id, execution_us, init_us, billed_gb_seconds, memory_mb";
        tx.execute(
            &insert_sql("provider_metrics", columns, 5, chunk.len()),
            &params,
        )?;
    }
    for failure in &group.failures {
        tx.execute(
            "INSERT INTO failures (run_id, configuration_id, kind, message, request_id) VALUES (?, ?, ?, ?, ?)",
            &[
                Val::int(run),
                Val::int(configuration),
                Val::text(&failure.kind),
                Val::text(&failure.message),
                Val::text(&failure.request_id),
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::benchmark_of;

    #[test]
    fn benchmarks_are_found_in_function_names() {
        let cases = [
            (
                "sebs-local-110.dynamic-html-python-3.11",
                Some("110.dynamic-html"),
            ),
            (
                "sebs-abc123-110-dynamic-html-python-3-11",
                Some("110.dynamic-html"),
            ),
            ("sebs-local-010.sleep-nodejs-20", Some("010.sleep")),
            ("sebs-123abcde-my-function", None),
            ("my-function", None),
        ];
        for (function, expected) in cases {
            assert_eq!(benchmark_of(function).as_deref(), expected, "{function}");
        }
    }
}
