//! The stability analysis as text for a terminal.

use std::fmt::Write;

use sebs_stability::SeriesAnalysis;

use super::tables::{daily, penalty, percent};
use crate::summary::format_us;

/// `99th` for 0.99, `97.5th` for 0.975.
pub(crate) fn ordinal(q: f64) -> String {
    let p = q * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}th", p.round())
    } else {
        format!("{p}th")
    }
}

/// A few lines per analysis: counts, change points with their shifts, the strongest hour and
/// weekday effects with their tests, and the tail.
pub fn stability_text(analyses: &[SeriesAnalysis]) -> String {
    let mut out = String::new();
    for a in analyses {
        let _ = writeln!(
            out,
            "{}: {} time, {} slot(s), {} invocation(s) ({} failed, {} cold)",
            a.key,
            a.params.metric.as_str(),
            a.slots.len(),
            a.invocations,
            a.failures,
            a.cold
        );
        for note in &a.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        let _ = writeln!(
            out,
            "  change points (PELT{}, penalty {}, minimum segment {}): {}",
            daily(a),
            penalty(a),
            a.detection.min_segment,
            if a.change_points.is_empty() {
                "none".to_owned()
            } else {
                a.change_points.len().to_string()
            }
        );
        for c in &a.change_points {
            let bound = |v: Option<f64>| v.map_or("…".into(), percent);
            let _ = writeln!(
                out,
                "    slot {} ({}): median {} -> {}, shift {} [{}, {}]",
                c.slot_index,
                c.at.format("%Y-%m-%d %H:%M UTC"),
                format_us(c.before_median_us),
                format_us(c.after_median_us),
                percent(c.relative_shift),
                bound(c.shift_low),
                bound(c.shift_high)
            );
        }
        for t in [&a.hour_of_day, &a.day_of_week] {
            let _ = writeln!(out, "  {}: {}", t.title, effect_line(t));
        }
        match &a.tail {
            Some(t) => {
                let groups: Vec<&str> = t.concentrations.iter().map(|c| c.group.as_str()).collect();
                let _ = writeln!(
                    out,
                    "  tail: {} beyond the {} percentile ({}): {} cold start(s), {} unattributed{}",
                    t.outliers,
                    ordinal(t.quantile),
                    format_us(t.threshold_us),
                    t.cold,
                    t.unattributed,
                    if groups.is_empty() {
                        String::new()
                    } else {
                        format!("; concentrated in {}", groups.join(", "))
                    }
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  tail: no successful invocation with a {} time",
                    a.params.metric.as_str()
                );
            }
        }
    }
    out
}

/// The test and the group furthest from 1.
fn effect_line(t: &sebs_stability::effects::EffectTable) -> String {
    let Some(kw) = &t.test else {
        return "too few groups for a test".into();
    };
    let strongest = t
        .groups
        .iter()
        .max_by(|a, b| (a.ratio.ln().abs()).total_cmp(&b.ratio.ln().abs()));
    format!(
        "Kruskal-Wallis H {:.2}, {} df, p {:.4}{}{}",
        kw.h,
        kw.df,
        kw.p_value,
        if kw.p_value < 0.05 {
            " (an effect at 5%)"
        } else {
            " (none at 5%)"
        },
        strongest.map_or(String::new(), |g| format!(
            "; furthest from its segment: {} x{:.3}",
            g.label, g.ratio
        ))
    )
}
