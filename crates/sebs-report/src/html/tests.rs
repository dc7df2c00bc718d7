use super::*;
use crate::synthetic;

fn request(input: &Path, output: &Path, plots: Option<PathBuf>) -> ReportRequest {
    ReportRequest {
        input: input.to_owned(),
        output: output.to_owned(),
        plots,
        pricing: Pricing::default(),
        generated: "2026-12-01 12:00".into(),
    }
}

#[test]
fn a_report_of_every_kind_of_run_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("out");
    synthetic::all_runs(&results).unwrap();
    let output = dir.path().join("report.html");
    let plots = dir.path().join("plots");
    let outcome = report(&request(&results, &output, Some(plots.clone()))).unwrap();
    assert_eq!((outcome.runs, outcome.charts), (6, 12));
    assert_eq!(outcome.plot_files.len(), 24);
    let html = std::fs::read_to_string(&output).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    // Nothing is fetched: no scripts, no links to resources, no URLs other than SVG's
    // namespace name.
    for forbidden in ["<script", "<link", "<img", "src=", "@import", "url("] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    let urls = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(
        urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert_eq!(html.matches("<svg").count(), 12);
    assert_eq!(html.matches("<section class=\"run\"").count(), 6);
    assert_eq!(html.matches("<table class=\"summary\"").count(), 3);
    for id in [
        "1-eviction-model-eviction",
        "2-invocation-overhead-overhead",
        "3-benchmark-invoke-cdf",
        "4-network-ping-pong-ping-pong",
        "5-perf-cost-tradeoff",
        "5-perf-cost-memory-boxes",
        "6-benchmark-regression-breakdown",
    ] {
        assert!(
            html.contains(&format!("<figure class=\"chart\" id=\"{id}\">")),
            "{id}"
        );
        assert!(
            plots.join(format!("{id}.svg")).is_file() && plots.join(format!("{id}.png")).is_file(),
            "{id}"
        );
    }
    // Failures with their causes, regression outcomes, the configuration.
    assert!(
        html.contains("<td>Timeout</td><td class=\"num\">2</td>"),
        "failures by cause"
    );
    assert!(html.contains("<h3>Tests: 2 of 3 passed</h3>"));
    assert!(html.contains("the thumbnail is 0 bytes"));
    assert!(html.contains("<th>platform</th><td>local</td>"));
    assert!(html.contains("<th>runtime</th><td>python 3.11</td>"));
    assert!(html.contains("2026-12-01 12:00"));
    let png = std::fs::read(plots.join("5-perf-cost-tradeoff.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // 1800×960: twice the chart size.
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1800);
}

#[test]
fn text_is_escaped_and_bad_inputs_explained() {
    assert_eq!(
        esc("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = report(&request(
        &dir.path().join("none"),
        &dir.path().join("r.html"),
        None,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not exist"), "{err}");
}
