//! Progress on stderr: a bar on a terminal, plain lines otherwise (never on stdout).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Without a terminal, a progress line at most this often (and when the count changes).
const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Progress of one phase of an experiment.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    total: u64,
    /// When a plain line was last written, and its count.
    last_line: Mutex<(Instant, u64)>,
}

impl Progress {
    /// Start a phase with `total` units of work (`done` already done, e.g. when resuming).
    pub fn new(label: &str, total: u64, done: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>24} [{bar:30}] {pos}/{len} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_owned());
            bar.set_position(done);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() {
            tracing::info!("{label}: starting at {done}/{total}");
        }
        Progress {
            bar,
            label: label.to_owned(),
            total,
            last_line: Mutex::new((Instant::now(), done)),
        }
    }

    /// Report `done` units done and a short status (e.g. failures so far).
    pub fn update(&self, done: u64, status: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(status.to_owned());
            }
            None => {
                // Experiments with many short batches (scaling's samples) would otherwise write
                // a line per batch.
                let mut last = self.last_line.lock().expect("lock");
                let due =
                    last.0.elapsed() >= LINE_INTERVAL || (done == self.total && last.1 != done);
                if done != last.1 && due {
                    *last = (Instant::now(), done);
                    tracing::info!("{}: {done}/{} {status}", self.label, self.total);
                }
            }
        }
    }

    /// End the phase.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
