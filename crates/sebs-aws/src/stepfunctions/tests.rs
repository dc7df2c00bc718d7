use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::asl::{Target, translate};
use super::history::{Context, Event, to_run};
use sebs_workflows::{Definition, State};

fn arns() -> BTreeMap<String, String> {
    ["gen", "fix", "proc"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                format!("arn:aws:lambda:us-east-1:123456789012:function:sebs-t-{f}"),
            )
        })
        .collect()
}

fn definition(v: Value) -> Definition {
    Definition::parse(&v.to_string(), Path::new("definition.json")).unwrap()
}

fn every_state() -> Definition {
    definition(json!({"root": "start", "states": {
        "start": {"type": "task", "func_name": "gen", "next": "check", "failure": "recover"},
        "recover": {"type": "task", "func_name": "fix"},
        "check": {"type": "switch", "cases": [
            {"var": "n", "op": "<", "val": 3, "next": "fan"},
            {"var": "meta.mode", "op": ">=", "val": "x", "next": "steps"},
            {"var": "flag", "op": "==", "val": true, "next": "chain"}
        ], "default": "both"},
        "fan": {"type": "map", "array": "items", "root": "work", "common_params": "bucket,n",
                "states": {"work": {"type": "task", "func_name": "proc"}}, "next": "steps"},
        "steps": {"type": "loop", "func_name": "proc", "array": "items", "next": "chain"},
        "chain": {"type": "repeat", "func_name": "proc", "count": 3},
        "both": {"type": "parallel", "parallel_functions": [
            {"root": "left", "states": {"left": {"type": "task", "func_name": "proc"}}},
            {"root": "right", "states": {"right": {"type": "task", "func_name": "fix"}}}
        ]}
    }}))
}

#[test]
fn every_state_type_translates_to_its_states_language_counterpart() {
    let functions = arns();
    let target = Target {
        functions: &functions,
        max_concurrency: 10,
        comment: "t",
    };
    let t = translate(&every_state(), &target).unwrap();
    let states = &t.asl["States"];
    assert_eq!(t.asl["StartAt"], "start");
    let proc_arn = "arn:aws:lambda:us-east-1:123456789012:function:sebs-t-proc";
    assert_eq!(
        states["start"],
        json!({
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:sebs-t-gen",
            "ResultSelector": {"sebs.$": "States.StringToJson($.body)"},
            "OutputPath": "$.sebs.result",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "recover"}],
            "Next": "check"
        })
    );
    assert_eq!(states["recover"]["End"], true);
    assert_eq!(
        states["check"],
        json!({"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericLessThan": 3, "Next": "fan"},
            {"Variable": "$.meta.mode", "StringGreaterThanEquals": "x", "Next": "steps"},
            {"Variable": "$.flag", "BooleanEquals": true, "Next": "chain"}
        ], "Default": "both"})
    );
    let fan = &states["fan"];
    assert_eq!(fan["Type"], "Map");
    assert_eq!(fan["ItemsPath"], "$.items");
    assert_eq!(fan["ResultPath"], "$.items");
    assert_eq!(fan["MaxConcurrency"], 10);
    assert_eq!(
        fan["ItemSelector"],
        json!({"array_element.$": "$$.Map.Item.Value", "bucket.$": "$.bucket", "n.$": "$.n"})
    );
    assert_eq!(fan["ItemProcessor"]["StartAt"], "fan/work");
    assert_eq!(
        fan["ItemProcessor"]["States"]["fan/work"]["Resource"],
        proc_arn
    );
    assert_eq!(fan["ItemProcessor"]["States"]["fan/work"]["End"], true);
    assert_eq!(fan["Next"], "steps");
    let steps = &states["steps"];
    assert_eq!(steps["MaxConcurrency"], 1);
    assert!(
        steps.get("ItemSelector").is_none(),
        "a loop passes bare elements"
    );
    assert_eq!(steps["ItemProcessor"]["StartAt"], "steps/proc");
    assert_eq!(states["chain"]["Next"], "chain#1");
    assert_eq!(states["chain#1"]["Next"], "chain#2");
    assert_eq!(states["chain#2"]["End"], true);
    let both = &states["both"];
    assert_eq!(
        both["ResultSelector"],
        json!({"left.$": "$[0]", "right.$": "$[1]"})
    );
    assert_eq!(both["Branches"][0]["StartAt"], "both[0]/left");
    assert_eq!(both["Branches"][1]["States"]["both[1]/right"]["End"], true);

    let info = &t.names["fan/work"];
    assert_eq!(
        (info.state.as_str(), info.kind, info.instance.as_str()),
        ("fan/work", "task", "fan[{}]/work")
    );
    assert_eq!(t.names["steps/proc"].instance, "steps[{}]");
    assert_eq!(t.names["steps/proc"].kind, "loop");
    assert_eq!(t.names["chain#2"].instance, "chain#2");
    assert_eq!(t.names["both[1]/right"].state, "both/right");
    assert_eq!(t.names["both[1]/right"].func_name.as_deref(), Some("fix"));
}

#[test]
fn what_the_states_language_cannot_express_is_named() {
    let functions = arns();
    let target = Target {
        functions: &functions,
        max_concurrency: 0,
        comment: "t",
    };
    // Definitions that `Definition::parse` would refuse, built directly: the translation
    // does not rely on the validation having run.
    let case = sebs_workflows::Case {
        var: "a".into(),
        op: sebs_workflows::Op::Eq,
        val: json!({"x": 1}),
        next: "t".into(),
    };
    let object = Definition {
        root: "s".into(),
        states: BTreeMap::from([
            (
                "s".into(),
                State::Switch(sebs_workflows::Switch {
                    cases: vec![case],
                    default: None,
                }),
            ),
            (
                "t".into(),
                State::Task(sebs_workflows::Task {
                    func_name: "gen".into(),
                    next: None,
                    failure: None,
                }),
            ),
        ]),
    };
    let err = translate(&object, &target).unwrap_err().to_string();
    assert!(err.contains("state `s`, field `cases[0].val`"), "{err}");
    let missing =
        definition(json!({"root": "t", "states": {"t": {"type": "task", "func_name": "nope"}}}));
    let err = translate(&missing, &target).unwrap_err().to_string();
    assert!(
        err.contains("state `t`: function `nope` was not deployed"),
        "{err}"
    );
    let bad_path = Definition {
        root: "m".into(),
        states: BTreeMap::from([(
            "m".into(),
            State::Loop(sebs_workflows::Loop {
                func_name: "gen".into(),
                array: "a b".into(),
                next: None,
            }),
        )]),
    };
    let err = translate(&bad_path, &target).unwrap_err().to_string();
    assert!(err.contains("state `m`, field `array`"), "{err}");
}

fn ev(id: i64, previous: i64, timestamp: f64, kind: &str) -> Event {
    Event {
        id,
        previous,
        timestamp,
        kind: kind.into(),
        ..Event::default()
    }
}

fn named(mut e: Event, name: &str) -> Event {
    e.name = Some(name.into());
    e
}

fn lambda_ok(
    id: i64,
    previous: i64,
    ts: f64,
    begin: f64,
    end: f64,
    cold: bool,
    container: &str,
) -> Event {
    let body = json!({"begin": format!("{begin:.6}"), "end": format!("{end:.6}"), "is_cold": cold,
                      "container_id": container, "request_id": format!("r{id}"), "result": {}});
    let mut e = ev(id, previous, ts, "LambdaFunctionSucceeded");
    e.output = Some(json!({"statusCode": 200, "body": body.to_string()}).to_string());
    e
}

/// A start → map of two → one-step repeat execution, as Step Functions records it: the map's
/// iterations are threads from `MapStateStarted`, and `MapStateSucceeded` follows the last.
#[test]
fn a_history_becomes_the_engines_record_with_its_joins() {
    let def = definition(json!({"root": "start", "states": {
        "start": {"type": "task", "func_name": "gen", "next": "fan"},
        "fan": {"type": "map", "array": "items", "root": "work",
                "states": {"work": {"type": "task", "func_name": "proc"}}, "next": "chain"},
        "chain": {"type": "repeat", "func_name": "fix", "count": 1}
    }}));
    let functions = arns();
    let t = translate(
        &def,
        &Target {
            functions: &functions,
            max_concurrency: 0,
            comment: "t",
        },
    )
    .unwrap();
    let mut iter0 = ev(9, 8, 10.6, "MapIterationStarted");
    iter0.index = Some(0);
    let mut iter1 = ev(10, 8, 10.6, "MapIterationStarted");
    iter1.index = Some(1);
    let mut done = ev(27, 26, 12.5, "ExecutionSucceeded");
    done.output = Some(r#"{"ok": true}"#.into());
    let events = vec![
        ev(1, 0, 10.0, "ExecutionStarted"),
        named(ev(2, 1, 10.05, "TaskStateEntered"), "start"),
        ev(3, 2, 10.06, "LambdaFunctionScheduled"),
        ev(4, 3, 10.08, "LambdaFunctionStarted"),
        lambda_ok(5, 4, 10.45, 10.1, 10.4, true, "c1"),
        named(ev(6, 5, 10.46, "TaskStateExited"), "start"),
        named(ev(7, 6, 10.5, "MapStateEntered"), "fan"),
        ev(8, 7, 10.55, "MapStateStarted"),
        iter0,
        iter1,
        named(ev(11, 9, 10.7, "TaskStateEntered"), "fan/work"),
        named(ev(12, 10, 10.7, "TaskStateEntered"), "fan/work"),
        ev(13, 11, 10.75, "LambdaFunctionScheduled"),
        ev(14, 12, 10.75, "LambdaFunctionScheduled"),
        lambda_ok(15, 13, 11.6, 11.0, 11.5, false, "c1"),
        lambda_ok(16, 14, 12.05, 11.0, 12.0, true, "c2"),
        named(ev(17, 15, 11.61, "TaskStateExited"), "fan/work"),
        named(ev(18, 16, 12.06, "TaskStateExited"), "fan/work"),
        ev(19, 17, 11.62, "MapIterationSucceeded"),
        ev(20, 18, 12.07, "MapIterationSucceeded"),
        ev(21, 20, 12.08, "MapStateSucceeded"),
        named(ev(22, 21, 12.09, "MapStateExited"), "fan"),
        named(ev(23, 22, 12.1, "TaskStateEntered"), "chain"),
        ev(24, 23, 12.12, "LambdaFunctionScheduled"),
        lambda_ok(25, 24, 12.45, 12.2, 12.3, false, "c3"),
        named(ev(26, 25, 12.46, "TaskStateExited"), "chain"),
        done,
    ];
    let ctx = Context {
        workflow: "w",
        request_id: "req",
        names: &t.names,
        memory_mb: 1024,
    };
    let run = to_run(&events, &ctx);
    assert!(run.succeeded());
    assert_eq!((run.begin, run.end), (10.0, 12.5));
    assert_eq!(run.output, json!({"ok": true}));
    assert_eq!(run.transitions, 5, "start, fan, work twice, chain");
    let summary: Vec<(&str, &str, Vec<usize>, f64, f64)> = run
        .executions
        .iter()
        .map(|x| {
            (
                x.instance.as_str(),
                x.kind.as_str(),
                x.after.clone(),
                x.begin,
                x.end,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("start", "task", vec![], 10.1, 10.4),
            ("fan[0]/work", "task", vec![0], 11.0, 11.5),
            ("fan[1]/work", "task", vec![0], 11.0, 12.0),
            ("chain#0", "repeat", vec![1, 2], 12.2, 12.3),
        ]
    );
    let f = run.executions[2].function.as_ref().unwrap();
    assert_eq!(
        (f.func_name.as_str(), f.cold, f.container_id.as_str()),
        ("proc", true, "c2")
    );
    assert_eq!(f.request_id, "r16");
    assert!((f.gb_seconds - 1.0).abs() < 1e-9, "{}", f.gb_seconds);
    assert!((run.executions[2].dispatched - 10.75).abs() < 1e-9);
    assert!((run.executions[2].returned - 12.05).abs() < 1e-9);
}

#[test]
fn a_failed_execution_names_the_state_and_error() {
    let def = definition(
        json!({"root": "start", "states": {"start": {"type": "task", "func_name": "gen"}}}),
    );
    let functions = arns();
    let t = translate(
        &def,
        &Target {
            functions: &functions,
            max_concurrency: 0,
            comment: "t",
        },
    )
    .unwrap();
    let mut failed = ev(4, 3, 1.5, "LambdaFunctionFailed");
    failed.error = Some("ValueError".into());
    failed.cause = Some("bad input".into());
    let mut end = ev(6, 5, 1.6, "ExecutionFailed");
    end.error = Some("ValueError".into());
    end.cause = Some("bad input".into());
    let events = vec![
        ev(1, 0, 1.0, "ExecutionStarted"),
        named(ev(2, 1, 1.1, "TaskStateEntered"), "start"),
        ev(3, 2, 1.2, "LambdaFunctionScheduled"),
        failed,
        ev(5, 4, 1.55, "TaskStateFailed"),
        end,
    ];
    let run = to_run(
        &events,
        &Context {
            workflow: "w",
            request_id: "r",
            names: &t.names,
            memory_mb: 128,
        },
    );
    let failure = run.failure.expect("failed");
    assert_eq!(
        (
            failure.state.as_str(),
            failure.error.as_str(),
            failure.cause.as_str()
        ),
        ("start", "ValueError", "bad input")
    );
    let f = run.executions[0].function.as_ref().unwrap();
    assert!(f.failed);
    assert_eq!(f.error.as_deref(), Some("ValueError: bad input"));
    assert_eq!((run.executions[0].begin, run.executions[0].end), (1.2, 1.5));
}
