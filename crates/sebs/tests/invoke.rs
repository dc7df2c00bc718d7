//! End-to-end tests: the real `sebs` binary, the real local platform, real Python functions.

mod common;

use std::path::{Path, PathBuf};

use common::{
    benchmark_invoke, copy, document, one_function_invocations, repo, sebs, shared_cache,
};
use serde_json::Value;

/// A copy of one benchmark in a private catalogue, to edit or break.
fn private_catalogue(tmp: &Path, group: &str, id: &str) -> PathBuf {
    let root = tmp.join("benchmarks");
    copy(
        &repo().join("benchmarks").join(group).join(id),
        &root.join(group).join(id),
    );
    root
}

fn check_dynamic_html(path: &Path, n: usize) {
    let all = one_function_invocations(&document(path));
    assert_eq!(all.len(), n);
    for (i, inv) in all.iter().enumerate() {
        assert_eq!(inv["stats"]["failure"], false, "{inv}");
        assert_eq!(
            inv["stats"]["cold_start"],
            i == 0,
            "only the first invocation is cold: {inv}"
        );
        let page = inv["output"]["result"]["result"].as_str().unwrap();
        assert!(page.contains("testname"), "{page}");
        assert_eq!(page.matches("<li>").count(), 10, "{page}");
        let client = inv["times"]["client"].as_u64().unwrap();
        let benchmark = inv["times"]["benchmark"].as_u64().unwrap();
        assert!(
            benchmark > 0 && client >= benchmark,
            "client {client} benchmark {benchmark}"
        );
        assert!(!inv["output"]["container_id"].as_str().unwrap().is_empty());
    }
    // One warm instance served every warm invocation.
    let ids: std::collections::HashSet<_> = all
        .iter()
        .map(|i| i["output"]["container_id"].clone())
        .collect();
    assert_eq!(ids.len(), 1);
}

#[test]
fn dynamic_html_end_to_end_both_triggers_then_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    benchmark_invoke("110.dynamic-html", &out)
        .args(["--repetitions", "5"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "invocations: 5   failures: 0   cold: 1   warm: 4",
        ));
    check_dynamic_html(&out.join("experiments.json"), 5);

    let lib = tmp.path().join("lib");
    benchmark_invoke("110.dynamic-html", &lib)
        .args(["--trigger", "library", "--validate"])
        .assert()
        .success();
    check_dynamic_html(&lib.join("experiments.json"), 5);
    for inv in one_function_invocations(&document(&lib.join("experiments.json"))) {
        assert_eq!(inv["validation"]["passed"], true, "{inv}");
    }

    let stats = sebs(&repo())
        .args(["benchmark", "statistics"])
        .arg(out.join("experiments.json"))
        .args(["--output-format", "json"])
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&stats.get_output().stdout).unwrap();
    let function = report.as_object().unwrap().values().next().unwrap();
    assert_eq!(function["invocations"], 5);
    assert_eq!(function["groups"]["warm"]["client_exec"]["n"], 4);
    assert_eq!(function["groups"]["cold"]["function_exec"]["n"], 1);
}

#[test]
fn package_is_reused_and_rebuilt_after_an_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let catalogue = private_catalogue(tmp.path(), "000.microbenchmarks", "010.sleep");
    let run = || {
        sebs(tmp.path())
            .args(["benchmark", "package", "010.sleep", "--benchmarks-dir"])
            .arg(&catalogue)
            .assert()
            .success()
    };
    let first = run();
    let stderr = String::from_utf8_lossy(&first.get_output().stderr).into_owned();
    assert!(stderr.contains("built the code package"), "{stderr}");
    let stdout = String::from_utf8_lossy(&first.get_output().stdout).into_owned();
    assert!(
        stdout.starts_with("cache/010.sleep/local/python/code_package/default/"),
        "{stdout}"
    );

    let second = run();
    let stderr = String::from_utf8_lossy(&second.get_output().stderr).into_owned();
    assert!(
        stderr.contains("reusing the cached code package"),
        "{stderr}"
    );

    let function = catalogue.join("000.microbenchmarks/010.sleep/python/function.py");
    let source = std::fs::read_to_string(&function).unwrap();
    std::fs::write(&function, format!("{source}\n# edited\n")).unwrap();
    let third = run();
    let stderr = String::from_utf8_lossy(&third.get_output().stderr).into_owned();
    assert!(stderr.contains("built the code package"), "{stderr}");
}

#[test]
fn sleep_reports_about_one_second() {
    let tmp = tempfile::tempdir().unwrap();
    benchmark_invoke("010.sleep", tmp.path())
        .args(["--repetitions", "2"])
        .assert()
        .success();
    for inv in one_function_invocations(&document(&tmp.path().join("experiments.json"))) {
        let benchmark = inv["times"]["benchmark"].as_u64().unwrap();
        assert!(
            (1_000_000..1_200_000).contains(&benchmark),
            "times.benchmark = {benchmark} µs"
        );
        assert_eq!(inv["output"]["result"]["result"], 1);
    }
}

#[test]
fn validate_without_validate_output_warns_once_and_records_no_verdict() {
    // SeBS 1.2.0's input.py files have no validate_output.
    let tmp = tempfile::tempdir().unwrap();
    let catalogue = private_catalogue(tmp.path(), "000.microbenchmarks", "010.sleep");
    let input = catalogue.join("000.microbenchmarks/010.sleep/input.py");
    let text = std::fs::read_to_string(&input).unwrap();
    let cut = text.find("def validate_output(").unwrap();
    std::fs::write(&input, &text[..cut]).unwrap();
    let out = tmp.path().join("out");
    let run = sebs(tmp.path())
        .args(["benchmark", "invoke", "010.sleep", "test", "--validate"])
        .args(["--repetitions", "2", "--benchmarks-dir"])
        .arg(&catalogue)
        .arg("--output-dir")
        .arg(&out)
        .arg("--cache")
        .arg(shared_cache())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert_eq!(
        stderr.matches("input.py has no validate_output()").count(),
        1,
        "{stderr}"
    );
    let all = one_function_invocations(&document(&out.join("experiments.json")));
    assert_eq!(all.len(), 2);
    for inv in &all {
        assert_eq!(inv["stats"]["failure"], false);
        assert!(inv.get("validation").is_none_or(Value::is_null), "{inv}");
    }
}

#[test]
fn a_raising_handler_is_a_recorded_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let catalogue = private_catalogue(tmp.path(), "000.microbenchmarks", "010.sleep");
    std::fs::write(
        catalogue.join("000.microbenchmarks/010.sleep/python/function.py"),
        "def handler(event):\n    if event['sleep'] == 1:\n        raise RuntimeError('sleep refused')\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = sebs(tmp.path())
        .args([
            "benchmark",
            "invoke",
            "010.sleep",
            "test",
            "--repetitions",
            "3",
            "--benchmarks-dir",
        ])
        .arg(&catalogue)
        .arg("--output-dir")
        .arg(&out)
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(stdout.contains("failures: 3"), "{stdout}");
    let all = one_function_invocations(&document(&out.join("experiments.json")));
    assert_eq!(all.len(), 3);
    for inv in &all {
        assert_eq!(inv["stats"]["failure"], true);
        assert_eq!(inv["error"]["type"], "RuntimeError");
        assert_eq!(inv["error"]["message"], "sleep refused");
        let trace = inv["error"]["traceback"].to_string();
        assert!(trace.contains("function.py"), "{trace}");
    }
    // The instance survives a handler exception: the first is cold, the rest warm.
    assert_eq!(all[0]["stats"]["cold_start"], true);
    assert_eq!(all[1]["stats"]["cold_start"], false);
}

fn assert_one_line_error(assert: assert_cmd::assert::Assert, expected: &str) {
    let output = assert.code(1).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(expected),
        "expected `{expected}` in: {stderr}"
    );
}

#[test]
fn bad_requests_fail_cleanly_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let invoke = |args: &[&str]| {
        let mut cmd = sebs(&repo());
        cmd.args(["benchmark", "invoke"])
            .args(args)
            .arg("--output-dir")
            .arg(&out);
        cmd.arg("--cache").arg(tmp.path().join("cache"));
        cmd.assert()
    };
    assert_one_line_error(
        invoke(&["110.dynamic-htm", "test"]),
        "did you mean `110.dynamic-html`?",
    );
    assert_one_line_error(
        invoke(&["110.dynamic-html", "huge"]),
        "unknown input size `huge`",
    );
    let config = tmp.path().join("bad.json");
    std::fs::write(
        &config,
        "{\n  \"experiments\": {\n    \"update_code\": false,,\n  }\n}\n",
    )
    .unwrap();
    assert_one_line_error(
        invoke(&[
            "110.dynamic-html",
            "test",
            "--config",
            config.to_str().unwrap(),
        ]),
        "line 3, column 26",
    );
    std::fs::write(
        &config,
        r#"{"experiments": {"runtime": {"language": "python", "version": 3.11}}}"#,
    )
    .unwrap();
    assert_one_line_error(
        invoke(&[
            "110.dynamic-html",
            "test",
            "--config",
            config.to_str().unwrap(),
        ]),
        "`experiments.runtime.version`",
    );
    assert_one_line_error(
        invoke(&["110.dynamic-html", "test", "--language-version", "3.1"]),
        "Python 3.1 is not installed",
    );
    // SeBS's deployments this build has no backend for are named and refused plainly.
    assert_one_line_error(
        invoke(&["110.dynamic-html", "test", "--deployment", "azure"]),
        "deployment `azure` is not available in this build of sebs",
    );
    // A backend behind a feature names the feature.
    assert_one_line_error(
        invoke(&["110.dynamic-html", "test", "--deployment", "knative"]),
        "built without the `knative` feature",
    );
    assert_one_line_error(
        invoke(&["110.dynamic-html", "test", "--deployment", "lambda"]),
        "unknown deployment `lambda`: expected one of local",
    );
    std::fs::write(&config, r#"{"deployment": {"name": "gcp"}}"#).unwrap();
    assert_one_line_error(
        invoke(&[
            "110.dynamic-html",
            "test",
            "--config",
            config.to_str().unwrap(),
        ]),
        "deployment `gcp` is not available in this build of sebs",
    );
    assert!(!out.exists(), "nothing is written for a rejected request");
    assert!(
        !tmp.path().join("cache").exists(),
        "nothing is built for a rejected request"
    );
}

#[test]
fn list_shows_the_catalogue() {
    let list = sebs(&repo()).args(["benchmark", "list"]).assert().success();
    let stdout = String::from_utf8_lossy(&list.get_output().stdout).into_owned();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("110.dynamic-html"))
        .unwrap();
    assert!(
        line.contains("python") && line.contains("128 MB") && line.contains("10 s"),
        "{line}"
    );
}

#[test]
fn local_daemon_serves_curl_and_stops_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.json");
    sebs(&repo())
        .args(["local", "start", "110.dynamic-html", "test"])
        .arg(&out)
        .args(["--measure-interval", "50", "--cache"])
        .arg(shared_cache())
        .assert()
        .success();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let url = doc["functions"][0]["url"].as_str().unwrap().to_owned();
    let input = doc["inputs"][0].to_string();
    let pid = doc["daemon"]["pid"].as_i64().unwrap();
    // The same request a user sends with curl.
    let curl = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            "Content-Type: application/json",
            "-d",
            &input,
            &url,
        ])
        .output()
        .unwrap();
    let body: Value = serde_json::from_slice(&curl.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&curl.stdout)));
    assert_eq!(body["is_cold"], true);
    assert_eq!(
        body["result"]["result"]
            .as_str()
            .unwrap()
            .matches("<li>")
            .count(),
        10
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let stats = tmp.path().join("memory_stats.json");
    sebs(&repo())
        .args(["local", "stop"])
        .arg(&out)
        .arg(&stats)
        .assert()
        .success();
    // Gone, or a zombie waiting for whoever adopted it to reap it.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the daemon is still running: {state}"
    );
    let leftover = std::process::Command::new("pgrep")
        .args(["-f", &format!("sebs-local-.*{}", "bootstrap.py")])
        .output()
        .unwrap();
    let daemons: Vec<_> = String::from_utf8_lossy(&leftover.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // Other tests may run their own instances; none may belong to this daemon.
    for p in daemons {
        let ppid = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            !ppid.contains(&format!(" {pid} ")),
            "instance {p} of the stopped daemon survived"
        );
    }
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert!(stats.get("precision_errors").is_some());
    let instance = stats
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| *k != "precision_errors")
        .unwrap()
        .1;
    assert!(
        instance["number of measurements"].as_u64().unwrap() >= 1,
        "{stats}"
    );
}

#[test]
fn process_fills_provider_times_billing_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    benchmark_invoke("110.dynamic-html", tmp.path())
        .args(["--repetitions", "3"])
        .assert()
        .success();
    sebs(&repo())
        .args(["benchmark", "process", "--output-dir"])
        .arg(tmp.path())
        .assert()
        .success();
    let all = one_function_invocations(&document(&tmp.path().join("results.json")));
    assert_eq!(all.len(), 3);
    for (i, inv) in all.iter().enumerate() {
        let execution = inv["provider_times"]["execution"].as_u64().unwrap();
        assert!(
            execution > 0 && execution <= inv["times"]["client"].as_u64().unwrap(),
            "{inv}"
        );
        assert_eq!(
            inv["provider_times"]["initialization"].as_u64().unwrap() > 0,
            i == 0,
            "{inv}"
        );
        assert_eq!(inv["billing"]["_memory"], 128);
        assert_eq!(
            inv["billing"]["_billed_time"].as_u64().unwrap(),
            execution.div_ceil(1000).max(1)
        );
        assert!(inv["billing"]["_gb_seconds"].as_f64().unwrap() > 0.0);
        assert!(inv["stats"]["memory_used"].as_f64().unwrap() > 0.0, "{inv}");
    }
}
