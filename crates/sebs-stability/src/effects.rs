//! Hour-of-day and day-of-week effects: each slot's log median relative to its segment's
//! (between change points), grouped by the hour or weekday (UTC) the slot started, with a
//! Kruskal–Wallis test of "no effect". Measuring against the segment keeps a level shift from
//! posing as a time effect.

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use crate::quantile::{estimate, sorted};
use crate::rank::{KruskalWallis, kruskal_wallis};

/// One hour or weekday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectGroup {
    /// Hour (0–23) or weekday (0 = Monday … 6 = Sunday).
    pub key: u32,
    /// `00:00`… or `Mon`…
    pub label: String,
    /// Slots in the group.
    pub slots: usize,
    /// Median of the slots' median relative to their segment's (1.05: 5% slower).
    pub ratio: f64,
    /// Lower confidence bound of the ratio (order statistics of the group's slots).
    pub low: Option<f64>,
    /// Upper confidence bound.
    pub high: Option<f64>,
}

/// An effect table: groups with slots, and the test across them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectTable {
    /// `hour of day (UTC)` or `day of week (UTC)`.
    pub title: String,
    /// Groups that have slots, by key.
    pub groups: Vec<EffectGroup>,
    /// The test of equal distributions across groups (`None`: fewer than two groups).
    pub test: Option<KruskalWallis>,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Which effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Hour of the day.
    Hour,
    /// Day of the week.
    Weekday,
}

impl Period {
    fn key(self, t: &chrono::DateTime<chrono::Utc>) -> u32 {
        match self {
            Period::Hour => t.hour(),
            Period::Weekday => t.weekday().num_days_from_monday(),
        }
    }

    fn label(self, key: u32) -> String {
        match self {
            Period::Hour => format!("{key:02}:00"),
            Period::Weekday => DAYS[key as usize % 7].to_owned(),
        }
    }

    fn groups(self) -> usize {
        match self {
            Period::Hour => 24,
            Period::Weekday => 7,
        }
    }
}

/// The effect table of `period` over slots given as (start, log-median residual).
pub fn table(
    period: Period,
    residuals: &[(chrono::DateTime<chrono::Utc>, f64)],
    level: f64,
) -> EffectTable {
    let mut groups: Vec<Vec<f64>> = vec![Vec::new(); period.groups()];
    for (t, r) in residuals {
        groups[period.key(t) as usize].push(*r);
    }
    let rows = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .filter_map(|(key, g)| {
            let e = estimate(&sorted(g.clone()), 0.5, level)?;
            Some(EffectGroup {
                key: key as u32,
                label: period.label(key as u32),
                slots: g.len(),
                ratio: e.value.exp(),
                low: e.low.map(f64::exp),
                high: e.high.map(f64::exp),
            })
        })
        .collect();
    EffectTable {
        title: match period {
            Period::Hour => "hour of day (UTC)".into(),
            Period::Weekday => "day of week (UTC)".into(),
        },
        groups: rows,
        test: kruskal_wallis(&groups),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn groups_by_hour_and_weekday() {
        // 2026-11-30 is a Monday. Slots at 00:00 and 01:00 on Monday and Tuesday.
        let at = |d, h| chrono::Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let rs = [
            (at(30, 0), 0.0),
            (at(30, 1), (1.2f64).ln()),
            (
                chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
                0.0,
            ),
            (
                chrono::Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap(),
                (1.2f64).ln(),
            ),
        ];
        let hours = table(Period::Hour, &rs, 0.95);
        assert_eq!(hours.groups.len(), 2);
        assert_eq!(hours.groups[1].label, "01:00");
        assert!((hours.groups[1].ratio - 1.2).abs() < 1e-12);
        assert_eq!(hours.groups[0].ratio, 1.0);
        // Two slots per group: no order-statistic bound at 95%.
        assert_eq!(hours.groups[1].low, None);
        let kw = hours.test.unwrap();
        assert_eq!(kw.df, 1);
        let days = table(Period::Weekday, &rs, 0.95);
        let labels: Vec<&str> = days.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["Mon", "Tue"]);
        assert!((days.groups[0].ratio - 1.2f64.sqrt()).abs() < 1e-12);
    }
}
