//! Workflows on AWS Step Functions, checked by two independent implementations of the States
//! Language: every workflow's translation passes npm's `asl-validator` and is accepted by
//! moto's Step Functions (whose parser and interpreter come from LocalStack), and one workflow
//! runs there end to end — moto answers the Lambda invocations with canned SeBS wrapper
//! responses, since it runs no function code — its history read back as the engine's record.
//! Skipped, visibly, without moto or asl-validator (`.ci/run` installs both).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{aws_test_env, repo, start_moto_with};
use sebs_aws::stepfunctions::{self, asl};
use sebs_workflows::{Definition, WorkflowRunner};
use serde_json::{Value, json};

/// Every `definition.json` of the workflow benchmarks and examples.
fn definitions() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in [
        "benchmarks/600.workflows",
        "examples/workflows/600.workflows",
    ] {
        let Ok(dirs) = std::fs::read_dir(repo().join(root)) else {
            continue;
        };
        for dir in dirs.flatten() {
            let def = dir.path().join("definition.json");
            if def.is_file() {
                out.push(def);
            }
        }
    }
    out.sort();
    out
}

fn fake_arns(def: &Definition) -> BTreeMap<String, String> {
    def.functions()
        .into_iter()
        .map(|f| {
            let arn = format!(
                "arn:aws:lambda:us-east-1:123456789012:function:sebs-sfntest-{}",
                f.replace('_', "-")
            );
            (f, arn)
        })
        .collect()
}

fn have(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn moto() -> Option<common::Moto> {
    aws_test_env();
    start_moto_with(
        json!({"lambda": {"use_docker": false}, "stepfunctions": {"execute_state_machine": true}}),
    )
    .await
}

fn backend(moto: &common::Moto, dir: &Path) -> sebs_aws::AwsBackend {
    common::on_moto(dir, &moto.url, "sfntest").backend
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workflow_translates_to_valid_states_language() {
    let defs = definitions();
    assert!(
        !defs.is_empty(),
        "no workflow definitions found under the repository"
    );
    if !have("asl-validator", &["--version"]) {
        eprintln!("SKIPPED: asl-validator is not installed (npm install -g asl-validator@4.0.0)");
        return;
    }
    let Some(moto) = moto().await else {
        eprintln!("SKIPPED: moto_server is not installed (python3 -m pip install 'moto[server]')");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let backend = backend(&moto, tmp.path());
    let clients = backend.clients().await;
    for path in defs {
        let def = Definition::load(&path).unwrap();
        let functions = fake_arns(&def);
        let target = asl::Target {
            functions: &functions,
            max_concurrency: 4,
            comment: "sebs test",
        };
        let t =
            asl::translate(&def, &target).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let file = tmp.path().join("asl.json");
        std::fs::write(&file, serde_json::to_string_pretty(&t.asl).unwrap()).unwrap();
        let out = std::process::Command::new("asl-validator")
            .arg("--json-path")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: asl-validator rejects the translation:\n{}{}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            serde_json::to_string_pretty(&t.asl).unwrap()
        );
        let name = stepfunctions::machine_name(
            "sfntest",
            &path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy(),
        );
        let arn = stepfunctions::deploy(clients, "sfntest", &name, &t.asl)
            .await
            .unwrap_or_else(|e| {
                panic!("{}: moto rejects the state machine: {e:#}", path.display())
            });
        let described = clients
            .sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
            .unwrap();
        let stored: Value = serde_json::from_str(described.definition()).unwrap();
        assert_eq!(stored, t.asl);
    }
    // Deploying again updates in place.
    let listed = stepfunctions::list(clients, "sfntest").await.unwrap();
    assert_eq!(listed.len(), definitions().len());
}

/// The SeBS wrapper's response for a function that returned `result`.
fn wrapper(result: Value, begin: f64, cold: bool, container: &str) -> String {
    let body = json!({"begin": format!("{begin:.6}"), "end": format!("{:.6}", begin + 0.25), "is_cold": cold,
                      "container_id": container, "request_id": uuid_like(begin), "result": result});
    json!({"statusCode": 200, "body": body.to_string()}).to_string()
}

fn uuid_like(begin: f64) -> String {
    format!("req-{}", (begin * 1000.0) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_runs_on_moto_step_functions_and_its_history_becomes_the_record() {
    let Some(moto) = moto().await else {
        eprintln!("SKIPPED: moto_server is not installed (python3 -m pip install 'moto[server]')");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let backend = backend(&moto, tmp.path());
    let clients = backend.clients().await;
    let def = Definition::parse(
        &json!({"root": "gen", "states": {
            "gen": {"type": "task", "func_name": "gen", "next": "check"},
            "check": {"type": "switch", "cases": [{"var": "n", "op": ">", "val": 1, "next": "fan"}], "default": "last"},
            "fan": {"type": "map", "array": "items", "root": "work", "common_params": "n",
                    "states": {"work": {"type": "task", "func_name": "work"}}, "next": "last"},
            "last": {"type": "task", "func_name": "last"}
        }})
        .to_string(),
        Path::new("definition.json"),
    )
    .unwrap();
    // Functions as moto records; their ARNs go into the state machine.
    let (role, _) = sebs_aws::iam::ensure_role(clients, "sfntest")
        .await
        .unwrap();
    let mut deployed = BTreeMap::new();
    for f in def.functions() {
        let name = format!("sebs-sfntest-wf-{f}");
        let zip = zip_with_handler();
        let created = clients
            .lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Python311)
            .role(&role)
            .handler("handler.handler")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(zip.into())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(created.function_arn().is_some());
        deployed.insert(f, name);
    }
    // Invocations in order: gen, then the map's two elements, then last.
    let responses = vec![
        wrapper(
            json!({"n": 2, "items": ["a", "b"], "keep": true}),
            100.0,
            true,
            "c1",
        ),
        wrapper(json!({"done": 1}), 101.0, true, "c2"),
        wrapper(json!({"done": 1}), 101.0, true, "c3"),
        wrapper(json!({"ok": true}), 102.0, false, "c4"),
    ];
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/static/lambda-simple/response',data=sys.argv[2].encode(),headers={'Content-Type':'application/json'}))",
            &moto.url,
            &json!({"results": responses, "region": "us-east-1"}).to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // The backend's path: ARNs looked up, translated, the state machine and its role deployed.
    let spec = sebs_platforms::workflow::WorkflowSpec {
        name: "sebs-sfntest-wf-python-3.11".into(),
        benchmark: "wf".into(),
        definition: def.clone(),
        functions: deployed,
        memory_mb: 256,
        timeout_s: 3,
        concurrency_limit: 1000,
        prices: sebs_workflows::Prices::default(),
    };
    let runner = stepfunctions::runner(clients, "sfntest", &spec)
        .await
        .unwrap();
    let arn = runner.arn.clone();
    let listed = stepfunctions::list(clients, "sfntest").await.unwrap();
    assert_eq!(
        listed,
        vec![("sebs-sfntest-wf-python-3-11".to_string(), arn.clone())]
    );
    let run = runner.run(&json!({"size": "test"})).await;
    assert!(run.succeeded(), "{:?}", run.failure);
    assert_eq!(run.output, json!({"ok": true}));
    let summary: Vec<(String, String, Vec<usize>)> = run
        .executions
        .iter()
        .map(|x| (x.instance.clone(), x.kind.clone(), x.after.clone()))
        .collect();
    assert_eq!(summary.len(), 5, "{summary:?}");
    assert_eq!(summary[0], ("gen".into(), "task".into(), vec![]));
    assert_eq!(summary[1], ("check".into(), "switch".into(), vec![0]));
    let mut elements: Vec<&str> = summary[2..4].iter().map(|s| s.0.as_str()).collect();
    elements.sort();
    assert_eq!(elements, ["fan[0]/work", "fan[1]/work"]);
    assert!(summary[2..4].iter().all(|s| s.2 == vec![1]), "{summary:?}");
    assert_eq!(summary[4].0, "last");
    let mut joined = summary[4].2.clone();
    joined.sort();
    assert_eq!(
        joined,
        vec![2, 3],
        "the last task runs after both map elements"
    );
    let first = run.executions[0].function.as_ref().unwrap();
    assert_eq!(
        (
            first.func_name.as_str(),
            first.cold,
            first.container_id.as_str()
        ),
        ("gen", true, "c1")
    );
    assert_eq!(
        (run.executions[0].begin, run.executions[0].end),
        (100.0, 100.25)
    );
    assert_eq!(run.transitions, 6, "gen, check, fan, work twice, last");
    let metrics = sebs_workflows::analyse(&run, &sebs_workflows::Prices::default());
    assert!(metrics.critical_path > 0.0, "{metrics:?}");

    stepfunctions::delete(clients, &arn).await.unwrap();
    assert!(
        stepfunctions::list(clients, "sfntest")
            .await
            .unwrap()
            .is_empty()
    );
}

/// A zip holding `handler.py` (moto stores the code and runs none of it).
fn zip_with_handler() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("package");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("handler.py"),
        "def handler(event, context):\n    return event\n",
    )
    .unwrap();
    let package = sebs_build::Package {
        dir,
        hash: "h".into(),
        size: 0,
        reused: false,
    };
    std::fs::read(sebs_build::zip_package(&package).unwrap().path).unwrap()
}
