//! What keeps runs from destroying or mixing results: one run per results directory (a second
//! one is refused naming the holder, and the first run's results are intact), and `--resume`
//! refused when the settings that decide a sample changed, unless forced.

mod common;

use common::{Run, ids, journal, read_json, sample_ids};
use sebs_experiments::perf_cost::PerfCost;
use sebs_experiments::{RunRequest, runner};
use sebs_platforms::fake::{FakePlatform, FakeScript};
use serde_json::{Value, json};

fn config(size: &str, memory: &[u64], repetitions: u64) -> Value {
    json!({"perf-cost": {"benchmark": "010.sleep", "experiments": ["cold"], "input-size": size,
           "repetitions": repetitions, "concurrent-invocations": 2, "memory-sizes": memory}})
}

/// `run.run` with `--force`.
async fn resume_forced(
    run: &Run,
    fake: &FakePlatform,
) -> anyhow::Result<sebs_experiments::Outcome> {
    let settings = run.settings();
    let experiment = <PerfCost as sebs_experiments::Plan>::plan(&settings.config)?;
    let request = RunRequest {
        resume: true,
        force: true,
        ..RunRequest::default()
    };
    runner::run_on(experiment, settings, Box::new(fake.clone()), &request).await
}

#[tokio::test(start_paused = true)]
async fn a_second_run_on_the_same_directory_is_refused_and_the_first_is_intact() {
    let run = Run::new(config("test", &[128], 3));
    let fake = run.fake(FakeScript::default());
    let (first, second) = tokio::join!(
        run.run::<PerfCost>(&fake, false),
        run.run::<PerfCost>(&fake, false)
    );
    let (done, refused) = match (first, second) {
        (Ok(done), Err(refused)) | (Err(refused), Ok(done)) => (done, refused.to_string()),
        (first, second) => panic!("one run must be refused: {first:?} / {second:?}"),
    };
    assert!(
        refused.contains(&format!("another sebs run (pid {})", std::process::id())),
        "{refused}"
    );
    assert!(refused.contains("--output-dir"), "{refused}");
    assert_eq!(done.exit_code(), 0);
    // cold: warm-up 1,2; samples 3,4 and 5 (6 surplus): the refused run invoked nothing.
    assert_eq!(fake.invocations(), 6);
    let dir = run.out.join("perf-cost");
    assert_eq!(
        sample_ids(&dir.join("cold_results_128.json")),
        ids(&[3, 4, 5])
    );
    assert_eq!(journal(&dir.join("journal.jsonl")).len(), 4);
}

#[tokio::test(start_paused = true)]
async fn resume_with_another_input_size_or_memory_sizes_is_refused_naming_the_keys() {
    let mut run = Run::new(config("test", &[128], 3));
    let fake = run.fake(FakeScript::default());
    run.run::<PerfCost>(&fake, false).await.unwrap();
    let dir = run.out.join("perf-cost");
    let meta = read_json(&dir.join("journal.meta.json"));
    assert_eq!(
        meta["fingerprint"]["experiments.perf-cost.input-size"],
        "test"
    );
    assert_eq!(meta["fingerprint"]["input-size"], "test");

    run.set_experiments(config("small", &[256], 3));
    let refused = run
        .run::<PerfCost>(&fake, true)
        .await
        .unwrap_err()
        .to_string();
    for key in [
        "experiments.perf-cost.input-size (was \"test\", now \"small\")",
        "experiments.perf-cost.memory-sizes (was [128], now [256])",
        "input-size (was \"test\", now \"small\")",
        "--force",
    ] {
        assert!(refused.contains(key), "missing `{key}` in: {refused}");
    }
    assert_eq!(fake.invocations(), 6, "refused before invoking anything");

    run.set_experiments(config("test", &[256], 3));
    let refused = run
        .run::<PerfCost>(&fake, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("experiments.perf-cost.memory-sizes") && !refused.contains("input-size"),
        "only the changed key: {refused}"
    );

    // More repetitions only continue the same run.
    run.set_experiments(config("test", &[128], 4));
    run.run::<PerfCost>(&fake, true).await.unwrap();
    assert_eq!(sample_ids(&dir.join("cold_results_128.json")).len(), 4);

    run.set_experiments(config("test", &[256], 4));
    let forced = resume_forced(&run, &fake).await.unwrap();
    assert_eq!(forced.exit_code(), 0);
    assert_eq!(sample_ids(&dir.join("cold_results_256.json")).len(), 4);
    let meta = read_json(&dir.join("journal.meta.json"));
    assert_eq!(
        meta["fingerprint"]["experiments.perf-cost.memory-sizes"],
        json!([256])
    );
    assert_eq!(
        meta["forced"],
        json!(["experiments.perf-cost.memory-sizes"])
    );
}

#[tokio::test(start_paused = true)]
async fn a_journal_without_a_fingerprint_still_resumes() {
    let mut run = Run::new(config("test", &[128], 3));
    let fake = run.fake(FakeScript::default());
    run.run::<PerfCost>(&fake, false).await.unwrap();
    let dir = run.out.join("perf-cost");
    // As an older sebs left it.
    std::fs::remove_file(dir.join("journal.meta.json")).unwrap();
    run.set_experiments(config("test", &[128], 4));
    run.run::<PerfCost>(&fake, true).await.unwrap();
    assert_eq!(sample_ids(&dir.join("cold_results_128.json")).len(), 4);
    assert!(
        dir.join("journal.meta.json").is_file(),
        "the resumed run records its fingerprint"
    );
}
