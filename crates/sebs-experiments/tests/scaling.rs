//! scaling on the deterministic fake platform: a scripted scale-out under a step load gives
//! exactly the expected cold starts, instance counts (the platform's and the inferred ones),
//! throughput and time to scale; `--resume` restarts at the first window not completed.

mod common;

use std::time::Duration;

use common::{Run, journal, read_json};
use sebs_experiments::scaling::{Pacer, Scaling};
use sebs_experiments::{ExperimentKind, Plan};
use sebs_platforms::fake::FakeScript;
use serde_json::{Value, json};

/// Each invocation holds its instance for 0.9 s; instances are kept for a minute.
fn script() -> FakeScript {
    FakeScript {
        busy: Duration::from_millis(900),
        keep_alive: Duration::from_secs(60),
        ..FakeScript::default()
    }
}

fn planned(run: &Run) -> Scaling {
    Scaling::plan(&run.settings().config)
        .unwrap()
        .with_pacer(Pacer::Tokio)
}

fn step_config(window: f64) -> Value {
    json!({"scaling": {
        "benchmark": "010.sleep",
        "load": {"type": "step", "from": 1, "to": 4, "at": 2, "duration": 4},
        "window": window,
    }})
}

fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(i).unwrap().to_owned())
        .collect()
}

// 1 req/s at 0.5 and 1.5 s: one instance, A. From 2 s, 4 req/s at 2.125, 2.375, ..., 3.875,
// each holding an instance 0.9 s: 2.125 and 2.375 find A busy (until 2.4) and start B and C,
// 2.625 takes A, 2.875 finds all three busy and starts D; from 3.125 each request finds the
// instance that served the one four before it idle.
#[tokio::test(start_paused = true)]
async fn a_step_scales_out_exactly_as_scripted() {
    let run = Run::new(step_config(10.0));
    let fake = run.fake(script());
    let outcome = run.run_planned(planned(&run), &fake, false).await.unwrap();
    let dir = run.out.join("scaling");
    assert_eq!(outcome.results, dir.join("scaling.json"));
    assert_eq!(fake.invocations(), 10);
    assert!(
        outcome.summary.contains(
            "requests: 10 (0 dropped, 0 failed, 10 ok, 0 throttled, 0 timeout); 4 cold starts"
        ),
        "{}",
        outcome.summary
    );
    let doc = read_json(&outcome.results);
    let cold: Vec<bool> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cold"].as_bool().unwrap())
        .collect();
    assert_eq!(
        cold,
        [
            true, false, true, true, false, true, false, false, false, false
        ]
    );
    for r in doc["requests"].as_array().unwrap() {
        assert_eq!(r["lag_us"], 0, "the paused clock sends on time");
        assert_eq!(r["latency_us"], 900_000);
    }
    // Samples at 0, 1, ..., 5 s (the last after every response).
    let live: Vec<u64> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["live"].as_u64().unwrap())
        .collect();
    assert_eq!(live, [0, 1, 1, 4, 4, 4]);

    let processed = sebs_experiments::process(ExperimentKind::Scaling, &run.process_context())
        .await
        .unwrap();
    assert_eq!(processed.path, dir.join("timeseries.csv"));
    let csv = std::fs::read_to_string(&processed.path).unwrap();
    assert_eq!(column(&csv, "offered"), ["1", "1", "4", "4", "0", "0"]);
    assert_eq!(column(&csv, "completed"), ["0", "1", "1", "4", "4", "0"]);
    assert_eq!(column(&csv, "cold"), ["1", "0", "3", "0", "0", "0"]);
    assert_eq!(
        column(&csv, "live_instances"),
        ["0", "1", "1", "4", "4", "4"]
    );
    assert_eq!(
        column(&csv, "inferred_instances"),
        ["1", "1", "4", "4", "4", "0"]
    );
    assert_eq!(column(&csv, "response_p99_ms")[2], "900.000");
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["instances_seen"], 4);
    assert_eq!(summary["peak_live_instances"], 4);
    assert_eq!(summary["live_instances_after_load"], 4);
    // From the step at 2 s, the completion at 3.775 is the first whose trailing second holds
    // 95% of 4 req/s in completions (3.025, 3.275, 3.525, 3.775).
    let scale = summary["time_to_scale"].as_array().unwrap();
    assert_eq!(scale.len(), 2);
    assert_eq!(scale[1]["target_rps"], 4.0);
    let seconds = scale[1]["seconds"].as_f64().unwrap();
    assert!((seconds - 1.775).abs() < 1e-6, "{seconds}");
    let levels = std::fs::read_to_string(dir.join("load-latency.csv")).unwrap();
    assert_eq!(column(&levels, "offered_rps"), ["1", "4"]);
    assert_eq!(column(&levels, "cold_fraction"), ["0.5000", "0.3750"]);
}

#[tokio::test(start_paused = true)]
async fn resume_restarts_at_the_first_window_not_completed() {
    let run = Run::new(step_config(2.0));
    let fake = run.fake(script());
    run.run_planned(planned(&run), &fake, false).await.unwrap();
    let dir = run.out.join("scaling");
    let path = dir.join("journal.jsonl");
    // Keep the first window (the two requests of 0-2 s) as if the run had stopped at 2.5 s.
    let kept: Vec<String> = journal(&path)
        .into_iter()
        .filter(|r| r["record"] == "request" && r["window"] == 0)
        .map(|r| r.to_string())
        .collect();
    assert_eq!(kept.len(), 2);
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    std::fs::remove_file(dir.join("scaling.json")).unwrap();

    let before = fake.invocations();
    run.run_planned(planned(&run), &fake, true).await.unwrap();
    assert_eq!(
        fake.invocations() - before,
        8,
        "only window 1 (2-4 s) runs again"
    );
    let doc = read_json(&dir.join("scaling.json"));
    let attempts: Vec<(u64, u64)> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["attempt"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(u64, u64)> = (0..10).map(|i| (i, if i < 2 { 1 } else { 2 })).collect();
    assert_eq!(attempts, expected);
}

#[test]
fn a_bad_load_names_the_key_to_fix() {
    let run =
        Run::new(json!({"scaling": {"load": {"type": "step", "from": 1, "to": 2, "duration": 3}}}));
    let err = run.try_settings().err().unwrap();
    assert!(format!("{err:#}").contains("`at`"), "{err:#}");
    let run = Run::new(json!({"scaling": {"trigger": "carrier-pigeon"}}));
    let err = Scaling::plan(&run.settings().config).err().unwrap();
    assert!(
        err.to_string().contains("experiments.scaling.trigger"),
        "{err}"
    );
    let run = Run::new(json!({"scaling": {"load": {"type": "trace", "path": "/nonexistent.csv"}}}));
    let err = Scaling::plan(&run.settings().config).err().unwrap();
    assert!(format!("{err:#}").contains("load.path"), "{err:#}");
}
