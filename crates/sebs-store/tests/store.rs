//! The store against real databases: SQLite files, and a throw-away PostgreSQL cluster where
//! the server is installed. Each check takes a store URL so both databases run the same checks.

mod common;

use std::path::{Path, PathBuf};

use sebs_report::dataset::{Group, Sample};
use sebs_report::rundir::load_runs;
use sebs_report::synthetic::{self, BenchmarkShape};
use sebs_report::table::{GroupStats, Pricing};
use sebs_store::{RunTags, Store, Val};

fn sqlite_url(dir: &Path) -> String {
    dir.join("results.db").display().to_string()
}

fn sebs_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sebs/experiments.json")
}

/// Samples equal field by field, NaN (not measured) equal to NaN.
fn same_sample(a: &Sample, b: &Sample) -> bool {
    let f = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
    f(a.begin, b.begin)
        && a.client == b.client
        && a.benchmark == b.benchmark
        && a.provider == b.provider
        && a.init == b.init
        && f(a.compute, b.compute)
        && f(a.download, b.download)
        && f(a.upload, b.upload)
        && f(a.gb_seconds, b.gb_seconds)
        && a.memory_mb == b.memory_mb
        && (a.cold, a.failed, a.invalid) == (b.cold, b.failed, b.invalid)
}

/// The groups read from the store give the statistics the files give.
fn assert_same_groups(from_files: &[Group], from_store: &[Group]) {
    let key = |g: &Group| (g.function.clone(), g.configuration.clone());
    let mut files: Vec<&Group> = from_files
        .iter()
        .filter(|g| !g.samples.is_empty())
        .collect();
    let mut store: Vec<&Group> = from_store.iter().collect();
    files.sort_by_key(|g| key(g));
    store.sort_by_key(|g| key(g));
    assert_eq!(files.len(), store.len(), "groups");
    for (f, s) in files.iter().zip(&store) {
        assert_eq!(key(f), key(s));
        assert_eq!(f.memory_mb, s.memory_mb, "{}", f.label());
        assert_eq!(f.samples.len(), s.samples.len(), "{}", f.label());
        for (a, b) in f.samples.iter().zip(&s.samples) {
            assert!(same_sample(a, b), "{}: {a:?} != {b:?}", f.label());
        }
        assert_eq!(f.failures, s.failures, "{}", f.label());
        let pricing = Pricing::default();
        assert_eq!(GroupStats::of(f, &pricing), GroupStats::of(s, &pricing));
    }
}

fn check_round_trip_ours(url: &str) {
    let results = tempfile::tempdir().unwrap();
    synthetic::all_runs(results.path()).unwrap();
    let mut store = Store::open(url).unwrap();
    let imported = store.import(results.path(), &RunTags::default()).unwrap();
    let runs = load_runs(results.path()).unwrap();
    assert_eq!(imported.len(), runs.len());
    assert!(imported.iter().all(|i| !i.already));
    for (run, record) in runs.iter().zip(&imported) {
        assert_eq!(run.kind.title(), record.kind);
        let total: usize = run.groups.iter().map(|g| g.samples.len()).sum();
        assert_eq!(record.invocations, total, "{}", record.kind);
        assert_same_groups(&run.groups, &store.run_groups(record.run_id).unwrap());
    }
    // Recorded once: a second import finds every run.
    let again = store.import(results.path(), &RunTags::default()).unwrap();
    assert!(again.iter().all(|i| i.already));
    assert_eq!(store.runs().unwrap().len(), runs.len());
    // Runs with a `config` block name the local platform; the CSV-only ones name none.
    let platforms = store
        .query("SELECT p.name, COUNT(*) FROM runs r JOIN platforms p ON p.id = r.platform_id GROUP BY p.name ORDER BY p.name")
        .unwrap();
    let names: Vec<(String, i64)> = platforms
        .rows
        .iter()
        .map(|r| (r[0].as_text(), r[1].as_i64().unwrap()))
        .collect();
    let local = runs
        .iter()
        .filter(|r| r.config["deployment"]["name"] == "local")
        .count() as i64;
    assert!(local >= 2, "{local}");
    let expected = [
        ("local".to_owned(), local),
        ("unknown".to_owned(), runs.len() as i64 - local),
    ];
    assert_eq!(names, expected);
}

fn check_round_trip_sebs(url: &str) {
    let mut store = Store::open(url).unwrap();
    let imported = store.import(&sebs_fixture(), &RunTags::default()).unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].invocations, 4);
    let runs = load_runs(&sebs_fixture()).unwrap();
    assert_same_groups(
        &runs[0].groups,
        &store.run_groups(imported[0].run_id).unwrap(),
    );
    let q = store
        .query(
            "SELECT p.name, p.region, c.benchmark, c.language_version, COUNT(*) AS n, SUM(i.failed) AS failed, SUM(m.execution_us) AS provider
             FROM invocations i JOIN runs r ON r.id = i.run_id JOIN platforms p ON p.id = r.platform_id
             JOIN configurations c ON c.id = i.configuration_id LEFT JOIN provider_metrics m ON m.invocation_id = i.id
             GROUP BY p.name, p.region, c.benchmark, c.language_version",
        )
        .unwrap();
    let row: Vec<String> = q.rows[0].iter().map(|c| c.as_text()).collect();
    assert_eq!(
        row[..6],
        ["aws", "us-east-1", "110.dynamic-html", "3.8", "4", "1"]
    );
    assert_eq!(row[6].parse::<f64>().unwrap(), 127_300.0);
}

fn check_concurrent_writers(url: &str) {
    const WRITERS: usize = 4;
    const RUNS_EACH: usize = 3;
    let results = tempfile::tempdir().unwrap();
    let shared = results.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    synthetic::benchmark_run(
        &shared,
        &BenchmarkShape {
            seed: 999,
            ..Default::default()
        },
    )
    .unwrap();
    let mut dirs = Vec::new();
    for w in 0..WRITERS {
        let mut mine = Vec::new();
        for r in 0..RUNS_EACH {
            let dir = results.path().join(format!("w{w}-r{r}"));
            std::fs::create_dir_all(&dir).unwrap();
            let shape = BenchmarkShape {
                seed: (w * 100 + r) as u64,
                invocations: 150,
                ..Default::default()
            };
            synthetic::benchmark_run(&dir, &shape).unwrap();
            mine.push(dir);
        }
        dirs.push(mine);
    }
    Store::open(url).unwrap();
    std::thread::scope(|scope| {
        for mine in &dirs {
            let shared = &shared;
            scope.spawn(move || {
                let mut store = Store::open(url).unwrap();
                for dir in mine {
                    store.import(shared, &RunTags::default()).unwrap();
                    store.import(dir, &RunTags::default()).unwrap();
                }
            });
        }
    });
    let mut store = Store::open(url).unwrap();
    let count =
        |store: &mut Store, sql: &str| store.rows(sql, &[]).unwrap()[0][0].as_i64().unwrap();
    assert_eq!(
        count(&mut store, "SELECT COUNT(*) FROM runs"),
        (WRITERS * RUNS_EACH + 1) as i64
    );
    assert_eq!(
        count(&mut store, "SELECT COUNT(*) FROM invocations"),
        (WRITERS * RUNS_EACH * 150 + 200) as i64
    );
    assert_eq!(count(&mut store, "SELECT COUNT(*) FROM platforms"), 1);
    assert_eq!(count(&mut store, "SELECT COUNT(*) FROM configurations"), 1);
}

/// A v1 store holding a run as v1 wrote it: migrated to v2, the run reads back unchanged and
/// the new tables work.
fn check_migration(url: &str) {
    let mut store = Store::open_unmigrated(url).unwrap();
    assert_eq!(store.version().unwrap(), 0);
    assert_eq!(store.migrate_to(1).unwrap(), (0, 1));
    let ddl = "INSERT INTO platforms (name, region) VALUES ('local', '')";
    store.execute(ddl, &[]).unwrap();
    store
        .execute(
            "INSERT INTO configurations (digest, benchmark, function_name, label, memory_mb, language, language_version, settings)
             VALUES ('d1', '110.dynamic-html', 'f', 'warm', 256, 'python', '3.11', '{}')",
            &[],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO runs (digest, kind, source, platform_id, started, ended, imported_at, config)
             VALUES ('r1', 'benchmark invoke', 'out', 1, 10.0, 20.0, 'then', '{}')",
            &[],
        )
        .unwrap();
    for seq in 0..3i64 {
        store
            .execute(
                "INSERT INTO invocations (run_id, configuration_id, seq, begin_s, client_us, benchmark_us, compute_us, download_us, upload_us, cold, failed, invalid)
                 VALUES (1, 1, ?, ?, ?, 900, NULL, NULL, NULL, 0, 0, 0)",
                &[Val::int(seq), Val::real(10.0 + seq as f64), Val::int(1000 + seq)],
            )
            .unwrap();
    }
    // A v1 store cannot hold studies yet.
    assert!(store.query("SELECT COUNT(*) FROM studies").is_err());
    drop(store);
    let mut store = Store::open(url).unwrap();
    assert_eq!(store.version().unwrap(), 2);
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].invocations, runs[0].slot), (3, None));
    let groups = store.run_groups(1).unwrap();
    let clients: Vec<u32> = groups[0].samples.iter().map(|s| s.client).collect();
    assert_eq!(clients, [1000, 1001, 1002]);
    assert_eq!(groups[0].memory_mb, Some(256));
    let suite = serde_json::json!({"name": "s"});
    let every = std::time::Duration::from_secs(60);
    let study = store.begin_study("s", &suite, every, every * 3).unwrap();
    assert_eq!(study.slots, 3);
    let versions = store
        .query("SELECT version FROM schema_version ORDER BY version")
        .unwrap();
    assert_eq!(versions.rows.len(), 2);
}

#[test]
fn sqlite_round_trips_our_results() {
    let dir = tempfile::tempdir().unwrap();
    check_round_trip_ours(&sqlite_url(dir.path()));
}

#[test]
fn sqlite_round_trips_sebs_experiments_json() {
    let dir = tempfile::tempdir().unwrap();
    check_round_trip_sebs(&format!("sqlite:{}", sqlite_url(dir.path())));
}

#[test]
fn sqlite_concurrent_writers_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    check_concurrent_writers(&sqlite_url(dir.path()));
}

#[test]
fn sqlite_migrates_from_v1() {
    let dir = tempfile::tempdir().unwrap();
    check_migration(&sqlite_url(dir.path()));
}

#[test]
fn bad_store_locations_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/results.db");
    let error = Store::open(missing.to_str().unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("does not exist"), "{error}");
    let not_db = dir.path().join("text.db");
    std::fs::write(
        &not_db,
        "this is not a database, it is a text file of some length .....",
    )
    .unwrap();
    let error = format!("{:#}", Store::open(not_db.to_str().unwrap()).err().unwrap());
    assert!(
        error.contains("not a SQLite database") || error.contains("not a database"),
        "{error}"
    );
    let mut store = Store::open(&sqlite_url(dir.path())).unwrap();
    let error = format!("{:#}", store.query("SELECT nope FROM runs").unwrap_err());
    assert!(error.contains("nope"), "{error}");
}

#[test]
fn postgres_passes_the_same_checks() {
    let Some(cluster) = common::PgCluster::start("postgres_passes_the_same_checks") else {
        return;
    };
    check_round_trip_ours(&cluster.database("ours"));
    check_round_trip_sebs(&cluster.database("sebs"));
    check_concurrent_writers(&cluster.database("concurrent"));
    check_migration(&cluster.database("migration"));
    // A user's query reads types the store itself never writes (NUMERIC, dates).
    let mut store = Store::open(&cluster.database("types")).unwrap();
    let q = store
        .query("SELECT 1.5::numeric AS x, DATE '2026-12-02' AS d, NULL::text AS n, true AS b")
        .unwrap();
    assert_eq!(q.columns, ["x", "d", "n", "b"]);
    assert_eq!(
        q.json().split_whitespace().collect::<String>(),
        "[{\"b\":1,\"d\":\"2026-12-02\",\"n\":null,\"x\":1.5}]"
    );
}

/// Two connections to one PostgreSQL store: the study is shared and a slot is claimed once.
#[test]
fn postgres_claims_each_slot_once() {
    use sebs_store::schedule::SlotStatus;
    let Some(cluster) = common::PgCluster::start("postgres_claims_each_slot_once") else {
        return;
    };
    let url = cluster.database("slots");
    let (mut a, mut b) = (Store::open(&url).unwrap(), Store::open(&url).unwrap());
    let minute = std::time::Duration::from_secs(60);
    let suite = serde_json::json!({"name": "s"});
    let study = a.begin_study("s", &suite, minute, minute * 3).unwrap();
    assert_eq!(
        b.begin_study("s", &suite, minute, minute * 3).unwrap(),
        study
    );
    assert!(
        a.claim_slot(study.id, 0, SlotStatus::Running, "a:1")
            .unwrap()
    );
    assert!(
        !b.claim_slot(study.id, 0, SlotStatus::Running, "b:2")
            .unwrap()
    );
    assert!(
        b.claim_slot(study.id, 1, SlotStatus::Missed, "b:2")
            .unwrap()
    );
    a.finish_slot(study.id, 0, SlotStatus::Done, "").unwrap();
    let slots: Vec<(i64, String, String)> = b
        .slots(study.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.slot, s.status, s.owner))
        .collect();
    assert_eq!(
        slots,
        [
            (0, "done".into(), "a:1".into()),
            (1, "missed".into(), "b:2".into())
        ]
    );
    // Closing a connection from async code (the CLI drops its store there) does not panic.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        drop(a);
        drop(b);
    });
}
