//! What keeps runs from destroying or mixing results: one run per results directory (a second
//! one is refused naming the holder, and the first run's results are intact).

mod common;

use common::{Run, ids, journal, sample_ids};
use sebs_experiments::perf_cost::PerfCost;
use sebs_platforms::fake::FakeScript;
use serde_json::{Value, json};

fn config(size: &str, memory: &[u64], repetitions: u64) -> Value {
    json!({"perf-cost": {"benchmark": "010.sleep", "experiments": ["cold"], "input-size": size,
           "repetitions": repetitions, "concurrent-invocations": 2, "memory-sizes": memory}})
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
