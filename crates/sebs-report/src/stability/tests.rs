use chrono::{Duration, TimeZone, Utc};
use sebs_stability::{Observation, Params, Series, SeriesKey, Slot, analyse};

use super::*;

/// 24 hourly slots of 40 invocations; times vary by a fixed pattern, +50% from slot 12; in
/// every fourth slot the first invocation is a cold start at 400 ms on instance `i-cold`.
fn series(name: &str) -> Series {
    let cold = |i: u64, j: u64| j == 0 && i.is_multiple_of(4);
    let origin = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let slots = (0..24u64)
        .map(|i| {
            let level = if i >= 12 { 15_000 } else { 10_000 };
            let invocations = (0..40u64)
                .map(|j| Observation {
                    request_id: format!("{name}-{i}-{j}"),
                    at: origin + Duration::hours(i as i64) + Duration::seconds(j as i64),
                    client_us: if cold(i, j) {
                        400_000
                    } else {
                        level + (j * 37 + i * 11) % 500
                    },
                    function_us: None,
                    provider_us: None,
                    cold: cold(i, j),
                    instance: Some(if cold(i, j) {
                        "i-cold".into()
                    } else {
                        format!("i-{}", j % 3)
                    }),
                    payload_bytes: None,
                    success: j != 39 || i != 5,
                    error: (j == 39 && i == 5).then(|| "Timeout".into()),
                })
                .collect();
            Slot {
                index: i,
                start: origin + Duration::hours(i as i64),
                invocations,
            }
        })
        .collect();
    Series {
        key: SeriesKey {
            benchmark: name.into(),
            platform: "local".into(),
            configuration: "python-3.11 <x>".into(),
        },
        slots,
    }
}

#[test]
fn the_html_view_shows_bands_change_points_effects_and_outliers() {
    let a = analyse(&series("110.dynamic-html"), &Params::default()).unwrap();
    assert_eq!(a.change_points.len(), 1);
    let html = stability_html(std::slice::from_ref(&a)).unwrap();
    assert_eq!(html.matches("<section class=\"run stability\"").count(), 1);
    assert!(html.contains("Stability: 110.dynamic-html on local (python-3.11 &lt;x&gt;)"));
    assert_eq!(html.matches("<svg").count(), 1);
    // The bands are polygons, the change point a dashed line with its legend entry.
    assert!(html.contains("<polygon"), "bands");
    assert!(html.contains("change point"));
    // The change-point row: slot 12 at 12:00, +50% within rounding of the varying part.
    assert!(
        html.contains("<td class=\"num\">12</td><td>2026-11-30 12:00 UTC</td>"),
        "{html}"
    );
    assert!(html.contains("<h3>Effect of the hour of day (UTC)</h3>"));
    assert!(html.contains("<h3>Effect of the day of week (UTC)</h3>"));
    // 959 successes: p99 is at rank 948.42 (0-based), among the ordinary times, so the 6 cold
    // starts at 400 ms and the few largest ordinary times above it are the outliers.
    let t = a.tail.as_ref().unwrap();
    assert_eq!((t.cold, t.listed.len()), (6, t.outliers));
    assert!((7..=10).contains(&t.outliers), "{t:?}");
    assert_eq!(t.unattributed, t.outliers - 6);
    assert!(html.contains("<td>yes</td><td>i-cold</td>"));
    assert!(html.contains("cold start"));
    // The failure is counted; nothing fetched from elsewhere.
    assert!(html.contains("1 failed"));
    for forbidden in ["<script", "<link", "<img", "src=", "url("] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
}

#[test]
fn the_text_view_names_the_shift_and_the_tail() {
    let a = analyse(&series("b"), &Params::default()).unwrap();
    let text = stability_text(std::slice::from_ref(&a));
    let lines: Vec<&str> = text.lines().collect();
    let expected = [
        "b on local (python-3.11 <x>): client time, 24 slot(s), 960 invocation(s) (1 failed, 6 cold)",
        "  change points (PELT, penalty 9.53 (MBIC, 3 ln n), minimum segment 3): 1",
        // The varying part adds up to 0.5 ms to 10 and 15 ms.
        "    slot 12 (2026-11-30 12:00 UTC): median 10.26 ms -> 15.25 ms, shift +48.7% [+48.7%, +48.8%]",
        // One slot per hour, all on one weekday: no test possible.
        "  hour of day (UTC): too few groups for a test",
        "  day of week (UTC): too few groups for a test",
        // The 6 cold starts are all on `i-cold`: 6 of its 6 invocations is a concentration.
        "  tail: 9 beyond the 99th percentile (15.49 ms): 6 cold start(s), 3 unattributed; concentrated in instance i-cold",
    ];
    assert_eq!(lines, expected, "{text}");
}

#[test]
fn a_series_file_makes_a_stability_report_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("series");
    std::fs::create_dir(&input).unwrap();
    for name in ["a", "b"] {
        let text = serde_json::to_string_pretty(&series(name)).unwrap();
        std::fs::write(input.join(format!("{name}.json")), text).unwrap();
    }
    let output = dir.path().join("stability.html");
    let plots = dir.path().join("plots");
    // Through `sebs report`'s entry: the directory is recognised as series.
    let request = crate::html::ReportRequest {
        input: input.clone(),
        output: output.clone(),
        plots: Some(plots.clone()),
        pricing: crate::table::Pricing::default(),
        generated: "2026-12-02 08:00".into(),
    };
    let outcome = crate::html::report(&request).unwrap();
    assert_eq!((outcome.runs, outcome.charts), (2, 2));
    assert_eq!(outcome.plot_files.len(), 4);
    for f in &outcome.plot_files {
        assert!(f.is_file(), "{}", f.display());
    }
    let html = std::fs::read_to_string(&output).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert!(html.contains("<h1>sebs stability report</h1>"));
    assert!(html.contains("<a href=\"#stability-series-2\">b on local"));
    // A results directory is not mistaken for series.
    assert!(!sebs_stability::is_series_input(dir.path()));
    // A broken series file names the problem.
    std::fs::write(input.join("c.json"), "{\"key\": {\"benchmark\": \"c\"}}").unwrap();
    let err = format!("{:#}", crate::html::report(&request).unwrap_err());
    assert!(err.contains("c.json is not a stability series"), "{err}");
}
