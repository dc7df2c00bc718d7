//! Parsing and validation of SeBS-Flow definitions.

use std::path::Path;

use sebs_workflows::{Definition, Op, State};

fn parse(json: &str) -> Result<Definition, String> {
    Definition::parse(json, Path::new("definition.json")).map_err(|e| e.to_string())
}

fn err_of(json: &str) -> (String, String) {
    let e =
        Definition::parse(json, Path::new("d.json")).expect_err("definition should be rejected");
    (e.location, e.message)
}

#[test]
fn parses_every_state_type() {
    let def = parse(
        r#"{"root": "a", "states": {
        "a": {"type": "task", "func_name": "f", "next": "s", "failure": "z"},
        "s": {"type": "switch", "cases": [{"var": "x.y", "op": "<=", "val": 3, "next": "m"}], "default": "p"},
        "m": {"type": "map", "array": "list", "root": "b", "common_params": "k, j", "next": "l",
              "states": {"b": {"type": "task", "func_name": "g"}}},
        "l": {"type": "loop", "func_name": "h", "array": "list", "next": "r"},
        "r": {"type": "repeat", "func_name": "f", "count": 3},
        "p": {"type": "parallel", "parallel_functions": [
            {"root": "q", "states": {"q": {"type": "task", "func_name": "i"}}}]},
        "z": {"type": "task", "func_name": "undo"}}}"#,
    )
    .unwrap();
    assert_eq!(def.root, "a");
    let kinds: Vec<_> = def.states.values().map(State::kind).collect();
    assert_eq!(
        kinds,
        [
            "task", "loop", "map", "parallel", "repeat", "switch", "task"
        ]
    );
    let State::Switch(s) = &def.states["s"] else {
        panic!()
    };
    assert_eq!(s.cases[0].op, Op::Le);
    let State::Map(m) = &def.states["m"] else {
        panic!()
    };
    assert_eq!(m.common_params(), ["k", "j"]);
    let funcs: Vec<_> = def.functions().into_iter().collect();
    assert_eq!(funcs, ["f", "g", "h", "i", "undo"]);
}

#[test]
fn unknown_next_names_state_and_field() {
    let (loc, msg) = err_of(
        r#"{"root": "a", "states": {"a": {"type": "task", "func_name": "f", "next": "nope"}}}"#,
    );
    assert_eq!(loc, "states.a.next");
    assert!(msg.contains("`nope` is not a state"), "{msg}");
}

#[test]
fn missing_root_and_bad_op_and_unknown_field() {
    let (loc, _) = err_of(r#"{"root": "x", "states": {"a": {"type": "task", "func_name": "f"}}}"#);
    assert_eq!(loc, "root");
    let (loc, msg) = err_of(
        r#"{"root": "a", "states": {"a": {"type": "switch", "cases": [{"var": "v", "op": "=~", "val": 1, "next": "a"}]}}}"#,
    );
    assert_eq!(loc, "states.a");
    assert!(msg.contains("unknown variant `=~`"), "{msg}");
    let (loc, msg) =
        err_of(r#"{"root": "a", "states": {"a": {"type": "task", "func_name": "f", "nxt": "a"}}}"#);
    assert_eq!(loc, "states.a");
    assert!(msg.contains("unknown field `nxt`"), "{msg}");
    let (loc, msg) = err_of(r#"{"root": "a", "states": {"a": {"type": "tsk", "func_name": "f"}}}"#);
    assert_eq!(loc, "states.a.type");
    assert!(msg.contains("unknown state type `tsk`"), "{msg}");
}

#[test]
fn nested_errors_carry_their_path() {
    let (loc, msg) = err_of(
        r#"{"root": "m", "states": {"m": {"type": "map", "array": "xs", "root": "b",
            "states": {"b": {"type": "task", "func_name": "g", "next": "a"}}},
            "a": {"type": "task", "func_name": "f"}}}"#,
    );
    assert_eq!(loc, "states.m.states.b.next");
    assert!(msg.contains("scope of their own"), "{msg}");
    let (loc, _) = err_of(
        r#"{"root": "p", "states": {"p": {"type": "parallel", "parallel_functions": [
            {"root": "q", "states": {"q": {"type": "repeat", "func_name": "f", "count": 0}}}]}}}"#,
    );
    assert_eq!(loc, "states.p.parallel_functions[0].states.q.count");
    let (loc, msg) = err_of(
        r#"{"root": "m", "states": {"m": {"type": "map", "array": "xs", "func_name": "f", "root": "f"}}}"#,
    );
    assert_eq!(loc, "states.m");
    assert!(msg.contains("give `root` and `states`"), "{msg}");
}

#[test]
fn older_sebs_flow_shapes_are_read_in_the_current_one() {
    // SeBS-Flow's 1000-genome: a map with `func_name`, `parallel_functions` as an object.
    let def = parse(
        r#"{"root": "individuals", "states": {
        "individuals": {"type": "map", "func_name": "individuals", "array": "blob", "common_params": "bucket", "next": "both"},
        "both": {"type": "parallel", "parallel_functions": {
            "sifting": {"type": "task", "func_name": "sifting"},
            "frequency": {"type": "map", "func_name": "frequency", "array": "sifting.populations"}}}}}"#,
    )
    .unwrap();
    let State::Map(m) = &def.states["individuals"] else {
        panic!()
    };
    assert_eq!(m.root, "individuals");
    let task = sebs_workflows::Task {
        func_name: "individuals".into(),
        next: None,
        failure: None,
    };
    assert_eq!(m.states["individuals"], State::Task(task));
    let State::Parallel(p) = &def.states["both"] else {
        panic!()
    };
    let roots: Vec<_> = p
        .parallel_functions
        .iter()
        .map(|b| b.root.as_str())
        .collect();
    assert_eq!(roots, ["frequency", "sifting"]);
    let State::Map(f) = &p.parallel_functions[0].states["frequency"] else {
        panic!()
    };
    assert_eq!(f.root, "frequency");
    let funcs: Vec<_> = def.functions().into_iter().collect();
    assert_eq!(funcs, ["frequency", "individuals", "sifting"]);
}

#[test]
fn unreachable_states_and_bad_values_are_rejected() {
    let (loc, msg) = err_of(
        r#"{"root": "a", "states": {"a": {"type": "task", "func_name": "f"}, "b": {"type": "task", "func_name": "g"}}}"#,
    );
    assert_eq!(loc, "states.b");
    assert!(msg.contains("unreachable"), "{msg}");
    let (loc, _) = err_of(
        r#"{"root": "a", "states": {"a": {"type": "switch", "cases": [{"var": "v", "op": "<", "val": [1], "next": "a"}]}}}"#,
    );
    assert_eq!(loc, "states.a.cases[0].val");
    let (loc, _) =
        err_of(r#"{"root": "a", "states": {"a": {"type": "task", "func_name": "../x"}}}"#);
    assert_eq!(loc, "states.a.func_name");
    let (loc, _) = err_of(
        r#"{"root": "a", "states": {"a": {"type": "loop", "func_name": "f", "array": "a..b"}}}"#,
    );
    assert_eq!(loc, "states.a.array");
}
