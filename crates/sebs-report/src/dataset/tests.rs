use super::*;
use sebs_core::result::{ExecutionResult, ExperimentResult, InvocationError, Validation};
use serde_json::json;

fn invocation(id: &str, second: u32, cold: bool, client: u64, benchmark: u64) -> ExecutionResult {
    let mut r = ExecutionResult {
        request_id: id.into(),
        ..Default::default()
    };
    r.times.client_begin = format!("2026-11-26 15:28:{second:02}.500000");
    r.times.client = client;
    r.times.benchmark = benchmark;
    r.stats.cold_start = cold;
    r
}

/// A file with a cold invocation with measurements and billing, a warm one, a crash with a
/// string output, and an invocation whose output failed validation.
pub(crate) fn sample_file(dir: &Path) -> std::path::PathBuf {
    let mut e = ExperimentResult::default();
    let mut cold = invocation("c", 1, true, 2_000_000, 1_500_000);
    cold.output = json!({"begin": 1, "result": {"result": "<html>", "measurement": {
        "compute_time": 12.5, "download_time": 300, "upload_time": "n/a"}}});
    cold.provider_times.execution = 1_600_000;
    cold.provider_times.initialization = 250_000;
    cold.billing.billed_time = Some(1600);
    cold.billing.memory = Some(256);
    cold.billing.gb_seconds = 0.4;
    e.add("f", cold);
    e.add("f", invocation("w", 2, false, 10_000, 800));
    let mut crashed = invocation("", 3, false, 5, 0);
    crashed.stats.failure = true;
    crashed.output = json!("Traceback ...");
    crashed.error = Some(InvocationError {
        kind: "Crash".into(),
        message: "exit 1\nmore".into(),
        traceback: vec![],
    });
    e.add("f", crashed);
    let mut wrong = invocation("v", 4, false, 30_000, 1_000);
    wrong.validation = Some(Validation {
        passed: false,
        message: Some("size differs".into()),
    });
    e.add("g", wrong);
    e.begin_time = 10.0;
    e.end_time = 12.5;
    e.config = json!({"deployment": {"name": "local"}});
    let path = dir.join("experiments.json");
    crate::write_json(&path, &e).unwrap();
    path
}

#[test]
fn result_files_are_read_into_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_file(dir.path());
    let file = read_result_file(&path, "warm, 256 MB", Some(256)).unwrap();
    assert_eq!((file.begin_time, file.end_time), (10.0, 12.5));
    assert_eq!(file.config["deployment"]["name"], "local");
    assert_eq!(file.groups.len(), 2);
    let f = &file.groups[0];
    assert_eq!(
        (f.function.as_str(), f.label()),
        ("f", "f (warm, 256 MB)".into())
    );
    assert_eq!(f.memory_mb, Some(256));
    assert_eq!(f.samples.len(), 3);
    // Request ids order the map: "c", "failed-2", "w".
    let cold = f.samples[0];
    assert!(cold.cold && !cold.failed && !cold.invalid);
    assert_eq!((cold.client, cold.benchmark), (2_000_000, 1_500_000));
    assert_eq!((cold.provider, cold.init), (1_600_000, 250_000));
    assert_eq!((cold.compute, cold.download), (12.5, 300.0));
    assert!(
        cold.upload.is_nan(),
        "a non-numeric measurement is not measured"
    );
    assert_eq!((cold.gb_seconds, cold.memory_mb), (0.4, 256));
    assert_eq!(cold.begin, 1_795_706_881.5);
    let crashed = f.samples[1];
    assert!(crashed.failed && crashed.gb_seconds.is_nan() && crashed.compute.is_nan());
    assert_eq!(f.samples[2].client, 10_000);
    assert_eq!(f.ok().count(), 2);
    assert_eq!(
        f.failures,
        [Failure {
            kind: "Crash".into(),
            message: "exit 1".into(),
            request_id: "-".into()
        }]
    );
    assert_eq!(f.failure_kinds["Crash"], (1, "exit 1".into()));
    let g = &file.groups[1];
    assert!(g.samples[0].invalid);
    assert_eq!(g.ok().count(), 0);
    assert_eq!(g.failures[0].kind, "validation");
    assert_eq!(g.failures[0].message, "size differs");
    assert_eq!(
        Metric::Download.values(&f.samples),
        vec![300.0],
        "unmeasured values are left out"
    );
    assert_eq!(Metric::Client.value(&cold), Some(2_000_000.0));
}

#[test]
fn bad_files_are_named_with_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_result_file(&dir.path().join("nope.json"), "", None).unwrap_err();
    assert!(
        missing.to_string().contains("failed to read result file"),
        "{missing}"
    );
    for (name, text) in [
        ("array.json", "[1, 2]"),
        ("other.json", "{\"rows\": []}"),
        (
            "torn.json",
            "{\"_invocations\": {\"f\": {\"a\": {\"times\": ",
        ),
        (
            "typed.json",
            "{\"_invocations\": {\"f\": {\"a\": {\"times\": {\"client\": \"x\"}}}}}",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = read_result_file(&path, "", None).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string()) && err.contains("is not a SeBS result file"),
            "{name}: {err}"
        );
    }
}

#[test]
fn timestamps_are_seconds_since_1970() {
    assert_eq!(
        parse_timestamp("2026-11-26 15:28:11.990128"),
        Some(1_795_706_891.990128)
    );
    assert_eq!(parse_timestamp("2000-02-29 00:00:00"), Some(951_782_400.0));
    assert_eq!(parse_timestamp("1970-01-01T00:00:01.5"), Some(1.5));
    for bad in ["", "2026-13-01 00:00:00", "yesterday", "2026-11-26"] {
        assert_eq!(parse_timestamp(bad), None, "{bad}");
    }
}
