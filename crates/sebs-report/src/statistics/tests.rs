use super::*;
use crate::OutputFormat;
use sebs_core::result::ExperimentResult;
use serde_json::json;

fn invocation(id: &str, cold: bool, client_us: u64, function_us: u64) -> ExecutionResult {
    let mut r = ExecutionResult {
        request_id: id.into(),
        ..Default::default()
    };
    r.stats.cold_start = cold;
    r.times.client = client_us;
    r.times.benchmark = function_us;
    r
}

/// Client times of 1, 2, …, 10 ms.
fn one_to_ten_ms() -> Vec<ExecutionResult> {
    (1..=10)
        .map(|i| invocation(&format!("r{i}"), false, i * 1000, 0))
        .collect()
}

#[test]
fn client_statistics_on_a_fixed_dataset() {
    let samples = one_to_ten_ms();
    let refs: Vec<&ExecutionResult> = samples.iter().collect();
    let (report, text) = client_statistics(&refs);
    // mean 5.5, s = √(55/6) = 3.027650, CV 55.048%.
    // t(0.975, 9) = 2.262157: half width 2.262157 · s / √10 = 2.165852 (39.38% of the mean).
    // t(0.995, 9) = 3.249836: half width 3.111482 (56.57%).
    // Le Boudec's ranks at 95%: ⌊(10 − 1.96·√10)/2⌋ = 1 and ⌈1 + (10 + 1.96·√10)/2⌉ = 10, so
    // [1, 10] ms, ±4.5/5.5 = 81.82%; at 99% the lower rank is 0: no interval.
    assert_eq!(
        text,
        "n=10 mean 5.500 ms, median 5.500 ms, std 3.028 ms, CV 55.0%\n\
         \x20 Student-t CI 95%: [3.334, 7.666] ms (±39.38% of the mean)\n\
         \x20 non-parametric CI 95%: [1.000, 10.000] ms (±81.82% of the median)\n\
         \x20 Student-t CI 99%: [2.389, 8.611] ms (±56.57% of the mean)\n"
    );
    assert_eq!(report["n"], 10);
    assert_eq!(report["mean_ms"], 5.5);
    assert_eq!(report["median_ms"], 5.5);
    let std = report["std_ms"].as_f64().unwrap();
    assert!((std - (55.0f64 / 6.0).sqrt()).abs() < 1e-12, "{std}");
    let cv = report["cv_percent"].as_f64().unwrap();
    assert!((cv - std / 5.5 * 100.0).abs() < 1e-9, "{cv}");
    let t95 = &report["t_interval_95"];
    assert_eq!(t95["level"], 0.95);
    assert!(
        (t95["low"].as_f64().unwrap() - (5.5 - 2.165852)).abs() < 1e-5,
        "{t95}"
    );
    assert!(
        (t95["high"].as_f64().unwrap() - (5.5 + 2.165852)).abs() < 1e-5,
        "{t95}"
    );
    let t99 = &report["t_interval_99"];
    assert!(
        (t99["high"].as_f64().unwrap() - (5.5 + 3.111482)).abs() < 1e-5,
        "{t99}"
    );
    let m95 = &report["median_interval_95"];
    assert_eq!(
        (m95["low"].as_f64(), m95["high"].as_f64()),
        (Some(1.0), Some(10.0))
    );
    assert!((m95["half_width_percent"].as_f64().unwrap() - 4.5 / 5.5 * 100.0).abs() < 1e-9);
    assert!(report.get("median_interval_99").is_none(), "{report}");
}

#[test]
fn client_statistics_without_samples() {
    assert_eq!(
        client_statistics(&[]),
        (json!({"n": 0}), "no samples\n".to_owned())
    );
    // One sample: a summary but no interval.
    let one = invocation("a", false, 2500, 0);
    let (report, text) = client_statistics(&[&one]);
    assert_eq!(
        text,
        "n=1 mean 2.500 ms, median 2.500 ms, std 0.000 ms, CV 0.0%\n"
    );
    assert!(report.get("t_interval_95").is_none());
}

/// Function `f`: one cold start, two warm invocations, one failure; `g`: one warm invocation.
fn benchmark_result() -> ExperimentResult {
    let mut e = ExperimentResult::default();
    let mut cold = invocation("c", true, 300_000, 8_000);
    cold.provider_times.initialization = 200_000;
    cold.provider_times.execution = 10_000;
    cold.output = json!({"result": {"measurement": {"compute_time": 5000}}});
    e.add("f", cold);
    e.add("f", invocation("w1", false, 2_000, 1_000));
    e.add("f", invocation("w2", false, 4_000, 3_000));
    let mut failed = invocation("x", false, 9_000_000, 0);
    failed.stats.failure = true;
    e.add("f", failed);
    e.add("g", invocation("g1", false, 1_500, 500));
    e
}

#[test]
fn benchmark_statistics_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("experiments.json");
    crate::write_json(&path, &benchmark_result()).unwrap();
    let text = benchmark_statistics(&path, OutputFormat::Text).unwrap();
    // Warm `f`: client 2 and 4 ms (mean 3, std √2 = 1.414 ms, CV 47.1%), function 1 and 3 ms;
    // no provider time was measured for warm invocations, so that row is left out.
    let expected = "\
f: 4 invocations, 1 failed
  cold (1 samples)
    metric                 mean       median          std       cv
    init              200.00 ms    200.00 ms       0.0 µs     0.0%
    provider_exec      10.00 ms     10.00 ms       0.0 µs     0.0%
    function_exec       8.00 ms      8.00 ms       0.0 µs     0.0%
    compute             5.00 ms      5.00 ms       0.0 µs     0.0%
    client_exec       300.00 ms    300.00 ms       0.0 µs     0.0%
  warm (2 samples)
    metric                 mean       median          std       cv
    function_exec       2.00 ms      2.00 ms      1.41 ms    70.7%
    client_exec         3.00 ms      3.00 ms      1.41 ms    47.1%
g: 1 invocations, 0 failed
  cold (0 samples)
  warm (1 samples)
    metric                 mean       median          std       cv
    function_exec      500.0 µs     500.0 µs       0.0 µs     0.0%
    client_exec         1.50 ms      1.50 ms       0.0 µs     0.0%
";
    assert_eq!(text, expected, "\n{text}");

    let json_text = benchmark_statistics(&path, OutputFormat::Json).unwrap();
    assert!(json_text.ends_with("}\n"));
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let f = &report["f"];
    assert_eq!(
        (f["invocations"].as_u64(), f["failures"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(
        f["groups"]["cold"]["init"],
        json!({"n": 1, "mean_us": 200000.0, "median_us": 200000.0, "std_us": 0.0, "cv_percent": 0.0})
    );
    let warm = &f["groups"]["warm"];
    assert_eq!(warm["client_exec"]["n"], 2);
    assert_eq!(warm["client_exec"]["mean_us"], 3000.0);
    assert!(warm.get("provider_exec").is_none() && warm.get("init").is_none());
    // An empty group has no entry.
    assert!(report["g"]["groups"].get("cold").is_none());
}

#[test]
fn benchmark_statistics_names_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    std::fs::write(&path, "[]").unwrap();
    let err = benchmark_statistics(&path, OutputFormat::Text).unwrap_err();
    assert!(
        err.to_string().contains("is not a SeBS result file"),
        "{err}"
    );
}

#[test]
fn experiment_statistics_over_processed_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut processed = ExperimentResult::default();
    for mut r in one_to_ten_ms() {
        r.times.benchmark = r.times.client / 2;
        processed.add("f", r);
    }
    let mut failed = invocation("x", false, 1_000_000, 0);
    failed.stats.failure = true;
    processed.add("f", failed);
    crate::write_json(
        &dir.path().join("warm_results_128-processed.json"),
        &processed,
    )
    .unwrap();
    // Unprocessed results are not read.
    std::fs::write(dir.path().join("warm_results_128.json"), "not json").unwrap();

    let text = experiment_statistics(dir.path(), OutputFormat::Text).unwrap();
    // Function times are half the client times: 0.5 … 5 ms, mean 2.75, std 1.514 ms.
    assert_eq!(
        text,
        "warm_results_128-processed.json: n=10 mean 5.500 ms, median 5.500 ms, std 3.028 ms, CV 55.0%\n\
         \x20 Student-t CI 95%: [3.334, 7.666] ms (±39.38% of the mean)\n\
         \x20 non-parametric CI 95%: [1.000, 10.000] ms (±81.82% of the median)\n\
         \x20 Student-t CI 99%: [2.389, 8.611] ms (±56.57% of the mean)\n\
         \n\
         \x20 function_exec: mean 2.750 ms, median 2.750 ms, std 1.514 ms, CV 55.0%\n"
    );
    let report: Value =
        serde_json::from_str(&experiment_statistics(dir.path(), OutputFormat::Json).unwrap())
            .unwrap();
    let entry = &report["warm_results_128-processed.json"];
    assert_eq!(entry["client"]["n"], 10);
    assert_eq!(entry["function_exec"]["mean_ms"], 2.75);
    assert!(entry.get("provider_exec").is_none(), "{entry}");
    assert_eq!(report.as_object().unwrap().len(), 1);
}

#[test]
fn experiment_statistics_without_processed_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = experiment_statistics(dir.path(), OutputFormat::Text).unwrap_err();
    assert!(
        err.to_string()
            .contains("run `sebs experiment process` first"),
        "{err}"
    );
}

#[test]
fn benchmark_statistics_as_csv_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("experiments.json");
    crate::write_json(&path, &benchmark_result()).unwrap();
    let csv = benchmark_statistics(&path, ExportFormat::Csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "function,invocations,failures,group,samples,metric,n,mean_us,median_us,std_us,cv_percent"
    );
    // The same rows as the text: five cold metrics and two warm ones of f, two of g.
    assert_eq!(lines.len(), 1 + 5 + 2 + 2);
    assert_eq!(lines[1], "f,4,1,cold,1,init,1,200000,200000,0,0");
    assert!(
        lines[7].starts_with("f,4,1,warm,2,client_exec,2,3000,3000,1414.21356"),
        "{}",
        lines[7]
    );
    assert_eq!(lines[9], "g,1,0,warm,1,client_exec,1,1500,1500,0,0");
    let table = crate::csv::parse_csv(&csv).unwrap();
    assert_eq!(table.records.len(), 9);
    let markdown = benchmark_statistics(&path, ExportFormat::Markdown).unwrap();
    let lines: Vec<&str> = markdown.lines().collect();
    assert_eq!(
        lines[0],
        "| function | invocations | failures | group | samples | metric | n | mean | median | std | cv_percent |"
    );
    assert_eq!(
        lines[1],
        "| :--- | ---: | ---: | :--- | ---: | :--- | ---: | ---: | ---: | ---: | ---: |"
    );
    assert_eq!(
        lines[2],
        "| f | 4 | 1 | cold | 1 | init | 1 | 200.00 ms | 200.00 ms | 0.0 µs | 0.0% |"
    );
    assert_eq!(lines.len(), 2 + 9);
}

#[test]
fn experiment_statistics_as_csv_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut processed = ExperimentResult::default();
    for mut r in one_to_ten_ms() {
        r.times.benchmark = r.times.client / 2;
        processed.add("f", r);
    }
    crate::write_json(
        &dir.path().join("warm_results_128-processed.json"),
        &processed,
    )
    .unwrap();
    let csv = experiment_statistics(dir.path(), ExportFormat::Csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,metric,n,mean_ms,median_ms,std_ms,cv_percent,p95_ms,t95_low_ms,t95_high_ms,median95_low_ms,median95_high_ms"
    );
    // Client: mean 5.5, the Student-t interval 5.5 ± 2.165852, Le Boudec's [1, 10]; p95 of
    // 1..10 is 9.55.
    assert_eq!(
        lines[1],
        "warm_results_128-processed.json,client,10,5.500000,5.500000,3.027650,55.048,9.550000,3.334149,7.665851,1.000000,10.000000"
    );
    assert!(
        lines[2].starts_with("warm_results_128-processed.json,function_exec,10,2.750000,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].ends_with(",,,,"),
        "no intervals for function times: {}",
        lines[2]
    );
    assert_eq!(lines.len(), 3);
    let markdown = experiment_statistics(dir.path(), ExportFormat::Markdown).unwrap();
    assert!(
        markdown.starts_with("| file | metric | n | mean_ms |"),
        "{markdown}"
    );
    assert_eq!(markdown.lines().count(), 4);
}
