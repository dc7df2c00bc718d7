//! Engine semantics on scripted functions and tokio's paused clock: data passing of every
//! state type, failure routes, switch operators, nested map in parallel, the payload limit, the
//! concurrency bound, and exact critical paths, overheads and transition latencies.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{Scripted, close, script};
use sebs_workflows::{Clock, Definition, Engine, EngineOptions, Prices, WorkflowRunner, analyse};
use serde_json::{Value, json};

fn every_state() -> Definition {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/workflows/600.workflows/601.every-state/definition.json");
    Definition::load(&path).unwrap()
}

fn def(json: Value) -> Definition {
    Definition::parse(&json.to_string(), Path::new("test.json")).unwrap()
}

fn engine(definition: Definition, invoker: Arc<Scripted>, options: EngineOptions) -> Engine {
    Engine::new("wf", definition, invoker.clone(), invoker.clock, options)
}

/// The functions of 601.every-state, each 1 ms before, `run` ms in, 1 ms after.
fn every_state_functions(clock: Clock, run: u64) -> Arc<Scripted> {
    Scripted::new(
        clock,
        vec![
            (
                "prepare",
                script(1, run, 1, |e| {
                    Ok(
                        json!({"numbers": e["numbers"], "factor": e["factor"], "limit": e["limit"], "count": e["numbers"].as_array().unwrap().len()}),
                    )
                }),
            ),
            (
                "reject",
                script(1, run, 1, |e| Ok(json!({"rejected": e["count"]}))),
            ),
            (
                "multiply",
                script(1, run, 1, |e| {
                    Ok(json!(
                        e["array_element"].as_i64().unwrap() * e["factor"].as_i64().unwrap()
                    ))
                }),
            ),
            (
                "increment",
                script(1, run, 1, |e| Ok(json!(e.as_i64().unwrap() + 1))),
            ),
            (
                "combine",
                script(1, run, 1, |e| {
                    let sum = |v: &Value| {
                        v.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_i64().unwrap())
                            .sum::<i64>()
                    };
                    Ok(
                        json!({"total": sum(&e["scale"]["numbers"]) + sum(&e["count_up"]["numbers"]), "steps": 0, "limit": e["scale"]["limit"]}),
                    )
                }),
            ),
            (
                "step",
                script(1, run, 1, |e| {
                    Ok(
                        json!({"total": e["total"].as_i64().unwrap() + 1, "steps": e["steps"].as_i64().unwrap() + 1, "limit": e["limit"]}),
                    )
                }),
            ),
            (
                "check",
                script(1, run, 1, |e| {
                    if e["total"].as_i64() > e["limit"].as_i64() {
                        Err(format!("total {} is over the limit", e["total"]))
                    } else {
                        Ok(json!({"total": e["total"], "checked": true}))
                    }
                }),
            ),
            (
                "recover",
                script(1, run, 1, |e| {
                    Ok(json!({"recovered": e["error"]["Error"], "total": e["total"]}))
                }),
            ),
        ],
    )
}

#[tokio::test(start_paused = true)]
async fn every_state_type_passes_data_as_step_functions_does() {
    let clock = Clock::starting_at(0.0);
    let f = every_state_functions(clock, 10);
    let run = engine(every_state(), f.clone(), EngineOptions::default())
        .run(&json!({"numbers": [1, 2, 3], "factor": 2, "limit": 20}))
        .await;
    assert!(run.succeeded(), "{:?}", run.failure);
    // 2+4+6 + 2+3+4 = 21, three steps: 24 > 20, so `check` failed and `recover` ran.
    assert_eq!(run.output, json!({"recovered": "ValueError", "total": 24}));
    // Map elements got {"array_element", "factor"}; loop elements the bare element.
    let mut mults = f.inputs_of("multiply");
    mults.sort_by_key(|v| v["array_element"].as_i64());
    assert_eq!(
        mults,
        [
            json!({"array_element": 1, "factor": 2}),
            json!({"array_element": 2, "factor": 2}),
            json!({"array_element": 3, "factor": 2})
        ]
    );
    assert_eq!(f.inputs_of("increment"), [json!(1), json!(2), json!(3)]);
    // The parallel output keys branches by root; the map wrote its results back into `numbers`.
    let combine = &f.inputs_of("combine")[0];
    assert_eq!(combine["scale"]["numbers"], json!([2, 4, 6]));
    assert_eq!(combine["count_up"]["numbers"], json!([2, 3, 4]));
    assert_eq!(combine["scale"]["count"], 3);
    // Repeat chains: each step got the previous one's output.
    let steps: Vec<_> = f
        .inputs_of("step")
        .iter()
        .map(|v| v["steps"].clone())
        .collect();
    assert_eq!(steps, [json!(0), json!(1), json!(2)]);
    // The failure state got the failed state's input plus the error.
    let recover = &f.inputs_of("recover")[0];
    assert_eq!(recover["total"], 24);
    assert_eq!(recover["error"]["Error"], "ValueError");
    assert!(
        recover["error"]["Cause"]
            .as_str()
            .unwrap()
            .contains("over the limit")
    );
    assert!(
        f.inputs_of("reject").is_empty(),
        "the switch took its default"
    );
    // Transitions as Step Functions bills them: prepare, route, fan_out, scale (map) + 3
    // times, count_up (loop) + 3 elements, combine, 3 steps, check, recover.
    assert_eq!(run.transitions, 1 + 1 + 1 + 1 + 3 + 1 + 3 + 1 + 3 + 1 + 1);
}

#[tokio::test(start_paused = true)]
async fn critical_path_and_overhead_are_exact() {
    let clock = Clock::starting_at(0.0);
    let f = every_state_functions(clock, 10);
    let run = engine(every_state(), f, EngineOptions::default())
        .run(&json!({"numbers": [1, 2, 3], "factor": 2, "limit": 20}))
        .await;
    let m = analyse(&run, &Prices::aws("us-east-1"));
    // Each invocation: 1 ms to start, 10 ms in the function, 1 ms back. Along the longest
    // path: prepare, the loop's 3 sequential elements, combine, 3 steps, check, recover =
    // 10 invocations of 12 ms = 120 ms in total; the map's 3 concurrent elements (12 ms) hide
    // under the loop (36 ms). `check` failed without reporting times, so its 10 ms count as
    // overhead: 9 × 10 ms on the critical path.
    close(m.total, 0.120);
    close(m.critical_path, 0.090);
    close(m.overhead, 0.030);
    let names: Vec<_> = m
        .critical_states
        .iter()
        .map(|&i| run.executions[i].instance.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "prepare",
            "route",
            "fan_out[1]/count_up[0]",
            "fan_out[1]/count_up[1]",
            "fan_out[1]/count_up[2]",
            "combine",
            "add_steps#0",
            "add_steps#1",
            "add_steps#2",
            "check",
            "recover"
        ]
    );
    // Transitions: start → prepare 1 ms; prepare → route (a switch at the response) 1 ms;
    // between loop elements 2 ms; the last → end 1 ms.
    let latency = |from: Option<&str>, to: Option<&str>| {
        let name = |i: Option<usize>| i.map(|i| run.executions[i].instance.as_str());
        m.transitions
            .iter()
            .find(|t| name(t.from) == from && name(t.to) == to)
            .unwrap()
            .latency
    };
    close(latency(None, Some("prepare")), 0.001);
    close(latency(Some("prepare"), Some("route")), 0.001);
    close(
        latency(Some("route"), Some("fan_out[0]/scale[1]/times")),
        0.001,
    );
    close(
        latency(
            Some("fan_out[1]/count_up[0]"),
            Some("fan_out[1]/count_up[1]"),
        ),
        0.002,
    );
    close(
        latency(Some("fan_out[0]/scale[2]/times"), Some("combine")),
        0.026,
    );
    close(latency(Some("recover"), None), 0.001);
    // Per-state times; 13 invocations, the first of each of the 7 functions cold.
    assert_eq!(m.states["fan_out/scale/times"].executions, 3);
    close(m.states["fan_out/scale/times"].function_time, 0.030);
    assert_eq!(m.invocations, 13);
    assert_eq!(m.cold_starts, 7);
    // Cost: 12 × 10 ms and the failed `check` billed its 12 ms round trip, at 128 MB;
    // 13 requests, 17 transitions, us-east-1.
    let gbs = (12.0 * 0.010 + 0.012) * 128.0 / 1024.0;
    close(m.gb_seconds, gbs);
    let p = &m.prices;
    close(
        m.cost.total_usd,
        gbs * p.gb_second + 13.0 * p.request + 17.0 * 0.000025,
    );
}

#[tokio::test(start_paused = true)]
async fn an_unrouted_failure_fails_the_request_with_its_cause() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(
        clock,
        vec![
            ("a", script(0, 5, 0, |e| Ok(e.clone()))),
            ("b", script(0, 5, 0, |_| Err("boom".into()))),
            ("c", script(0, 5, 0, |e| Ok(e.clone()))),
        ],
    );
    let d = def(json!({"root": "a", "states": {
        "a": {"type": "task", "func_name": "a", "next": "b"},
        "b": {"type": "task", "func_name": "b", "next": "c"},
        "c": {"type": "task", "func_name": "c"}}}));
    let run = engine(d, f.clone(), EngineOptions::default())
        .run(&json!({"x": 1}))
        .await;
    let failure = run.failure.clone().unwrap();
    assert_eq!(
        (
            failure.state.as_str(),
            failure.error.as_str(),
            failure.cause.as_str()
        ),
        ("b", "ValueError", "boom")
    );
    assert_eq!(run.output, Value::Null);
    assert!(f.inputs_of("c").is_empty());
    assert_eq!(run.executions.len(), 2);
    assert!(run.executions[1].function.as_ref().unwrap().failed);
}

#[tokio::test(start_paused = true)]
async fn a_failure_inside_a_map_routes_within_its_body_or_fails_the_map() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(
        clock,
        vec![
            (
                "work",
                script(0, 5, 0, |e| {
                    if e["array_element"] == 2 {
                        Err("bad element".into())
                    } else {
                        Ok(e["array_element"].clone())
                    }
                }),
            ),
            (
                "fix",
                script(0, 5, 0, |e| Ok(json!({"fixed": e["array_element"]}))),
            ),
        ],
    );
    let routed = def(
        json!({"root": "m", "states": {"m": {"type": "map", "array": "xs", "common_params": "k", "root": "w", "states": {
        "w": {"type": "task", "func_name": "work", "failure": "f"},
        "f": {"type": "task", "func_name": "fix"}}}}}),
    );
    let run = engine(routed, f.clone(), EngineOptions::default())
        .run(&json!({"xs": [1, 2, 3], "k": 0}))
        .await;
    assert_eq!(run.output, json!({"xs": [1, {"fixed": 2}, 3], "k": 0}));
    let unrouted = def(
        json!({"root": "m", "states": {"m": {"type": "map", "array": "xs", "common_params": "k", "root": "w", "states": {
        "w": {"type": "task", "func_name": "work"}}}}}),
    );
    let run = engine(unrouted, f, EngineOptions::default())
        .run(&json!({"xs": [1, 2, 3], "k": 0}))
        .await;
    assert_eq!(run.failure.unwrap().state, "m[1]/w");
}

#[tokio::test(start_paused = true)]
async fn switch_operators_numbers_strings_default_and_no_match() {
    let cases = [
        ("<", json!(5), json!(4), true),
        ("<", json!(5), json!(5), false),
        ("<=", json!(5), json!(5), true),
        ("<=", json!(5), json!(6), false),
        ("==", json!(5), json!(5.0), true),
        ("==", json!("a"), json!("b"), false),
        ("==", json!(true), json!(true), true),
        (">=", json!(5), json!(5), true),
        (">=", json!("b"), json!("a"), false),
        (">", json!("b"), json!("c"), true),
        (">", json!(5), json!(5), false),
        ("<", json!(5), json!("4"), false),
    ];
    for (op, val, actual, holds) in cases {
        let clock = Clock::starting_at(0.0);
        let f = Scripted::new(
            clock,
            vec![
                ("yes", script(0, 1, 0, |_| Ok(json!("yes")))),
                ("no", script(0, 1, 0, |_| Ok(json!("no")))),
            ],
        );
        let d = def(json!({"root": "s", "states": {
            "s": {"type": "switch", "cases": [{"var": "p.v", "op": op, "val": val, "next": "y"}], "default": "n"},
            "y": {"type": "task", "func_name": "yes"}, "n": {"type": "task", "func_name": "no"}}}));
        let run = engine(d, f, EngineOptions::default())
            .run(&json!({"p": {"v": actual}}))
            .await;
        assert_eq!(
            run.output,
            json!(if holds { "yes" } else { "no" }),
            "{actual} {op} {val}"
        );
    }
    // Without a default, no match fails the request; a missing variable is an error too.
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(clock, vec![("yes", script(0, 1, 0, |_| Ok(json!("yes"))))]);
    let d = def(json!({"root": "s", "states": {
        "s": {"type": "switch", "cases": [{"var": "v", "op": ">", "val": 1, "next": "y"}]},
        "y": {"type": "task", "func_name": "yes"}}}));
    let e = engine(d, f, EngineOptions::default());
    assert_eq!(
        e.run(&json!({"v": 0})).await.failure.unwrap().error,
        "States.NoChoiceMatched"
    );
    assert_eq!(
        e.run(&json!({"w": 0})).await.failure.unwrap().error,
        "States.Runtime"
    );
}

#[tokio::test(start_paused = true)]
async fn nested_map_in_parallel_and_its_critical_path() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(
        clock,
        vec![
            (
                "slow",
                script(2, 50, 2, |e| Ok(json!(e.as_i64().unwrap() * 10))),
            ),
            ("fast", script(2, 20, 2, |e| Ok(json!({"seen": e["k"]})))),
        ],
    );
    let d = def(
        json!({"root": "p", "states": {"p": {"type": "parallel", "parallel_functions": [
        {"root": "outer", "states": {"outer": {"type": "map", "array": "groups", "root": "inner", "states": {
            "inner": {"type": "map", "array": "items", "root": "s", "states": {"s": {"type": "task", "func_name": "slow"}}}}}}},
        {"root": "one", "states": {"one": {"type": "task", "func_name": "fast"}}}]}}}),
    );
    let input = json!({"groups": [{"items": [1, 2]}, {"items": [3]}], "k": "v"});
    let run = engine(d, f, EngineOptions::default()).run(&input).await;
    assert_eq!(
        run.output,
        json!({
        "outer": {"groups": [{"items": [10, 20]}, {"items": [30]}], "k": "v"},
        "one": {"seen": "v"}})
    );
    let m = analyse(&run, &Prices::aws("us-east-1"));
    close(m.total, 0.054);
    close(m.critical_path, 0.050);
    close(m.overhead, 0.004);
    assert_eq!(
        run.executions
            .iter()
            .filter(|e| e.state == "p/outer/inner/s")
            .count(),
        3
    );
    assert!(
        run.executions
            .iter()
            .any(|e| e.instance == "p[0]/outer[0]/inner[1]/s")
    );
}

#[tokio::test(start_paused = true)]
async fn payload_limit_fails_with_data_limit_exceeded() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(
        clock,
        vec![(
            "big",
            script(0, 1, 0, |_| Ok(json!("x".repeat(300 * 1024)))),
        )],
    );
    let d = def(
        json!({"root": "a", "states": {"a": {"type": "task", "func_name": "big", "failure": "b"}, "b": {"type": "task", "func_name": "big"}}}),
    );
    let run = engine(d, f.clone(), EngineOptions::default())
        .run(&json!({}))
        .await;
    let failure = run.failure.unwrap();
    assert_eq!(failure.error, "States.DataLimitExceeded");
    assert!(
        failure
            .cause
            .contains("output of state a is 307202 bytes, over the 262144-byte"),
        "{}",
        failure.cause
    );
    // Terminal, as in Step Functions: not routed to `failure`.
    assert_eq!(f.inputs_of("big").len(), 1);
    let run = engine(
        def(json!({"root": "a", "states": {"a": {"type": "task", "func_name": "big"}}})),
        f,
        EngineOptions::default(),
    )
    .run(&json!({"blob": "y".repeat(257 * 1024)}))
    .await;
    assert!(run.failure.unwrap().cause.contains("workflow input"));
}

#[tokio::test(start_paused = true)]
async fn fan_out_is_bounded_by_the_concurrency_limit() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(clock, vec![("w", script(0, 100, 0, |e| Ok(e.clone())))]);
    let d = def(
        json!({"root": "m", "states": {"m": {"type": "map", "array": "xs", "root": "w", "states": {"w": {"type": "task", "func_name": "w"}}}}}),
    );
    let options = EngineOptions {
        max_concurrency: 2,
        ..Default::default()
    };
    let run = engine(d, f.clone(), options)
        .run(&json!({"xs": [1, 2, 3, 4, 5, 6]}))
        .await;
    assert_eq!(run.output, json!({"xs": [1, 2, 3, 4, 5, 6]}));
    assert_eq!(f.peak.load(Ordering::SeqCst), 2);
    let m = analyse(&run, &Prices::aws("us-east-1"));
    // Three waves of two: 300 ms in total, 100 ms on the critical path, 200 ms waiting.
    close(m.total, 0.300);
    close(m.critical_path, 0.100);
    close(m.overhead, 0.200);
}

#[tokio::test(start_paused = true)]
async fn a_switch_loop_stops_at_the_transition_limit() {
    let clock = Clock::starting_at(0.0);
    let f = Scripted::new(clock, vec![("w", script(0, 1, 0, |e| Ok(e.clone())))]);
    let d = def(json!({"root": "a", "states": {
        "a": {"type": "task", "func_name": "w", "next": "s"},
        "s": {"type": "switch", "cases": [{"var": "go", "op": "==", "val": true, "next": "a"}]}}}));
    let options = EngineOptions {
        max_transitions: 50,
        ..Default::default()
    };
    let run = engine(d, f, options).run(&json!({"go": true})).await;
    let failure = run.failure.unwrap();
    assert_eq!(failure.error, "States.Runtime");
    assert!(failure.cause.contains("more than 50 states"));
}
