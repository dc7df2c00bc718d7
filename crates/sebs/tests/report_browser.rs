//! The report rendered by a real browser: Chromium headless loads the page from `file://`
//! with every network path closed (a proxy that refuses connections, no host resolution),
//! takes a screenshot, and prints the DOM, which must hold every expected chart and table.
//! Chromium's network log must show no request made by the page.
//!
//! Skips (with a message) when no `chromium` is installed, unless `SEBS_REQUIRE_CHROMIUM` is
//! set, as CI does (`.ci/run` installs Debian's `chromium`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Chromium headless on `page` with `extra` arguments; returns stdout.
fn run_chromium(browser: &Path, page: &Path, profile: &Path, extra: &[String]) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_report_renders_in_chromium_without_the_network() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SEBS_REQUIRE_CHROMIUM").is_none(),
            "SEBS_REQUIRE_CHROMIUM is set but no chromium is on PATH; install it with `apt-get install -y chromium`"
        );
        eprintln!(
            "SKIPPED report_browser: no chromium on PATH (`apt-get install -y chromium` to run this test)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    sebs_report::synthetic::all_runs(&results).unwrap();
    let page = dir.path().join("report.html");
    let status = assert_cmd::Command::cargo_bin("sebs")
        .unwrap()
        .arg("report")
        .arg(&results)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");

    let net_log = dir.path().join("net-log.json");
    let screenshot = dir.path().join("report.png");
    let dom = run_chromium(
        &browser,
        &page,
        &dir.path().join("profile-1"),
        &[
            "--dump-dom".into(),
            format!("--log-net-log={}", net_log.display()),
        ],
    );
    for id in [
        "1-eviction-model-eviction",
        "2-invocation-overhead-overhead",
        "3-benchmark-invoke-cdf",
        "3-benchmark-invoke-breakdown",
        "3-benchmark-invoke-timeline",
        "4-network-ping-pong-ping-pong",
        "5-perf-cost-cdf",
        "5-perf-cost-memory-boxes",
        "5-perf-cost-tradeoff",
        "5-perf-cost-breakdown",
        "5-perf-cost-timeline",
        "6-benchmark-regression-breakdown",
    ] {
        let start = dom
            .find(&format!("<figure class=\"chart\" id=\"{id}\">"))
            .unwrap_or_else(|| panic!("chart {id} is not in the DOM"));
        let figure = &dom[start..start + dom[start..].find("</figure>").unwrap()];
        assert!(
            figure.contains("<svg") && figure.contains("</svg>"),
            "{id}: no inline SVG"
        );
        assert!(figure.matches("<text").count() >= 4, "{id}: no axis labels");
    }
    assert_eq!(dom.matches("<table class=\"summary\"").count(), 3);
    assert_eq!(dom.matches("<table class=\"tests\"").count(), 1);
    assert!(dom.contains("<table class=\"failures\""));
    assert_eq!(dom.matches("<section class=\"run\"").count(), 6);

    // No request left the page. Chromium's own services (time, component updates, accounts)
    // are initiated by the browser ("not an origin"); a request of the page would carry the
    // page's origin (`null` for file://).
    let log: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&net_log).expect("chromium wrote its network log"),
    )
    .expect("the network log is JSON");
    let from_page: Vec<String> = log["events"]
        .as_array()
        .expect("events in the network log")
        .iter()
        .filter_map(|e| {
            let initiator = e["params"]["initiator"].as_str()?;
            let url = e["params"]["url"].as_str()?;
            (initiator != "not an origin").then(|| format!("{url} (from {initiator})"))
        })
        .collect();
    assert!(
        from_page.is_empty(),
        "the page made requests: {from_page:?}"
    );

    run_chromium(
        &browser,
        &page,
        &dir.path().join("profile-2"),
        &[format!("--screenshot={}", screenshot.display())],
    );
    let png = std::fs::read(&screenshot).expect("chromium took a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1400);
    // A rendered page, not a blank one: a blank 1400×1000 PNG compresses to a few KB.
    assert!(png.len() > 30_000, "{} bytes", png.len());
}
