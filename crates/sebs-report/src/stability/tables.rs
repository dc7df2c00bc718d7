//! The HTML tables of the stability view.

use std::fmt::Write;

use sebs_stability::effects::EffectTable;
use sebs_stability::quantile::Estimate;
use sebs_stability::{Penalty, SeriesAnalysis};

use crate::html::esc;
use crate::summary::format_us;

/// `+12.5%` for 0.125.
pub(crate) fn percent(v: f64) -> String {
    format!("{:+.1}%", v * 100.0)
}

/// An estimate and its bounds (`…` for a side the sample cannot bound).
pub(crate) fn estimate(e: Option<&Estimate>) -> String {
    match e {
        Some(e) => format!(
            "{} [{} – {}]",
            format_us(e.value),
            e.low.map_or("…".into(), format_us),
            e.high.map_or("…".into(), format_us)
        ),
        None => "-".into(),
    }
}

/// `bic (17.4)`: the penalty's kind and the value applied.
pub(crate) fn penalty(a: &SeriesAnalysis) -> String {
    let kind = match a.params.penalty {
        Penalty::Bic => "BIC, 2 ln n".to_owned(),
        Penalty::Mbic => "MBIC, 3 ln n".to_owned(),
        Penalty::Value(_) => "fixed".to_owned(),
    };
    format!("{:.2} ({kind})", a.detection.penalty)
}

/// `, daily cycle taken out (…)` where one was.
pub(crate) fn daily(a: &SeriesAnalysis) -> String {
    match &a.detection.daily {
        Some(c) => {
            let (lo, hi) = c.hours.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), h| {
                (lo.min(h.1), hi.max(h.1))
            });
            format!(
                ", daily cycle taken out first (hours from {} to {} of the running median; Kruskal–Wallis p = {:.2e})",
                percent(lo - 1.0),
                percent(hi - 1.0),
                c.test.p_value
            )
        }
        None => String::new(),
    }
}

pub(super) fn meta(out: &mut String, a: &SeriesAnalysis) {
    let rows = [
        ("metric", format!("{} time", a.params.metric.as_str())),
        (
            "invocations",
            format!(
                "{} in {} slot(s); {} failed, {} cold start(s){}",
                a.invocations,
                a.slots.len(),
                a.failures,
                a.cold,
                if a.params.include_cold {
                    " (counted)"
                } else {
                    " (left out of the bands)"
                }
            ),
        ),
        (
            "confidence level",
            format!("{:.0}%", a.params.level * 100.0),
        ),
        (
            "change-point detection",
            format!(
                "PELT on log slot medians of {} slot(s){}; penalty {}; minimum segment {} slot(s); noise σ {:.4}",
                a.detection.slots,
                daily(a),
                penalty(a),
                a.detection.min_segment,
                a.detection.sigma
            ),
        ),
    ];
    out.push_str("<table class=\"meta\">\n");
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
    }
    out.push_str("</table>\n");
}

pub(super) fn change_points(out: &mut String, a: &SeriesAnalysis) {
    if a.change_points.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Change points</h3>\n<p>None found: the slot medians are consistent with one level over {} slot(s) at this penalty.</p>",
            a.detection.slots
        );
        return;
    }
    let _ = writeln!(
        out,
        "<h3>Change points ({})</h3>\n<table class=\"changes\">\n<tr><th>first slot after</th><th>at</th><th>median before</th><th>median after</th><th>shift, {:.0}% CI (Hodges–Lehmann)</th></tr>",
        a.change_points.len(),
        a.params.level * 100.0
    );
    for c in &a.change_points {
        let bound = |v: Option<f64>| v.map_or("…".into(), percent);
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} [{} – {}]</td></tr>",
            c.slot_index,
            c.at.format("%Y-%m-%d %H:%M UTC"),
            format_us(c.before_median_us),
            format_us(c.after_median_us),
            percent(c.relative_shift),
            bound(c.shift_low),
            bound(c.shift_high),
        );
    }
    out.push_str("</table>\n");
}

pub(super) fn effect(out: &mut String, t: &EffectTable) {
    let _ = writeln!(out, "<h3>Effect of the {}</h3>", esc(&t.title));
    let verdict = match &t.test {
        Some(kw) => format!(
            "Kruskal–Wallis H = {:.2}, {} df, p = {:.4}: {}.",
            kw.h,
            kw.df,
            kw.p_value,
            if kw.p_value < 0.05 {
                "the groups differ at the 5% level"
            } else {
                "no difference at the 5% level"
            }
        ),
        None => "Too few groups or slots for a test.".into(),
    };
    let _ = writeln!(
        out,
        "<p>Slot medians relative to their segment's median (between change points). {}</p>\n<div class=\"scroll\"><table class=\"effect\">\n<tr><th>group</th><th>slots</th><th>relative median, CI</th></tr>",
        esc(&verdict)
    );
    for g in &t.groups {
        let bound = |v: Option<f64>| v.map_or("…".into(), |v| format!("{v:.3}"));
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3} [{} – {}]</td></tr>",
            esc(&g.label),
            g.slots,
            g.ratio,
            bound(g.low),
            bound(g.high)
        );
    }
    out.push_str("</table></div>\n");
}

pub(super) fn tail(out: &mut String, a: &SeriesAnalysis) {
    let Some(t) = &a.tail else {
        let _ = writeln!(
            out,
            "<h3>Tail</h3>\n<p>No successful invocation with a {} time.</p>",
            a.params.metric.as_str()
        );
        return;
    };
    let _ = writeln!(
        out,
        "<h3>Tail outliers ({})</h3>\n<p>{} of {} successful invocations (cold starts included) beyond the series' {} percentile, {}; {} cold start(s), {} unattributed.</p>",
        t.outliers,
        t.outliers,
        t.invocations,
        crate::stability::text::ordinal(t.quantile),
        format_us(t.threshold_us),
        t.cold,
        t.unattributed
    );
    if !t.concentrations.is_empty() {
        out.push_str("<table class=\"concentrations\">\n<tr><th>group with more outliers than the series' rate</th><th>outliers</th><th>invocations</th><th>p (binomial)</th></tr>\n");
        for c in &t.concentrations {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2e}</td></tr>",
                esc(&c.group),
                c.outliers,
                c.invocations,
                c.p_value
            );
        }
        out.push_str("</table>\n");
    }
    if t.listed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details open><summary>Outlying invocations ({} of {}, largest first)</summary>\n<div class=\"scroll\"><table class=\"outliers\">\n<tr><th>request id</th><th>slot</th><th>at</th><th>time</th><th>cold</th><th>instance</th><th>payload (B)</th><th>attributed to</th></tr>",
        t.listed.len(),
        t.outliers
    );
    for o in &t.listed {
        let causes: Vec<String> = o.causes.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&o.request_id),
            o.slot_index,
            o.at.format("%Y-%m-%d %H:%M:%S"),
            format_us(o.value_us as f64),
            if o.cold { "yes" } else { "" },
            esc(o.instance.as_deref().unwrap_or("")),
            o.payload_bytes.map_or(String::new(), |b| b.to_string()),
            esc(&if causes.is_empty() {
                "-".into()
            } else {
                causes.join(", ")
            })
        );
    }
    out.push_str("</table></div>\n</details>\n");
}

pub(super) fn slots(out: &mut String, a: &SeriesAnalysis) {
    out.push_str("<details><summary>Per-slot statistics</summary>\n<div class=\"scroll\"><table class=\"slots\">\n<tr><th>slot</th><th>start</th><th>invocations</th><th>failed</th><th>cold</th><th>counted</th><th>median [CI]</th><th>p95 [CI]</th><th>p99 [CI]</th></tr>\n");
    for s in &a.slots {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            s.index,
            s.start.format("%Y-%m-%d %H:%M"),
            s.invocations,
            s.failures,
            s.cold,
            s.samples,
            estimate(s.median.as_ref()),
            estimate(s.p95.as_ref()),
            estimate(s.p99.as_ref()),
        );
    }
    out.push_str("</table></div>\n</details>\n");
}
