//! The study runner with short intervals: a runner stopped between slots resumes at the next
//! slot; one that comes back after a slot's time records it missed; two runners of one study
//! never run a slot twice. The slot work here only records which slot ran (the CLI's test runs
//! real benchmarks on the local platform).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sebs_store::Store;
use sebs_store::schedule::{RunnerOptions, SlotOutput, Study, now_s, run_study};

const EVERY: Duration = Duration::from_millis(1500);

fn options() -> RunnerOptions {
    RunnerOptions {
        grace: Duration::from_millis(500),
        max_sleep: Duration::from_millis(200),
    }
}

fn begin(url: &str, name: &str, slots: u32) -> (Store, Study) {
    let mut store = Store::open(url).unwrap();
    let suite = serde_json::json!({"name": name});
    let study = store
        .begin_study(name, &suite, EVERY, EVERY * slots)
        .unwrap();
    (store, study)
}

/// A runner that records the slots it ran.
fn recorder(
    ran: &Arc<Mutex<Vec<i64>>>,
) -> impl FnMut(i64) -> std::future::Ready<anyhow::Result<SlotOutput>> + use<> {
    let ran = ran.clone();
    move |k| {
        ran.lock().unwrap().push(k);
        std::future::ready(Ok(Vec::new()))
    }
}

fn statuses(store: &mut Store, study: &Study) -> Vec<(i64, String)> {
    store
        .slots(study.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.slot, s.status))
        .collect()
}

async fn until(deadline_s: f64) {
    let wait = deadline_s - now_s();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_between_slots_resumes_at_the_next_slot() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let (mut store, study) = begin(&url, "resume", 4);
    let ran = Arc::new(Mutex::new(Vec::new()));
    // First runner: stopped (as by a kill) once slot 0 is done, before slot 1 is due.
    let stop = until(study.due(0) + EVERY.as_secs_f64() / 2.0);
    let first = run_study(&mut store, &study, &options(), recorder(&ran), stop)
        .await
        .unwrap();
    assert!(first.stopped);
    assert_eq!(first.ran, [0]);
    // Restarted before slot 1 is due: slots 1 to 3 run, none twice, none missed.
    let (mut store, again) = begin(&url, "resume", 4);
    assert_eq!(again, study, "the stored start time is kept");
    let never = std::future::pending::<()>();
    let second = run_study(&mut store, &study, &options(), recorder(&ran), never)
        .await
        .unwrap();
    assert_eq!(second.ran, [1, 2, 3]);
    assert!(second.missed.is_empty());
    assert_eq!(*ran.lock().unwrap(), [0, 1, 2, 3]);
    let done: Vec<(i64, String)> = (0..4).map(|k| (k, "done".to_owned())).collect();
    assert_eq!(statuses(&mut store, &study), done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_back_after_a_slot_passed_records_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let (mut store, study) = begin(&url, "late", 3);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let stop = until(study.due(0) + 0.3);
    run_study(&mut store, &study, &options(), recorder(&ran), stop)
        .await
        .unwrap();
    // Down until slot 1's grace period is over.
    until(study.due(1) + 0.8).await;
    let (mut store, _) = begin(&url, "late", 3);
    let never = std::future::pending::<()>();
    let back = run_study(&mut store, &study, &options(), recorder(&ran), never)
        .await
        .unwrap();
    assert_eq!(back.missed, [1]);
    assert_eq!(back.ran, [2]);
    assert_eq!(*ran.lock().unwrap(), [0, 2]);
    assert_eq!(
        statuses(&mut store, &study),
        [(0, "done".into()), (1, "missed".into()), (2, "done".into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_of_one_study_run_each_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let (_, study) = begin(&url, "twice", 3);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let runner = |ran: Arc<Mutex<Vec<i64>>>| {
        let url = url.clone();
        let study = study.clone();
        async move {
            let mut store = Store::open(&url).unwrap();
            let never = std::future::pending::<()>();
            run_study(&mut store, &study, &options(), recorder(&ran), never)
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(runner(ran.clone())),
        tokio::spawn(runner(ran.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all: Vec<i64> = a.ran.iter().chain(&b.ran).copied().collect();
    all.sort();
    assert_eq!(all, [0, 1, 2]);
    let mut calls = ran.lock().unwrap().clone();
    calls.sort();
    assert_eq!(calls, [0, 1, 2]);
}

#[test]
fn a_changed_suite_under_the_same_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let mut store = Store::open(&url).unwrap();
    let hour = Duration::from_secs(3600);
    store
        .begin_study("s", &serde_json::json!({"v": 1}), hour, hour * 24)
        .unwrap();
    let error = store
        .begin_study("s", &serde_json::json!({"v": 2}), hour, hour * 24)
        .unwrap_err()
        .to_string();
    assert!(error.contains("another suite"), "{error}");
    let error = store
        .begin_study("s", &serde_json::json!({"v": 1}), hour / 2, hour * 24)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--every"), "{error}");
}

/// A study whose slot runs (synthetic `benchmark invoke` results) get twice as slow from slot 5
/// on: read back as one series with a slot per run, the analysis finds the change at slot 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn study_series_feed_the_analysis() {
    use sebs_report::synthetic::{BenchmarkShape, benchmark_run};
    use sebs_store::RunTags;
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let mut store = Store::open(&url).unwrap();
    let every = Duration::from_millis(100);
    let study = store
        .begin_study(
            "series",
            &serde_json::json!({"name": "series"}),
            every,
            every * 10,
        )
        .unwrap();
    let results = dir.path().to_owned();
    let run_slot = |k: i64| {
        let run = results.join(format!("slot-{k}"));
        std::fs::create_dir_all(&run).unwrap();
        let shape = BenchmarkShape {
            seed: k as u64,
            invocations: 40,
            scale: if k >= 5 { 2.0 } else { 1.0 },
            ..BenchmarkShape::default()
        };
        benchmark_run(&run, &shape).unwrap();
        let tags = RunTags {
            benchmark: Some("110.dynamic-html".into()),
            settings: serde_json::json!({"size": "test"}),
            slot: None,
        };
        std::future::ready(Ok(vec![(run, tags)]))
    };
    let options = RunnerOptions {
        grace: Duration::from_secs(60),
        max_sleep: Duration::from_millis(50),
    };
    let outcome = run_study(
        &mut store,
        &study,
        &options,
        run_slot,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.ran.len(), 10);
    let series = store.study_series(&study).unwrap();
    assert_eq!(series.len(), 1);
    let s = &series[0];
    assert_eq!(s.key.benchmark, "110.dynamic-html");
    assert_eq!(s.key.platform, "local");
    assert!(
        s.key.configuration.contains("size test"),
        "{}",
        s.key.configuration
    );
    let indices: Vec<u64> = s.slots.iter().map(|slot| slot.index).collect();
    assert_eq!(indices, (0..10).collect::<Vec<u64>>());
    assert!(s.slots.iter().all(|slot| slot.invocations.len() == 40));
    let analysis = sebs_stability::analyse(s, &sebs_stability::Params::default()).unwrap();
    let slots: Vec<u64> = analysis
        .change_points
        .iter()
        .map(|c| c.slot_index)
        .collect();
    assert_eq!(slots, [5], "{:?}", analysis.change_points);
}

/// A slot left `running` by a runner of this host that died is recorded `interrupted` by the
/// next runner and not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_whose_runner_died_is_interrupted_not_rerun() {
    use sebs_store::schedule::{SlotStatus, owner_id};
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("s.db").display().to_string();
    let (mut store, study) = begin(&url, "died", 2);
    // A process id no process has (above the kernel's pid_max).
    let host = owner_id().rsplit_once(':').unwrap().0.to_owned();
    let dead = format!("{host}:{}", i32::MAX - 1);
    assert!(
        store
            .claim_slot(study.id, 0, SlotStatus::Running, &dead)
            .unwrap()
    );
    let ran = Arc::new(Mutex::new(Vec::new()));
    let never = std::future::pending::<()>();
    let outcome = run_study(&mut store, &study, &options(), recorder(&ran), never)
        .await
        .unwrap();
    assert_eq!(outcome.interrupted, 1);
    assert_eq!(outcome.ran, [1]);
    assert_eq!(
        statuses(&mut store, &study),
        [(0, "interrupted".into()), (1, "done".into())]
    );
}
