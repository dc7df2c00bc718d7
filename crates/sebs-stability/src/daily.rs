//! The daily cycle of the slot medians, taken out before the change-point search.
//!
//! A change-in-mean detector cuts a daily cycle into level shifts. So, where the series spans at
//! least two days: the log slot medians are detrended by a centred running median over one
//! day's worth of slots (a running median keeps steps sharp), the residuals grouped by the hour
//! (UTC) of the slot's start, and if the Kruskal–Wallis test finds the hours differ (p < 0.05),
//! each hour's median residual is subtracted from the slots of that hour before PELT.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::rank::{KruskalWallis, kruskal_wallis};

/// The significance level at which a daily cycle is taken out.
pub const ALPHA: f64 = 0.05;

/// The cycle taken out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCycle {
    /// Per hour with slots: (hour, factor): 1.04 means slots starting in that hour are 4%
    /// slower than the running median around them.
    pub hours: Vec<(u32, f64)>,
    /// The test that found the hours differ.
    pub test: KruskalWallis,
    /// Slots in the running median's window (one day).
    pub window: usize,
}

/// The cycle of `ys` (log medians of slots starting at `starts`), if there is a significant one
/// and at least two days of slots; `None` otherwise.
pub fn cycle(starts: &[DateTime<Utc>], ys: &[f64]) -> Option<DailyCycle> {
    let (first, last) = (starts.first()?, starts.last()?);
    if (*last - *first).num_seconds() < 2 * 86_400 {
        return None;
    }
    let gaps: Vec<f64> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds() as f64)
        .collect();
    let spacing = sebs_core::stats::median(&gaps)?;
    if spacing <= 0.0 {
        return None;
    }
    let window = (86_400.0 / spacing).round() as usize;
    if window < 4 {
        return None;
    }
    let half = window / 2;
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); 24];
    for (i, (t, y)) in starts.iter().zip(ys).enumerate() {
        let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(ys.len()));
        let trend = sebs_core::stats::median(&ys[lo..hi])?;
        groups[t.hour() as usize].push(y - trend);
    }
    let test = kruskal_wallis(&groups)?;
    if test.p_value >= ALPHA {
        return None;
    }
    let hours = groups
        .iter()
        .enumerate()
        .filter_map(|(h, g)| Some((h as u32, sebs_core::stats::median(g)?.exp())))
        .collect();
    Some(DailyCycle {
        hours,
        test,
        window,
    })
}

impl DailyCycle {
    /// `ys` with the cycle taken out.
    pub fn adjust(&self, starts: &[DateTime<Utc>], ys: &[f64]) -> Vec<f64> {
        let mut by_hour = [0.0; 24];
        for &(h, f) in &self.hours {
            by_hour[h as usize] = f.ln();
        }
        starts
            .iter()
            .zip(ys)
            .map(|(t, y)| y - by_hour[t.hour() as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn hourly(n: usize) -> Vec<DateTime<Utc>> {
        let origin = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        (0..n).map(|i| origin + Duration::hours(i as i64)).collect()
    }

    #[test]
    fn a_clean_cycle_is_found_and_taken_out_across_a_step() {
        // +10% at 12:00–17:59 every day, on a level that doubles after day 2.
        let starts = hourly(96);
        let ys: Vec<f64> = starts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let cycle = if (12..18).contains(&t.hour()) {
                    1.1f64.ln()
                } else {
                    0.0
                };
                let level = if i >= 48 { 2f64.ln() } else { 0.0 };
                level + cycle + (i % 3) as f64 * 1e-3
            })
            .collect();
        let c = cycle(&starts, &ys).unwrap();
        assert_eq!(c.window, 24);
        assert!(c.test.p_value < 1e-6, "{:?}", c.test);
        let at = |h: u32| c.hours.iter().find(|x| x.0 == h).unwrap().1;
        assert!((at(14) - 1.1).abs() < 0.01, "{:?}", c.hours);
        assert!((at(3) - 1.0).abs() < 0.01, "{:?}", c.hours);
        let adjusted = c.adjust(&starts, &ys);
        // What is left is the step and the small ripple.
        for (i, y) in adjusted.iter().enumerate() {
            let level = if i >= 48 { 2f64.ln() } else { 0.0 };
            assert!((y - level).abs() < 0.02, "slot {i}: {y}");
        }
    }

    #[test]
    fn no_cycle_without_two_days_or_without_a_difference() {
        let starts = hourly(40);
        assert!(cycle(&starts, &vec![0.0; 40]).is_none());
        let starts = hourly(72);
        let flat: Vec<f64> = (0..72).map(|i| ((i * 7) % 5) as f64 * 1e-3).collect();
        assert!(cycle(&starts, &flat).is_none());
    }
}
