//! `sebs report` on stability series files (docs/stability-analysis.md): the page of the
//! stability view, from the binary, on a hand-written series with a doubling at slot 6.

use assert_cmd::Command;
use serde_json::{Value, json};

/// 12 hourly slots of 8 invocations at 20 ms (40 ms from slot 6), the same spread in every slot.
fn series() -> Value {
    let slots: Vec<Value> = (0..12u64)
        .map(|i| {
            let invocations: Vec<Value> = (0..8u64)
                .map(|j| {
                    let base = if i >= 6 { 40_000 } else { 20_000 };
                    json!({
                        "request_id": format!("r{i}-{j}"),
                        "at": format!("2026-11-30T{i:02}:00:{j:02}Z"),
                        "client_us": base + (j * 7) % 100,
                        "cold": false,
                        "success": true
                    })
                })
                .collect();
            json!({ "index": i, "start": format!("2026-11-30T{i:02}:00:00Z"), "invocations": invocations })
        })
        .collect();
    json!({
        "key": { "benchmark": "110.dynamic-html", "platform": "local", "configuration": "python-3.11" },
        "slots": slots
    })
}

#[test]
fn sebs_report_draws_the_stability_view_of_a_series_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("series.json");
    std::fs::write(&input, serde_json::to_string_pretty(&series()).unwrap()).unwrap();
    let output = dir.path().join("stability.html");
    let out = Command::cargo_bin("sebs")
        .unwrap()
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .arg("report")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 run(s), 1 chart(s))"), "{stdout}");
    let html = std::fs::read_to_string(&output).unwrap();
    assert!(html.contains("<h1>sebs stability report</h1>"));
    assert!(html.contains("Stability: 110.dynamic-html on local (python-3.11)"));
    let changes = html.split("<h3>Change points").nth(1).unwrap_or_default();
    let changes = &changes[..changes.find("</table>").unwrap_or(changes.len())];
    assert!(changes.starts_with(" (1)</h3>"), "{changes}");
    assert!(html.contains("<td class=\"num\">6</td><td>2026-11-30 06:00 UTC</td>"));
    assert_eq!(html.matches("<svg").count(), 1);
}
