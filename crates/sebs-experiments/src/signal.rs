//! Stopping a run cleanly: Ctrl-C (SIGINT) and SIGTERM (what `kill`, `timeout`, systemd and CI
//! runners send) both stop invoking, keep what completed and write the results. The exit status
//! tells them apart, as shells do: 130 for SIGINT, 143 for SIGTERM.

use anyhow::{Context, Result};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Exit status of a run stopped by Ctrl-C (SIGINT): 128 + 2.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Exit status of a run stopped by SIGTERM: 128 + 15.
pub const EXIT_TERMINATED: i32 = 143;

/// What stopped a run before it was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    /// The process exit status: 130 for SIGINT, 143 for SIGTERM.
    pub fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => EXIT_INTERRUPTED,
            Stop::Terminate => EXIT_TERMINATED,
        }
    }

    /// How the stop is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Stop::Interrupt => "interrupted (Ctrl-C)",
            Stop::Terminate => "interrupted (SIGTERM)",
        }
    }
}

/// SIGINT and SIGTERM, caught from creation on: from then until the process exits they no longer
/// kill it, so create this where the run can stop cleanly and keep waiting on it there.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Catch SIGINT and SIGTERM.
    pub fn new() -> Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())
                .context("failed to install the Ctrl-C (SIGINT) handler")?,
            terminate: signal(SignalKind::terminate())
                .context("failed to install the SIGTERM handler")?,
        })
    }

    /// The next SIGINT or SIGTERM.
    pub async fn recv(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sigterm_and_sigint_are_caught_and_told_apart() {
        let mut signals = StopSignals::new().unwrap();
        for (signal, expected, status) in [
            (libc::SIGTERM, Stop::Terminate, 143),
            (libc::SIGINT, Stop::Interrupt, 130),
        ] {
            // SAFETY: raising a signal this process has a handler for.
            unsafe { libc::raise(signal) };
            let stop = tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
                .await
                .unwrap();
            assert_eq!(stop, expected);
            assert_eq!(stop.exit_code(), status);
            assert!(stop.describe().starts_with("interrupted ("));
        }
    }
}
