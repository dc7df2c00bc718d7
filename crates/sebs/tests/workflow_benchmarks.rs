//! The workflow benchmarks (`benchmarks/600.workflows`) are well formed: each has a
//! `config.json` of type workflow, a `definition.json` in SeBS-Flow's format whose every `root`,
//! `next`, `failure`, switch case and `default` names a state of its own scope, a
//! `python/<func_name>.py` with a `handler` for every function, an `input.py` with SeBS's entry
//! points and pinned requirements. This reads the files only; running the workflows is the
//! engine's tests' business.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The benchmarks issue 17 asks for; the catalogue may grow, these must be there.
const EXPECTED: [&str; 8] = [
    "620.func-invo",
    "630.parallel-sleep",
    "631.parallel-download",
    "660.map-reduce",
    "670.auth",
    "690.ml",
    "6100.1000-genome",
    "6200.trip-booking",
];

const STATE_TYPES: [&str; 6] = ["task", "switch", "map", "loop", "repeat", "parallel"];

fn workflows_dir() -> PathBuf {
    common::repo().join("benchmarks/600.workflows")
}

fn benchmark_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workflows_dir())
        .expect("benchmarks/600.workflows exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("config.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn name_of<'a>(state: &'a Value, field: &str) -> Option<&'a str> {
    state.get(field).and_then(Value::as_str)
}

/// Checks one scope (`{"root", "states"}`) and the scopes nested in it; every problem is pushed
/// to `errors` as `<path>: <what>`, and every function name to `functions`.
fn check_scope(
    scope: &Value,
    at: &str,
    functions: &mut BTreeSet<String>,
    errors: &mut Vec<String>,
) {
    let Some(states) = scope.get("states").and_then(Value::as_object) else {
        errors.push(format!("{at}: no `states` object"));
        return;
    };
    match name_of(scope, "root") {
        Some(root) if states.contains_key(root) => {}
        other => errors.push(format!("{at}.root: {other:?} is not one of its states")),
    }
    for (name, state) in states {
        check_state(
            name,
            state,
            states,
            &format!("{at}.states.{name}"),
            functions,
            errors,
        );
    }
}

fn check_state(
    name: &str,
    state: &Value,
    states: &Map<String, Value>,
    at: &str,
    functions: &mut BTreeSet<String>,
    errors: &mut Vec<String>,
) {
    let kind = name_of(state, "type").unwrap_or("");
    if !STATE_TYPES.contains(&kind) {
        errors.push(format!("{at}.type: {kind:?} is not a SeBS-Flow state type"));
        return;
    }
    let mut targets: Vec<(String, Option<&str>)> = ["next", "failure", "default"]
        .iter()
        .filter(|f| state.get(**f).is_some())
        .map(|f| ((*f).to_string(), name_of(state, f)))
        .collect();
    if kind == "switch" {
        let cases = state.get("cases").and_then(Value::as_array);
        if cases.is_none_or(|c| c.is_empty()) {
            errors.push(format!("{at}.cases: a switch needs at least one case"));
        }
        for (i, case) in cases.into_iter().flatten().enumerate() {
            for field in ["var", "op"] {
                if name_of(case, field).is_none() {
                    errors.push(format!("{at}.cases[{i}].{field}: missing"));
                }
            }
            targets.push((format!("cases[{i}].next"), name_of(case, "next")));
        }
    }
    for (field, target) in targets {
        if !target.is_some_and(|t| states.contains_key(t) && t != name) {
            errors.push(format!(
                "{at}.{field}: {target:?} is not another state of this scope"
            ));
        }
    }
    if matches!(kind, "task" | "repeat" | "loop") {
        match name_of(state, "func_name") {
            Some(f) => drop(functions.insert(f.to_string())),
            None => errors.push(format!("{at}.func_name: missing")),
        }
    }
    if matches!(kind, "map" | "loop") && name_of(state, "array").is_none() {
        errors.push(format!("{at}.array: missing"));
    }
    if kind == "repeat"
        && state
            .get("count")
            .and_then(Value::as_u64)
            .is_none_or(|c| c == 0)
    {
        errors.push(format!("{at}.count: not a positive integer"));
    }
    if kind == "map" {
        check_scope(state, at, functions, errors);
    }
    if kind == "parallel" {
        let branches = state.get("parallel_functions").and_then(Value::as_array);
        if branches.is_none_or(|b| b.is_empty()) {
            errors.push(format!(
                "{at}.parallel_functions: not a non-empty list of sub-workflows"
            ));
        }
        for (i, branch) in branches.into_iter().flatten().enumerate() {
            check_scope(
                branch,
                &format!("{at}.parallel_functions[{i}]"),
                functions,
                errors,
            );
        }
    }
}

/// Every problem of one benchmark directory.
fn check_benchmark(dir: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let config = read_json(&dir.join("config.json"));
    if config["type"] != "workflow" {
        errors.push("config.json: `type` is not \"workflow\"".to_string());
    }
    if !config["languages"]
        .as_array()
        .is_some_and(|l| l.iter().any(|v| v == "python"))
    {
        errors.push("config.json: `languages` lacks \"python\"".to_string());
    }
    let definition = read_json(&dir.join("definition.json"));
    let mut functions = BTreeSet::new();
    check_scope(&definition, "definition", &mut functions, &mut errors);
    for function in &functions {
        let path = dir.join(format!("python/{function}.py"));
        match std::fs::read_to_string(&path) {
            Ok(code) if code.contains("def handler(") => {}
            Ok(_) => errors.push(format!("python/{function}.py: no `def handler(`")),
            Err(_) => errors.push(format!("python/{function}.py: missing")),
        }
    }
    let input = std::fs::read_to_string(dir.join("input.py")).unwrap_or_default();
    for entry in ["def generate_input(", "def validate_output("] {
        if !input.contains(entry) {
            errors.push(format!("input.py: no `{entry}`"));
        }
    }
    if let Ok(requirements) = std::fs::read_to_string(dir.join("python/requirements.txt")) {
        for line in requirements.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') && !line.contains("==") {
                errors.push(format!("python/requirements.txt: `{line}` is not pinned"));
            }
        }
    }
    errors
}

#[test]
fn every_workflow_benchmark_is_well_formed() {
    let dirs = benchmark_dirs();
    let ids: BTreeSet<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for id in EXPECTED {
        assert!(ids.contains(id), "benchmarks/600.workflows/{id} is missing");
    }
    let mut report = Vec::new();
    for dir in &dirs {
        for error in check_benchmark(dir) {
            report.push(format!("{}: {error}", dir.display()));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn the_check_finds_dangling_names_and_missing_handlers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("699.broken");
    std::fs::create_dir_all(dir.join("python")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"type": "workflow", "timeout": 10, "memory": 128, "languages": ["python"]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("definition.json"),
        r#"{"root": "a", "states": {
            "a": {"type": "task", "func_name": "first", "next": "nowhere"},
            "m": {"type": "map", "array": "xs", "root": "inner", "states": {
                "inner": {"type": "task", "func_name": "second", "failure": "a"}}},
            "p": {"type": "parallel", "parallel_functions": [{"root": "x", "states": {}}]},
            "s": {"type": "switch", "cases": [{"var": "v", "op": "<", "val": 1, "next": "m"}],
                  "default": "s"}
        }}"#,
    )
    .unwrap();
    std::fs::write(dir.join("python/first.py"), "def other(event):\n    pass\n").unwrap();
    std::fs::write(dir.join("input.py"), "def generate_input(*a):\n    pass\n").unwrap();
    std::fs::write(dir.join("python/requirements.txt"), "numpy\n").unwrap();
    let errors = check_benchmark(&dir).join("\n");
    for expected in [
        "definition.states.a.next: Some(\"nowhere\")",
        // A failure route leaving the map's scope is as wrong as a dangling one.
        "definition.states.m.states.inner.failure: Some(\"a\")",
        "definition.states.p.parallel_functions[0].root",
        "definition.states.s.default: Some(\"s\")",
        "python/first.py: no `def handler(`",
        "python/second.py: missing",
        "input.py: no `def validate_output(`",
        "`numpy` is not pinned",
    ] {
        assert!(errors.contains(expected), "{expected:?} not in:\n{errors}");
    }
}
