//! `sebs compare` and the statistics exports on synthetic runs (exact, fast, no platform).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sebs_report::synthetic::{BenchmarkShape, benchmark_run};

fn sebs() -> Command {
    let mut cmd = Command::cargo_bin("sebs").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

fn run(dir: &Path, name: &str, seed: u64, scale: f64) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    let shape = BenchmarkShape {
        invocations: 300,
        seed,
        scale,
        ..BenchmarkShape::default()
    };
    benchmark_run(&path, &shape).unwrap();
    path
}

#[test]
fn a_ten_percent_slowdown_fails_and_the_same_distribution_passes() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", 1, 1.0);
    let slower = run(dir.path(), "slower", 2, 1.1);
    let same = run(dir.path(), "same", 3, 1.0);
    let out = sebs()
        .arg("compare")
        .args([&a, &slower])
        .args(["--fail-on-regression", "5%"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("regression"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("significant slowdown beyond 5%"),
        "{stderr}"
    );
    // Without --fail-on-regression the table is printed and the status is 0.
    sebs().arg("compare").args([&a, &slower]).assert().success();
    let out = sebs()
        .arg("compare")
        .args([&a, &same])
        .args(["--fail-on-regression", "5%", "--markdown"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("| function / configuration |"),
        "{stdout}"
    );
    assert!(stdout.contains("| no change |"), "{stdout}");
}

#[test]
fn compare_explains_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", 1, 1.0);
    let out = sebs()
        .arg("compare")
        .arg(&a)
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist; pass the --output-dir"));
    let out = sebs()
        .arg("compare")
        .args([&a, &a])
        .args(["--fail-on-regression", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a percentage such as 5%"));
}

#[test]
fn statistics_export_csv_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", 1, 1.0);
    let out = sebs()
        .args(["benchmark", "statistics"])
        .arg(a.join("results.json"))
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.starts_with("function,invocations,failures,group,samples,metric,n,mean_us"),
        "{csv}"
    );
    // Cold: init, provider, function, compute, upload, download, client; warm: the same but init.
    assert_eq!(csv.lines().count(), 1 + 7 + 6, "{csv}");
    // experiment statistics reads *processed*.json: perf-cost's synthetic files.
    let perf = dir.path().join("perf-cost");
    sebs_report::synthetic::perf_cost_run(&perf).unwrap();
    let out = sebs()
        .args(["experiment", "statistics"])
        .arg(&perf)
        .args(["--output-format", "markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(markdown.starts_with("| file | metric | n |"), "{markdown}");
    assert!(
        markdown.contains("| warm_results_512-processed.json | client | 60 |"),
        "{markdown}"
    );
}
