//! The engine's clock: epoch seconds advanced by tokio's monotonic clock, so a test on tokio's
//! paused clock (`#[tokio::test(start_paused = true)]`) sees exact, reproducible times.

use tokio::time::Instant;

/// Epoch seconds at a known instant, advanced by tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: f64,
    origin: Instant,
}

impl Clock {
    /// The wall clock (now in epoch seconds), advanced monotonically from here on.
    pub fn system() -> Clock {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        Clock::starting_at(epoch)
    }

    /// A clock reading `epoch` now (tests use 0).
    pub fn starting_at(epoch: f64) -> Clock {
        Clock {
            epoch,
            origin: Instant::now(),
        }
    }

    /// Seconds: the start reading plus the time elapsed on tokio's clock.
    pub fn now(&self) -> f64 {
        self.epoch + self.origin.elapsed().as_secs_f64()
    }
}
