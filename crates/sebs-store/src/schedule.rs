//! Scheduled studies: slot `k` of a study is due at `start + k × every`; the study's start,
//! interval and slot count live in `studies`, and each slot reached gets one row in `slots`
//! (primary key: study and slot), so a slot is claimed by inserting its row and can never run
//! twice. After a crash or reboot the runner starts again from the stored start time: slots
//! whose time passed by more than the grace period are recorded `missed`, a slot still within it
//! runs, and the next one is awaited.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::backend::{Cell, Val};
use crate::{RunTags, Store};

/// A slot's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// Claimed, running now (or its runner died; see `Interrupted`).
    Running,
    /// Ran; its runs are recorded.
    Done,
    /// Ran, and the slot's runner reported an error (the note says which).
    Failed,
    /// Its time passed while no runner was up (beyond the grace period).
    Missed,
    /// Its runner died mid-slot (found at the next start; not rerun).
    Interrupted,
}

impl SlotStatus {
    /// The name stored in `slots.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotStatus::Running => "running",
            SlotStatus::Done => "done",
            SlotStatus::Failed => "failed",
            SlotStatus::Missed => "missed",
            SlotStatus::Interrupted => "interrupted",
        }
    }
}

/// A study in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// `studies.id`.
    pub id: i64,
    /// Its name (the suite's `name`).
    pub name: String,
    /// The suite, as JSON text.
    pub suite: String,
    /// When slot 0 was due (epoch seconds).
    pub start_s: f64,
    /// Seconds between slots.
    pub every_s: f64,
    /// Number of slots.
    pub slots: i64,
}

impl Study {
    /// When slot `k` is due (epoch seconds).
    pub fn due(&self, k: i64) -> f64 {
        self.start_s + k as f64 * self.every_s
    }
}

/// A slot row.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRow {
    /// The slot.
    pub slot: i64,
    /// Its status (as stored).
    pub status: String,
    /// `host:pid` of the runner that claimed it.
    pub owner: String,
    /// What happened (errors of a failed slot).
    pub note: String,
}

/// Seconds since 1970 now.
pub fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `host:pid`: who claimed a slot.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Parse a duration: a sequence of numbers with units `ms`, `s`, `m`, `h`, `d`, `w` (`90s`,
/// `1h30m`, `14d`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let usage = || {
        format!(
            "invalid duration `{text}`: write a number and a unit (ms, s, m, h, d, w), e.g. `30s`, `1h`, `1h30m`, `14d`"
        )
    };
    let mut total = 0.0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        bail!(usage());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| anyhow::anyhow!(usage()))?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => bail!(usage()),
        };
        total += number * seconds;
        rest = &rest[unit..];
    }
    Duration::try_from_secs_f64(total)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(usage)
}

/// Blocking store calls from async code: PostgreSQL's synchronous client runs its own
/// runtime, which must not be entered from a tokio worker without `block_in_place`.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn study_of(row: &[Cell]) -> Study {
    Study {
        id: row[0].as_i64().unwrap_or(0),
        name: row[1].as_text(),
        suite: row[2].as_text(),
        start_s: row[3].as_f64(),
        every_s: row[4].as_f64(),
        slots: row[5].as_i64().unwrap_or(0),
    }
}

const STUDY_COLUMNS: &str = "id, name, suite, start_s, every_s, slots";

impl Store {
    /// The study `name`, created starting now when new; an existing one is resumed (its start
    /// time kept) when its suite, interval and length are the same, and refused otherwise.
    pub fn begin_study(
        &mut self,
        name: &str,
        suite: &Value,
        every: Duration,
        length: Duration,
    ) -> Result<Study> {
        let suite_text = suite.to_string();
        let digest: String = Sha256::digest(suite_text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let slots = (length.as_secs_f64() / every.as_secs_f64()).ceil().max(1.0) as i64;
        self.conn.transaction(|tx| {
            tx.execute(
                "INSERT INTO studies (name, suite, suite_digest, start_s, every_s, slots, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                &[
                    Val::text(name),
                    Val::text(&suite_text),
                    Val::text(&digest),
                    Val::real(now_s()),
                    Val::real(every.as_secs_f64()),
                    Val::int(slots),
                    Val::text(chrono::Utc::now().to_rfc3339()),
                ],
            )?;
            let rows = tx.query(
                &format!("SELECT {STUDY_COLUMNS}, suite_digest FROM studies WHERE name = ?"),
                &[Val::text(name)],
            )?;
            let row = rows.first().context("the study row just written is missing")?;
            let study = study_of(row);
            if row[6].as_text() != digest
                || (study.every_s - every.as_secs_f64()).abs() > 1e-9
                || study.slots != slots
            {
                bail!(
                    "the store already has a study `{name}` with another suite, interval or length: to resume it, run the same suite with the same --every and --for; to start a new one, give the suite another `name`"
                );
            }
            Ok(study)
        })
    }

    /// The study `name`.
    pub fn study(&mut self, name: &str) -> Result<Option<Study>> {
        let rows = self.conn.query(
            &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?"),
            &[Val::text(name)],
        )?;
        Ok(rows.first().map(|r| study_of(r)))
    }

    /// Every study, oldest first.
    pub fn studies(&mut self) -> Result<Vec<Study>> {
        let rows = self.conn.query(
            &format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id"),
            &[],
        )?;
        Ok(rows.iter().map(|r| study_of(r)).collect())
    }

    /// The study's slot rows, by slot.
    pub fn slots(&mut self, study: i64) -> Result<Vec<SlotRow>> {
        let rows = self.conn.query(
            "SELECT slot, status, owner, note FROM slots WHERE study_id = ? ORDER BY slot",
            &[Val::int(study)],
        )?;
        Ok(rows
            .iter()
            .map(|r| SlotRow {
                slot: r[0].as_i64().unwrap_or(0),
                status: r[1].as_text(),
                owner: r[2].as_text(),
                note: r[3].as_text(),
            })
            .collect())
    }

    /// Insert the slot's row with `status` unless it has one; true when this call inserted it
    /// (for `Running`: the slot is claimed).
    pub fn claim_slot(
        &mut self,
        study: i64,
        slot: i64,
        status: SlotStatus,
        owner: &str,
    ) -> Result<bool> {
        let inserted = self.conn.execute(
            "INSERT INTO slots (study_id, slot, status, owner, claimed_s, note)
             VALUES (?, ?, ?, ?, ?, '') ON CONFLICT (study_id, slot) DO NOTHING",
            &[
                Val::int(study),
                Val::int(slot),
                Val::text(status.as_str()),
                Val::text(owner),
                Val::real(now_s()),
            ],
        )?;
        Ok(inserted == 1)
    }

    /// Record how a claimed slot ended.
    pub fn finish_slot(
        &mut self,
        study: i64,
        slot: i64,
        status: SlotStatus,
        note: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE slots SET status = ?, finished_s = ?, note = ? WHERE study_id = ? AND slot = ?",
            &[
                Val::text(status.as_str()),
                Val::real(now_s()),
                Val::text(note),
                Val::int(study),
                Val::int(slot),
            ],
        )?;
        Ok(())
    }

    /// Slots left `running` by a runner on this host that is no longer alive become
    /// `interrupted` (they are not rerun: part of their invocations may be recorded).
    pub fn reap_interrupted(&mut self, study: i64) -> Result<usize> {
        let me = owner_id();
        let host = me.rsplit_once(':').map_or("", |(h, _)| h).to_owned();
        let mut reaped = 0;
        for row in self
            .slots(study)?
            .into_iter()
            .filter(|r| r.status == "running")
        {
            let Some((owner_host, pid)) = row.owner.rsplit_once(':') else {
                continue;
            };
            let alive = pid.parse::<i32>().is_ok_and(|pid| {
                // SAFETY: signal 0 only checks that the process exists.
                unsafe { libc::kill(pid, 0) == 0 }
            });
            if owner_host == host && row.owner != me && !alive {
                self.finish_slot(
                    study,
                    row.slot,
                    SlotStatus::Interrupted,
                    "its runner stopped mid-slot",
                )?;
                reaped += 1;
            } else if owner_host != host {
                tracing::warn!(
                    "slot {} is claimed by {} on another host",
                    row.slot,
                    row.owner
                );
            }
        }
        Ok(reaped)
    }
}

/// What a slot produced: results directories to record, each with what is known about it.
pub type SlotOutput = Vec<(PathBuf, RunTags)>;

/// How a study's runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// How late a slot may start (after that it is recorded `missed`).
    pub grace: Duration,
    /// The longest single sleep: the wall clock is checked again after it (suspend, clock
    /// changes).
    pub max_sleep: Duration,
}

/// How a study's run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudyOutcome {
    /// Slots this runner ran (done or failed).
    pub ran: Vec<i64>,
    /// Slots it recorded missed.
    pub missed: Vec<i64>,
    /// Slots it found interrupted.
    pub interrupted: usize,
    /// It was stopped (`stop` completed) before the last slot.
    pub stopped: bool,
}

/// Run the study's remaining slots: wait for each slot's time, claim it, call `run_slot`, record
/// what it produced, until the last slot or until `stop` completes (Ctrl-C).
pub async fn run_study<F, Fut>(
    store: &mut Store,
    study: &Study,
    options: &RunnerOptions,
    mut run_slot: F,
    stop: impl Future<Output = ()>,
) -> Result<StudyOutcome>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<SlotOutput>>,
{
    let owner = owner_id();
    let mut outcome = StudyOutcome {
        interrupted: blocking(|| store.reap_interrupted(study.id))?,
        ..StudyOutcome::default()
    };
    tokio::pin!(stop);
    for k in 0..study.slots {
        let taken = blocking(|| store.slots(study.id))?;
        if taken.iter().any(|r| r.slot == k) {
            continue;
        }
        loop {
            let wait = study.due(k) - now_s();
            if wait <= 0.0 {
                break;
            }
            let nap = Duration::from_secs_f64(wait).min(options.max_sleep);
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = &mut stop => {
                    outcome.stopped = true;
                    return Ok(outcome);
                }
            }
        }
        if now_s() - study.due(k) > options.grace.as_secs_f64() {
            if blocking(|| store.claim_slot(study.id, k, SlotStatus::Missed, &owner))? {
                tracing::warn!("slot {k} of study `{}` was missed", study.name);
                outcome.missed.push(k);
            }
            continue;
        }
        if !blocking(|| store.claim_slot(study.id, k, SlotStatus::Running, &owner))? {
            continue;
        }
        tracing::info!("slot {k} of {} of study `{}`", study.slots, study.name);
        let (status, note) = match run_slot(k).await {
            Ok(output) => match blocking(|| record(store, study, k, &output)) {
                Ok(()) => (SlotStatus::Done, String::new()),
                Err(e) => (SlotStatus::Failed, format!("{e:#}")),
            },
            Err(e) => (SlotStatus::Failed, format!("{e:#}")),
        };
        if status == SlotStatus::Failed {
            tracing::warn!("slot {k} failed: {note}");
        }
        blocking(|| store.finish_slot(study.id, k, status, &note))?;
        outcome.ran.push(k);
    }
    Ok(outcome)
}

fn record(store: &mut Store, study: &Study, k: i64, output: &SlotOutput) -> Result<()> {
    for (dir, tags) in output {
        let tags = RunTags {
            slot: Some((study.id, k)),
            ..tags.clone()
        };
        store.import(dir, &tags)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(
            parse_duration("14d").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "1", "h", "1x", "0s", "-1s"] {
            let error = parse_duration(bad).unwrap_err().to_string();
            assert!(error.contains("e.g. `30s`"), "{bad}: {error}");
        }
    }
}
