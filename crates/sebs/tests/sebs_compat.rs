//! Compatibility with the real SeBS: the published package (PyPI `serverless-benchmarks`, pinned
//! below, its dependencies pinned by `tests/fixtures/sebs-<version>-constraints.txt`) is
//! installed into a cached virtual environment, and its own artefacts go through `sebs`:
//!
//! - every benchmark directory it ships (`sebs/benchmarks/`), in each of its languages, through
//!   `sebs benchmark invoke … --benchmarks-dir` on the local platform (the internal
//!   microbenchmarks 020/030/040 through the experiments that drive them);
//! - SeBS's own `sebs benchmark statistics` on each `experiments.json` we wrote, and SeBS's
//!   `sebs experiment statistics` on our processed perf-cost results;
//! - its `configs/example.json` with `--deployment local`;
//! - its Le Boudec interval next to ours on one dataset (the documented difference).
//!
//! One line per artefact: `PASS`, `SKIP` (with the reason: only what needs the internet or a
//! language this build does not run), `KNOWN` (a documented difference, see
//! docs/compatibility.md, that still behaves as documented) or `FAIL`. The test fails on any
//! `FAIL`, including a known difference that no longer happens (update the list and the docs).
//!
//! It installs SeBS from PyPI and runs for minutes, so it is ignored by `cargo test`; `.ci/run`
//! runs it with `cargo test -p sebs --test sebs_compat -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The SeBS release tested against.
const SEBS_VERSION: &str = "1.2.0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The suite's own cache: SeBS's directories have our benchmarks' ids, and sharing the other
/// tests' cache would make each side rebuild the other's packages.
fn compat_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sebs-compat-cache")
}

/// The benchmark data tree of the other end-to-end tests' cache, generated once and linked into
/// [`compat_cache`].
fn share_data_tree() {
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-cache/benchmarks-data");
    if !sebs_data::is_complete(&shared, sebs_data::DEFAULT_SEED) {
        let out = Command::new(env!("CARGO_BIN_EXE_sebs"))
            .args(["data", "generate", "--dir"])
            .arg(&shared)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "sebs data generate: {}", text(&out));
    }
    let link = compat_cache().join("benchmarks-data");
    if std::fs::read_link(&link).is_err() {
        std::fs::create_dir_all(compat_cache()).unwrap();
        let _ = std::fs::remove_dir_all(&link);
        std::os::unix::fs::symlink(&shared, &link).unwrap();
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n    ")
}

/// The virtual environment with SeBS installed, made once per target directory.
fn sebs_venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sebs-{SEBS_VERSION}"));
    let marker = dir.join("installed");
    if marker.is_file() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let started = std::time::Instant::now();
    let venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .output()
        .expect("python3 runs");
    assert!(
        venv.status.success(),
        "python3 -m venv failed: {}",
        text(&venv)
    );
    let constraints = repo().join(format!(
        "tests/fixtures/sebs-{SEBS_VERSION}-constraints.txt"
    ));
    let pip = Command::new(dir.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("-c")
        .arg(&constraints)
        .arg(format!("serverless-benchmarks=={SEBS_VERSION}"))
        .output()
        .expect("pip runs");
    assert!(
        pip.status.success(),
        "installing serverless-benchmarks=={SEBS_VERSION} from PyPI failed: {}",
        text(&pip)
    );
    std::fs::write(&marker, SEBS_VERSION).unwrap();
    println!(
        "installed serverless-benchmarks=={SEBS_VERSION} in {} ({:.0} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    dir
}

/// The installed `sebs` package directory (holds `benchmarks/` and `configs/`).
fn sebs_package(venv: &Path) -> PathBuf {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import os, sebs; print(os.path.dirname(sebs.__file__))",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Pass,
    Skip,
    Known,
    Fail,
}

#[derive(Default)]
struct Report {
    lines: Vec<(Status, String)>,
}

impl Report {
    fn add(&mut self, status: Status, artefact: &str, detail: &str) {
        let tag = match status {
            Status::Pass => "PASS",
            Status::Skip => "SKIP",
            Status::Known => "KNOWN",
            Status::Fail => "FAIL",
        };
        let line = format!("{tag:<5} {artefact}: {detail}");
        println!("{line}");
        self.lines.push((status, line));
    }

    fn count(&self, status: Status) -> usize {
        self.lines.iter().filter(|(s, _)| *s == status).count()
    }
}

/// Which step of a benchmark's check a known difference is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Running it through `sebs`.
    Run,
    /// SeBS's `benchmark statistics` on the result.
    Statistics,
}

/// A documented difference: the step fails with `marker` in its output.
struct Known {
    benchmark: &'static str,
    language: &'static str,
    step: Step,
    marker: &'static str,
    why: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        benchmark: "010.sleep",
        language: "nodejs",
        step: Step::Statistics,
        marker: "KeyError: 'result'",
        why: "its Node.js function returns nothing (it does not await its timer), so the response has no `result` and SeBS's statistics stop with KeyError: 'result', as on SeBS's own results",
    },
    Known {
        benchmark: "020.network-benchmark",
        language: "python",
        step: Step::Run,
        marker: "cannot import name 'storage'",
        why: "its function uploads its round trips as CSV through `storage`, but its config.json lists no `storage` module, so sebs packages no storage shim (SeBS always copies its storage wrapper); sebs's network-ping-pong reads the round trips from the function's result",
    },
    Known {
        benchmark: "030.clock-synchronization",
        language: "python",
        step: Step::Run,
        marker: "init.sh failed",
        why: "its python/init.sh copies a file that does not exist; sebs stops on a failing init.sh, SeBS ignores the exit status",
    },
    Known {
        benchmark: "040.server-reply",
        language: "nodejs",
        step: Step::Run,
        marker: "has no nodejs sources",
        why: "config.json lists nodejs but the directory has no nodejs/ sources",
    },
    Known {
        benchmark: "130.crud-api",
        language: "nodejs",
        step: Step::Run,
        marker: "has no nodejs sources",
        why: "config.json lists nodejs but SeBS 1.2.0 ships no nodejs/ sources (they came later)",
    },
    Known {
        benchmark: "311.compression",
        language: "nodejs",
        step: Step::Run,
        marker: "has no nodejs sources",
        why: "config.json lists nodejs but SeBS 1.2.0 ships no nodejs/ sources (they came later)",
    },
];

/// The experiment that drives an internal microbenchmark.
fn driving_experiment(benchmark: &str) -> Option<(&'static str, Value)> {
    match benchmark {
        "020.network-benchmark" => Some((
            "network-ping-pong",
            json!({"invocations": 2, "repetitions": 20}),
        )),
        "030.clock-synchronization" => Some((
            "invocation-overhead",
            json!({"type": "payload", "repetitions": 1, "N": 5, "payload_begin": 1024,
                   "payload_end": 2048, "payload_points": 2}),
        )),
        "040.server-reply" => Some((
            "eviction-model",
            json!({"invocations": 1, "repetitions": 1, "times": [0.5]}),
        )),
        _ => None,
    }
}

/// Why running this benchmark needs the internet, if it does: a URL the function fetches
/// (`input.py`), an `init.sh` that downloads, or a requirement installed from a URL.
fn needs_internet(dir: &Path, language: &str, version: &str) -> Option<String> {
    let url_in = |text: &str, comment: &str| -> Option<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with(comment))
            .find_map(|l| {
                let start = l.find("https://").or_else(|| l.find("http://"))?;
                let url: String = l[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !"'\"".contains(*c))
                    .collect();
                Some(url)
            })
    };
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    if let Some(url) = url_in(&read(dir.join("input.py")), "#") {
        return Some(format!("its input makes the function download {url}"));
    }
    for init in [dir.join("init.sh"), dir.join(language).join("init.sh")] {
        if let Some(url) = url_in(&read(init), "#") {
            return Some(format!("its init.sh downloads {url}"));
        }
    }
    if language == "python" {
        let versioned = dir.join(format!("python/requirements.txt.{version}"));
        let requirements = if versioned.is_file() {
            versioned
        } else {
            dir.join("python/requirements.txt")
        };
        let name = requirements
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if let Some(url) = url_in(&read(requirements), "#") {
            return Some(format!("its {name} installs {url}"));
        }
    }
    None
}

/// Every `GROUP/ID` directory of a catalogue, sorted.
fn benchmark_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for group in std::fs::read_dir(root).unwrap().flatten() {
        for entry in std::fs::read_dir(group.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.path().join("config.json").is_file() {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort_by_key(|d| d.file_name().unwrap().to_owned());
    dirs
}

fn languages(dir: &Path) -> Vec<String> {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    config["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_str()
                .or_else(|| l["language"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn our_sebs(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sebs"));
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// SeBS's `sebs benchmark statistics FILE`. SeBS's CLI exits 0 even after an exception, so the
/// output is checked too.
fn sebs_statistics(venv: &Path, args: &[&str], path: &Path) -> Result<String, String> {
    let out = Command::new(venv.join("bin/sebs"))
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    let log = text(&out);
    let ok = out.status.success()
        && !log.contains("Traceback")
        && !log.contains("Experiments failed")
        && log.contains("Measurement type client_exec");
    if ok {
        let n = log
            .lines()
            .filter(|l| l.contains("Measurement type"))
            .count();
        Ok(format!("{n} statistics lines"))
    } else {
        Err(last_lines(&log, 8))
    }
}

/// Run `sebs` with `args`; `Ok(output)` on exit 0.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().unwrap();
    let log = text(&out);
    if out.status.success() {
        Ok(log)
    } else {
        Err(log)
    }
}

/// Judge a run against the known differences: a run that fails as documented is `KNOWN`.
fn judge(
    report: &mut Report,
    artefact: &str,
    (benchmark, language, step): (&str, &str, Step),
    result: &Result<String, String>,
) -> bool {
    let known = KNOWN
        .iter()
        .find(|k| k.benchmark == benchmark && k.language == language && k.step == step);
    match (result, known) {
        (Ok(_), None) => true,
        (Ok(_), Some(k)) => {
            report.add(
                Status::Fail,
                artefact,
                &format!(
                    "now works, but is listed as a known difference ({}): remove it from KNOWN and docs/compatibility.md",
                    k.why
                ),
            );
            false
        }
        (Err(log), Some(k)) if log.contains(k.marker) => {
            report.add(Status::Known, artefact, k.why);
            false
        }
        (Err(log), _) => {
            report.add(Status::Fail, artefact, &last_lines(log, 6));
            false
        }
    }
}

fn write_config(dir: &Path, experiments: Value) -> PathBuf {
    let mut config = json!({"experiments": {"runtime": {"language": "python"}},
                            "deployment": {"name": "local", "local": {}}});
    for (k, v) in experiments.as_object().unwrap() {
        config["experiments"][k] = v.clone();
    }
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

fn benchmarks(report: &mut Report, venv: &Path, root: &Path, work: &Path) {
    for dir in benchmark_dirs(root) {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        for language in languages(&dir) {
            let artefact = format!("benchmarks/{id} ({language})");
            if !["python", "nodejs"].contains(&language.as_str()) {
                report.add(
                    Status::Skip,
                    &artefact,
                    &format!("{language}: this build runs Python and Node.js benchmarks"),
                );
                continue;
            }
            if let Some(reason) = needs_internet(&dir, &language, "3.11") {
                report.add(
                    Status::Skip,
                    &artefact,
                    &format!("needs the internet: {reason}"),
                );
                continue;
            }
            let out = work.join(format!("{id}-{language}"));
            if let Some((experiment, settings)) = driving_experiment(&id) {
                let mut config = write_config(work, json!({ (experiment): settings }));
                if language == "nodejs" {
                    let mut doc: Value =
                        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
                    doc["experiments"]["runtime"]["language"] = json!("nodejs");
                    config = work.join("config-nodejs.json");
                    std::fs::write(&config, doc.to_string()).unwrap();
                }
                let result = run(our_sebs(work)
                    .args(["experiment", "invoke", experiment, "--config"])
                    .arg(&config)
                    .arg("--benchmarks-dir")
                    .arg(root)
                    .arg("--cache")
                    .arg(compat_cache())
                    .arg("--output-dir")
                    .arg(&out));
                if judge(report, &artefact, (&id, &language, Step::Run), &result) {
                    report.add(
                        Status::Pass,
                        &artefact,
                        &format!("driven by `sebs experiment invoke {experiment}`"),
                    );
                }
                continue;
            }
            let result = run(our_sebs(work)
                .args(["benchmark", "invoke", &id, "test", "--repetitions", "2"])
                .args(["--language", &language, "--benchmarks-dir"])
                .arg(root)
                .arg("--cache")
                .arg(compat_cache())
                .arg("--output-dir")
                .arg(&out));
            if !judge(report, &artefact, (&id, &language, Step::Run), &result) {
                continue;
            }
            report.add(
                Status::Pass,
                &artefact,
                "`sebs benchmark invoke` ran 2 invocations",
            );
            let results = out.join("experiments.json");
            let artefact = format!("`sebs benchmark statistics` (SeBS) on {id} ({language})");
            let statistics = sebs_statistics(venv, &["benchmark", "statistics"], &results);
            if judge(
                report,
                &artefact,
                (&id, &language, Step::Statistics),
                &statistics,
            ) {
                report.add(Status::Pass, &artefact, statistics.as_deref().unwrap_or(""));
            }
        }
    }
}

fn perf_cost(report: &mut Report, venv: &Path, root: &Path, work: &Path) {
    let artefact = "`sebs experiment statistics` (SeBS) on our perf-cost results";
    let config = write_config(
        work,
        json!({"perf-cost": {"benchmark": "110.dynamic-html", "experiments": ["warm", "cold"],
               "input-size": "test", "repetitions": 2, "concurrent-invocations": 2,
               "memory-sizes": [128]}}),
    );
    let out = work.join("perf-cost-run");
    let invoked = run(our_sebs(work)
        .args(["experiment", "invoke", "perf-cost", "--config"])
        .arg(&config)
        .arg("--benchmarks-dir")
        .arg(root)
        .arg("--cache")
        .arg(compat_cache())
        .arg("--output-dir")
        .arg(&out))
    .and_then(|_| {
        run(our_sebs(work)
            .args(["experiment", "process", "perf-cost", "--output-dir"])
            .arg(&out))
    });
    if let Err(log) = invoked {
        report.add(Status::Fail, artefact, &last_lines(&log, 6));
        return;
    }
    let out = Command::new(venv.join("bin/sebs"))
        .args(["experiment", "statistics"])
        .arg(out.join("perf-cost"))
        .output()
        .unwrap();
    let log = text(&out);
    let groups = log
        .lines()
        .filter(|l| l.contains("Measurement type client_exec"))
        .count();
    if out.status.success() && !log.contains("Traceback") && groups >= 2 {
        report.add(
            Status::Pass,
            artefact,
            &format!("{groups} client_exec statistics (warm and cold, 128 MB)"),
        );
    } else {
        report.add(Status::Fail, artefact, &last_lines(&log, 8));
    }
}

fn example_config(report: &mut Report, venv: &Path, package: &Path, work: &Path) {
    let artefact = "configs/example.json with --deployment local";
    let out = work.join("example-config");
    let result = run(our_sebs(work)
        .args(["benchmark", "invoke", "110.dynamic-html", "test"])
        .args(["--repetitions", "1", "--deployment", "local", "--config"])
        .arg(package.join("configs/example.json"))
        .arg("--benchmarks-dir")
        .arg(package.join("benchmarks"))
        .arg("--cache")
        .arg(compat_cache())
        .arg("--output-dir")
        .arg(&out));
    match result {
        Ok(_) => match sebs_statistics(
            venv,
            &["benchmark", "statistics"],
            &out.join("experiments.json"),
        ) {
            Ok(detail) => report.add(
                Status::Pass,
                artefact,
                &format!("110.dynamic-html invoked; SeBS's statistics read the result ({detail})"),
            ),
            Err(log) => report.add(Status::Fail, artefact, &log),
        },
        Err(log) => report.add(Status::Fail, artefact, &last_lines(&log, 6)),
    }
}

/// The dataset docs/compatibility.md shows the two Le Boudec intervals on: 30 client times (ms)
/// of a warm function.
const LE_BOUDEC_DATASET: [f64; 30] = [
    2.91, 3.02, 2.87, 3.15, 2.95, 3.40, 2.88, 3.05, 2.99, 3.22, 2.93, 3.10, 3.31, 2.97, 3.01, 3.08,
    2.90, 3.18, 3.04, 2.96, 3.27, 3.00, 2.94, 3.12, 3.06, 2.89, 3.45, 3.03, 2.98, 3.13,
];

fn le_boudec(report: &mut Report, venv: &Path) {
    let artefact = "sebs.statistics.ci_le_boudec (SeBS) next to ours";
    let ours = sebs_core::stats::median_interval(&LE_BOUDEC_DATASET, 0.95).expect("n = 30");
    let data: Vec<String> = LE_BOUDEC_DATASET.iter().map(|x| x.to_string()).collect();
    let script = format!(
        "from sebs.statistics import ci_le_boudec; print(*ci_le_boudec(0.95, [{}]))",
        data.join(",")
    );
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    let theirs: Vec<f64> = printed
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let mut sorted = LE_BOUDEC_DATASET.to_vec();
    sorted.sort_by(f64::total_cmp);
    // n = 30: floor((30 − 1.96·√30)/2) = 9 and ceil(1 + (30 + 1.96·√30)/2) = 22. Ours reads the
    // 9th and 22nd smallest (1-based, as the textbook); SeBS indexes the sorted list with them
    // (0-based), so it reads the 10th and 23rd.
    let expected_ours = (sorted[8], sorted[21]);
    let expected_theirs = [sorted[9], sorted[22]];
    if (ours.low, ours.high) == expected_ours && theirs == expected_theirs {
        report.add(
            Status::Known,
            artefact,
            &format!(
                "n = 30, 95 %: ours [{}, {}] (order statistics 9 and 22, 1-based), SeBS [{}, {}] (sorted[9], sorted[22], 0-based)",
                ours.low, ours.high, theirs[0], theirs[1]
            ),
        );
    } else {
        report.add(
            Status::Fail,
            artefact,
            &format!(
                "ours [{}, {}], SeBS {printed:?} {}; expected ours {expected_ours:?} and SeBS {expected_theirs:?}",
                ours.low,
                ours.high,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
}

#[test]
#[ignore = "installs SeBS from PyPI and runs its benchmarks for minutes; .ci/run runs it with --ignored"]
fn sebs_release_artefacts_work_with_sebs() {
    let venv = sebs_venv();
    let package = sebs_package(&venv);
    println!(
        "SeBS {SEBS_VERSION} artefacts from {} through {}",
        package.display(),
        env!("CARGO_BIN_EXE_sebs")
    );
    share_data_tree();
    let work = tempfile::tempdir().unwrap();
    let mut report = Report::default();
    benchmarks(&mut report, &venv, &package.join("benchmarks"), work.path());
    perf_cost(&mut report, &venv, &package.join("benchmarks"), work.path());
    example_config(&mut report, &venv, &package, work.path());
    le_boudec(&mut report, &venv);
    println!(
        "{} passed, {} skipped, {} known differences, {} failed",
        report.count(Status::Pass),
        report.count(Status::Skip),
        report.count(Status::Known),
        report.count(Status::Fail)
    );
    let failed: Vec<&str> = report
        .lines
        .iter()
        .filter(|(s, _)| *s == Status::Fail)
        .map(|(_, l)| l.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "SeBS artefacts that failed:\n{}",
        failed.join("\n")
    );
}
