//! invocation-overhead and network-ping-pong end to end on the local platform: the runs write
//! SeBS's files, `--resume` completes exactly the requested counts, and the process steps give
//! plausible loopback numbers and a decodable histogram.

mod common;

use std::path::Path;

use common::{
    document, experiment_invoke, experiment_process as process, shared_cache, write_config,
};
use serde_json::{Value, json};

fn invoke(experiment: &str, config: &Path, out: &Path, resume: bool) -> assert_cmd::assert::Assert {
    let mut cmd = experiment_invoke(experiment, config, out);
    cmd.arg("-q");
    if resume {
        cmd.arg("--resume");
    }
    cmd.assert()
}

/// Rows of a CSV as header → value maps.
fn csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {}", row[key]))
}

/// Drop the last `n` lines of a journal, as if the run had been killed before them.
fn truncate_journal(path: &Path, n: usize) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keep = lines.len() - n;
    std::fs::write(path, lines[..keep].join("\n") + "\n").unwrap();
    keep
}

#[test]
fn invocation_overhead_payload_sweep_processes_to_plausible_times() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"invocation-overhead": {"type": "payload", "repetitions": 2, "N": 5,
               "payload_begin": 1024, "payload_end": 65536, "payload_points": 2}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    invoke("invocation-overhead", &config, &out, false).success();
    let dir = out.join("invocation-overhead/payload");
    let rows = csv(&dir.join("result.csv"));
    assert_eq!(rows.len(), 8, "2 sizes × warm/cold × 2 repetitions");
    for size in ["1024", "65536"] {
        for cold in ["true", "false"] {
            assert_eq!(
                rows.iter()
                    .filter(|r| r["size"] == size && r["is_cold"] == cold)
                    .count(),
                2,
                "size {size} cold {cold}"
            );
        }
    }
    for r in &rows {
        let id = &r["request_id"];
        assert!(dir.join(format!("server-{id}.csv")).is_file());
        assert!(dir.join(format!("results-{id}.csv")).is_file());
        // The function's arrival follows the driver's send (same clock locally).
        let (start, finish) = (num(r, "start_timestamp"), num(r, "finish_timestamp"));
        assert!(finish > start && finish - start < 5.0, "{r:?}");
    }

    // --resume after losing the last three samples redoes exactly those.
    let journal = dir.join("journal.jsonl");
    let kept = truncate_journal(&journal, 3);
    invoke("invocation-overhead", &config, &out, false)
        .code(1)
        .stderr(predicates::str::contains("--resume"));
    invoke("invocation-overhead", &config, &out, true).success();
    assert_eq!(
        csv(&dir.join("result.csv")).len(),
        8,
        "exactly the requested samples"
    );
    let lines = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(
        lines >= kept + 3,
        "{lines} journal lines after resuming from {kept}"
    );

    let stdout = process("invocation-overhead", &out);
    assert!(stdout.contains("clock drift"), "{stdout}");
    let processed = csv(&dir.join("result-processed.csv"));
    assert_eq!(processed.len(), 8);
    assert!(processed[0].contains_key("payload_size"));
    for r in &processed {
        let drift = num(r, "clock_drift_mean");
        assert!(drift.abs() < 0.005, "clock drift {drift} s on one host");
        let t = num(r, "invocation_time");
        assert!(t > 0.0 && t < 5.0, "invocation time {t} s");
    }
    let mean = |cold: &str| {
        let v: Vec<f64> = processed
            .iter()
            .filter(|r| r["is_cold"] == cold)
            .map(|r| num(r, "invocation_time"))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean("true") > mean("false"),
        "cold invocations take longer to arrive"
    );
    // The raw exchanges give loopback round trips.
    let id = &processed[0]["request_id"];
    let server = csv(&dir.join(format!("server-{id}.csv")));
    let client = csv(&dir.join(format!("results-{id}.csv")));
    assert!(!server.is_empty() && !client.is_empty());
    for c in &client {
        if let Some(s) = server.iter().find(|s| s["id"] == c["id"]) {
            let rtt = (num(s, "server_rcv") - num(c, "client_send"))
                + (num(c, "client_rcv") - num(s, "server_send"));
            assert!(rtt > 0.0 && rtt < 1.0, "rtt {rtt}");
        }
    }
}

#[test]
fn invocation_overhead_code_sweep_deploys_padded_packages() {
    let tmp = tempfile::tempdir().unwrap();
    // SeBS's code reads `code_package_*`; its docs say `code_*`: both are accepted.
    let config = write_config(
        tmp.path(),
        json!({"invocation-overhead": {"type": "code", "repetitions": 1, "N": 3,
               "code_package_begin": 262144, "code_package_end": 2097152, "code_package_points": 2}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    invoke("invocation-overhead", &config, &out, false).success();
    let dir = out.join("invocation-overhead/code");
    let rows = csv(&dir.join("result.csv"));
    assert_eq!(rows.len(), 4);
    let sizes: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["size"].as_str()).collect();
    assert_eq!(
        sizes.into_iter().collect::<Vec<_>>(),
        vec!["2097152", "262144"]
    );
    // Each size ran from its own package, padded to the size with randomdata.bin.
    let mut padded: Vec<u64> = std::fs::read_dir(shared_cache().join("invocation-overhead"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path().join("randomdata.bin")).ok())
        .map(|m| m.len())
        .collect();
    padded.sort();
    // The 2 MiB package's padding is 2 MiB less its code (the wrapper, the profiler, the
    // function): far above the whole 256 KiB package.
    assert!(
        padded.len() >= 2 && padded.iter().any(|l| *l > 1_500_000),
        "{padded:?}"
    );
    process("invocation-overhead", &out);
    for r in csv(&dir.join("result-processed.csv")) {
        let t = num(&r, "invocation_time");
        assert!(t > 0.0 && t < 5.0, "invocation time {t} s");
    }
}

#[test]
fn network_ping_pong_reports_loopback_rtts_and_draws_a_histogram() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        json!({"network-ping-pong": {"invocations": 3, "repetitions": 100}}),
        json!({}),
    );
    let out = tmp.path().join("out");
    invoke("network-ping-pong", &config, &out, false).success();
    let dir = out.join("network-ping-pong");
    let journal = dir.join("journal.jsonl");
    // As if killed before the last invocation completed: CSVs are only written at the end.
    let last: Value = serde_json::from_str(
        std::fs::read_to_string(&journal)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let last = last["request_id"].as_str().unwrap();
    std::fs::remove_file(dir.join(format!("server-{last}.csv"))).unwrap();
    std::fs::remove_file(dir.join(format!("results-{last}.csv"))).unwrap();
    truncate_journal(&journal, 1);
    invoke("network-ping-pong", &config, &out, true).success();
    let records: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records.iter().filter(|r| r["failure"] == false).count(),
        3,
        "exactly the requested invocations after resuming"
    );
    // Failed invocations (a loaded machine can drop datagrams) are journaled as data and
    // replaced; the successful ones each have their round trips.
    for r in records.iter().filter(|r| r["failure"] == false) {
        let id = r["request_id"].as_str().unwrap();
        let server = csv(&dir.join(format!("server-{id}.csv")));
        assert_eq!(server.len(), 100, "round trips of {id}");
    }

    let stdout = process("network-ping-pong", &out);
    for label in [
        "rows 300", "mean", "std", "CV", "P50", "P75", "P95", "P99", "P99.9",
    ] {
        assert!(stdout.contains(label), "{label} missing from {stdout}");
    }
    let summary = document(&dir.join("result-processed.json"));
    let p50 = summary["p50"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 < 1.0, "p50 {p50} s on loopback");
    assert!(summary["p99_9"].as_f64().unwrap() >= p50);
    let rows = csv(&dir.join("result-processed.csv"));
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| {
        let rtt = num(r, "rtt");
        rtt > 0.0 && rtt < 1.0
    }));

    // The PNG, checked by an independent decoder (Python's zlib and the PNG filters written
    // out): signature, chunk CRCs, dimensions, and pixels in the bar colour.
    let png = dir.join("histogram.png");
    let check = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, chunks = 8, {}
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
    assert zlib.crc32(kind + body) == crc, kind
    chunks.setdefault(kind, b"")
    chunks[kind] += body
    pos += 12 + n
w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
raw = zlib.decompress(chunks[b"IDAT"])
assert colour == 2 and depth == 8, (depth, colour)
stride = 3 * w
assert len(raw) == h * (stride + 1), (len(raw), w, h)
# Undo the PNG row filters (None, Sub, Up, Average, Paeth), then count bar pixels.
prev, bar = bytearray(stride), 0
for y in range(h):
    kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - 3] if i >= 3 else 0
        b, c = prev[i], prev[i - 3] if i >= 3 else 0
        if kind == 1: row[i] = (row[i] + a) & 255
        elif kind == 2: row[i] = (row[i] + b) & 255
        elif kind == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert kind == 0, kind
    bar += sum(1 for x in range(w) if row[3 * x:3 * x + 3] == bytearray((70, 130, 180)))
    prev = row
print(w, h, depth, colour, bar)
"#,
        )
        .arg(&png)
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let fields: Vec<u64> = String::from_utf8_lossy(&check.stdout)
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(&fields[..4], &[800, 500, 8, 2], "800×500, 8-bit RGB");
    assert!(
        fields[4] > 1000,
        "bars are drawn ({} bar pixels)",
        fields[4]
    );
}
