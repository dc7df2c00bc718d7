//! SeBS-Flow workflow definitions (`definition.json`): serde types for the six state types and a
//! validation that names the state and the field that is wrong.
//!
//! The format is SeBS-Flow's (`feature/workflows-merge` of spcl/serverless-benchmarks,
//! `sebs/faas/fsm.py`): `{"root": <state>, "states": {<name>: <state>}}`, each state an object
//! with a `type` of `task`, `switch`, `map`, `loop`, `repeat` or `parallel`. Map states and
//! parallel branches hold nested sub-workflows with their own `root` and `states`, whose names
//! are a scope of their own. The older shapes of SeBS-Flow's 1000-genome (a map with
//! `func_name`, `parallel_functions` as an object) are read into the current one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A workflow definition, or one of its nested sub-workflows (a map's body, a parallel branch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The name of the state the workflow starts in; a key of `states`.
    pub root: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
}

/// One state of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum State {
    /// Invokes one function.
    Task(Task),
    /// Chooses the next state from the running value.
    Switch(Switch),
    /// Runs a sub-workflow for each element of an array, concurrently.
    Map(Map),
    /// Invokes one function for each element of an array, one after the other.
    Loop(Loop),
    /// Invokes one function `count` times in a chain.
    Repeat(Repeat),
    /// Runs sub-workflows concurrently on the same input.
    Parallel(Parallel),
}

/// `{"type": "task", "func_name", "next"?, "failure"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The function: `<language>/<func_name>.py` in the benchmark's directory.
    pub func_name: String,
    /// The state that follows; none ends the (sub-)workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The state that follows when the function fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// `{"type": "switch", "cases": [...], "default"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// Tried in order; the first that holds picks the next state.
    pub cases: Vec<Case>,
    /// The next state when no case holds; none makes that a failure of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One case of a switch: `var op val` decides whether to go to `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A dotted path into the running value, e.g. `people.number`.
    pub var: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with; a number compares numerically, a string lexically.
    pub val: Value,
    /// The state that follows when the case holds.
    pub next: String,
}

/// The comparison operators of a switch case (those SeBS-Flow translates to Step Functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `>`
    #[serde(rename = ">")]
    Gt,
}

impl Op {
    /// The operator as written in a definition.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }
}

/// `{"type": "map", "array", "root", "states", "next"?, "common_params"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Map {
    /// A dotted path to the array in the running value.
    pub array: String,
    /// The first state of the body run for each element.
    pub root: String,
    /// The body's states (a scope of their own).
    pub states: BTreeMap<String, State>,
    /// The state that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Comma-separated top-level fields of the running value passed to every element, e.g.
    /// `"bucket,columns"`: each element then receives `{"array_element": <element>, "bucket":
    /// ..., "columns": ...}` instead of the bare element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_params: Option<String>,
}

impl Map {
    /// The body as a definition of its own.
    pub fn body(&self) -> Definition {
        Definition {
            root: self.root.clone(),
            states: self.states.clone(),
        }
    }

    /// The names in `common_params`, trimmed, empty ones dropped.
    pub fn common_params(&self) -> Vec<&str> {
        split_params(self.common_params.as_deref())
    }
}

/// `{"type": "loop", "func_name", "array", "next"?}`: a map that runs one element at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loop {
    /// The function invoked for each element.
    pub func_name: String,
    /// A dotted path to the array in the running value.
    pub array: String,
    /// The state that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `{"type": "repeat", "func_name", "count", "next"?}`: `count` tasks in a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The function invoked `count` times, each on the previous one's output.
    pub func_name: String,
    /// How many times (at least 1).
    pub count: u32,
    /// The state that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `{"type": "parallel", "parallel_functions": [{"root", "states"}, ...], "next"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parallel {
    /// The branches, each a sub-workflow receiving the whole input.
    pub parallel_functions: Vec<Definition>,
    /// The state that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl State {
    /// The state's `type` as written in a definition.
    pub fn kind(&self) -> &'static str {
        match self {
            State::Task(_) => "task",
            State::Switch(_) => "switch",
            State::Map(_) => "map",
            State::Loop(_) => "loop",
            State::Repeat(_) => "repeat",
            State::Parallel(_) => "parallel",
        }
    }

    /// The state's `next` (switches have none: their targets are in the cases).
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Task(t) => t.next.as_deref(),
            State::Switch(_) => None,
            State::Map(m) => m.next.as_deref(),
            State::Loop(l) => l.next.as_deref(),
            State::Repeat(r) => r.next.as_deref(),
            State::Parallel(p) => p.next.as_deref(),
        }
    }

    /// Every state this one may go to, with the field that names it.
    pub fn targets(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some(next) = self.next() {
            out.push(("next".to_string(), next));
        }
        match self {
            State::Task(t) => {
                if let Some(f) = &t.failure {
                    out.push(("failure".to_string(), f.as_str()));
                }
            }
            State::Switch(s) => {
                for (i, c) in s.cases.iter().enumerate() {
                    out.push((format!("cases[{i}].next"), c.next.as_str()));
                }
                if let Some(d) = &s.default {
                    out.push(("default".to_string(), d.as_str()));
                }
            }
            _ => {}
        }
        out
    }
}

/// Splits a `common_params` string.
pub fn split_params(params: Option<&str>) -> Vec<&str> {
    params
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A definition that cannot be used, with where in the file and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("workflow definition {}: {location}: {message}", path.display())]
pub struct DefinitionError {
    /// The definition file.
    pub path: PathBuf,
    /// Where: `states.<name>.<field>` (nested: `states.<map>.states.<name>.<field>`), or `root`.
    pub location: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Definition {
    /// Parses and validates `definition.json` text; `path` only names the file in errors.
    pub fn parse(json: &str, path: &Path) -> Result<Definition, DefinitionError> {
        let err = |location: &str, message: String| DefinitionError {
            path: path.to_path_buf(),
            location: location.to_string(),
            message,
        };
        let value: Value = serde_json::from_str(json).map_err(|e| {
            err(
                "(document)",
                format!(
                    "not valid JSON: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let def = from_value(&value, "").map_err(|(loc, msg)| err(&loc, msg))?;
        def.validate_at("").map_err(|(loc, msg)| err(&loc, msg))?;
        Ok(def)
    }

    /// Reads, parses and validates a definition file.
    pub fn load(path: &Path) -> Result<Definition, DefinitionError> {
        let text = std::fs::read_to_string(path).map_err(|e| DefinitionError {
            path: path.to_path_buf(),
            location: "(file)".to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Definition::parse(&text, path)
    }

    /// Every function the workflow invokes (nested ones too), sorted and without repeats.
    pub fn functions(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_functions(&mut out);
        out
    }

    fn collect_functions(&self, out: &mut BTreeSet<String>) {
        for state in self.states.values() {
            match state {
                State::Task(t) => drop(out.insert(t.func_name.clone())),
                State::Loop(l) => drop(out.insert(l.func_name.clone())),
                State::Repeat(r) => drop(out.insert(r.func_name.clone())),
                State::Map(m) => m.body().collect_functions(out),
                State::Parallel(p) => p
                    .parallel_functions
                    .iter()
                    .for_each(|b| b.collect_functions(out)),
                State::Switch(_) => {}
            }
        }
    }

    /// Checks references, names and counts; `prefix` locates nested sub-workflows in errors.
    fn validate_at(&self, prefix: &str) -> Result<(), (String, String)> {
        let known = || self.states.keys().cloned().collect::<Vec<_>>().join(", ");
        if !self.states.contains_key(&self.root) {
            let message = if self.states.is_empty() {
                "`states` is empty; a workflow needs at least one state".to_string()
            } else {
                format!(
                    "root `{}` is not a state; states here: {}",
                    self.root,
                    known()
                )
            };
            return Err((format!("{prefix}root"), message));
        }
        for (name, state) in &self.states {
            let at = format!("{prefix}states.{name}");
            for (field, target) in state.targets() {
                if !self.states.contains_key(target) {
                    return Err((
                        format!("{at}.{field}"),
                        format!(
                            "`{target}` is not a state of this {}; states here: {}",
                            if prefix.is_empty() {
                                "workflow"
                            } else {
                                "sub-workflow (nested states are a scope of their own)"
                            },
                            known()
                        ),
                    ));
                }
            }
            validate_state(state, &at)?;
        }
        self.check_reachable(prefix)
    }

    /// Every state must be reachable from the root (Step Functions rejects unreachable ones).
    fn check_reachable(&self, prefix: &str) -> Result<(), (String, String)> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.root.as_str()];
        while let Some(name) = todo.pop() {
            if seen.insert(name) {
                todo.extend(self.states[name].targets().into_iter().map(|(_, t)| t));
            }
        }
        match self.states.keys().find(|n| !seen.contains(n.as_str())) {
            Some(orphan) => Err((
                format!("{prefix}states.{orphan}"),
                format!(
                    "state is unreachable from root `{}`: name it in some state's `next`, `failure` or switch case, or remove it",
                    self.root
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Field checks of one state, then its nested sub-workflows.
fn validate_state(state: &State, at: &str) -> Result<(), (String, String)> {
    match state {
        State::Task(t) => check_func(&t.func_name, at),
        State::Loop(l) => {
            check_func(&l.func_name, at)?;
            check_path(&l.array, &format!("{at}.array"))
        }
        State::Repeat(r) => {
            check_func(&r.func_name, at)?;
            if r.count == 0 {
                return Err((format!("{at}.count"), "must be at least 1".to_string()));
            }
            Ok(())
        }
        State::Switch(s) => validate_switch(s, at),
        State::Map(m) => {
            check_path(&m.array, &format!("{at}.array"))?;
            m.body().validate_at(&format!("{at}."))
        }
        State::Parallel(p) => {
            if p.parallel_functions.is_empty() {
                return Err((
                    format!("{at}.parallel_functions"),
                    "is empty; give at least one branch {\"root\": ..., \"states\": {...}}"
                        .to_string(),
                ));
            }
            let mut roots = BTreeSet::new();
            for (i, branch) in p.parallel_functions.iter().enumerate() {
                let branch_at = format!("{at}.parallel_functions[{i}].");
                branch.validate_at(&branch_at)?;
                // The parallel state's output holds each branch's output under its root's name.
                if !roots.insert(branch.root.as_str()) {
                    return Err((
                        format!("{branch_at}root"),
                        format!(
                            "another branch also starts at `{}`: branch outputs are keyed by their root state's name, so give each branch a root of its own",
                            branch.root
                        ),
                    ));
                }
            }
            Ok(())
        }
    }
}

fn validate_switch(s: &Switch, at: &str) -> Result<(), (String, String)> {
    if s.cases.is_empty() {
        return Err((
            format!("{at}.cases"),
            "is empty; give at least one case".to_string(),
        ));
    }
    for (i, c) in s.cases.iter().enumerate() {
        check_path(&c.var, &format!("{at}.cases[{i}].var"))?;
        let ordered = !matches!(c.op, Op::Eq);
        let ok = match &c.val {
            Value::Number(_) | Value::String(_) => true,
            Value::Bool(_) | Value::Null => !ordered,
            Value::Array(_) | Value::Object(_) => false,
        };
        if !ok {
            return Err((
                format!("{at}.cases[{i}].val"),
                format!(
                    "`{}` cannot be compared with `{}`: use a number or a string{}",
                    c.val,
                    c.op.symbol(),
                    if ordered {
                        ""
                    } else {
                        " (or a boolean or null)"
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// A function name becomes a file name (`python/<func_name>.py`) and part of a deployed
/// function's name.
fn check_func(name: &str, at: &str) -> Result<(), (String, String)> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err((
            format!("{at}.func_name"),
            format!(
                "`{name}` is not a function name: use letters, digits, `_` or `-` (the file is python/<func_name>.py)"
            ),
        ))
    }
}

fn check_path(path: &str, at: &str) -> Result<(), (String, String)> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err((
            at.to_string(),
            format!(
                "`{path}` is not a dotted path: give field names joined by `.`, e.g. `people.number`"
            ),
        ));
    }
    Ok(())
}

/// Deserialises a (sub-)definition state by state, so an error names the state it is in.
fn from_value(value: &Value, prefix: &str) -> Result<Definition, (String, String)> {
    let obj = value.as_object().ok_or_else(|| {
        (
            format!("{prefix}(definition)"),
            "must be an object {\"root\": <state name>, \"states\": {<name>: <state>}}".to_string(),
        )
    })?;
    for key in obj.keys() {
        if key != "root" && key != "states" {
            return Err((
                format!("{prefix}{key}"),
                "unknown field; a definition has only `root` and `states`".to_string(),
            ));
        }
    }
    let root = match obj.get("root") {
        Some(Value::String(r)) => r.clone(),
        Some(_) => {
            return Err((
                format!("{prefix}root"),
                "must be a string naming a state".to_string(),
            ));
        }
        None => {
            return Err((
                format!("{prefix}root"),
                "missing; name the state to start in".to_string(),
            ));
        }
    };
    let Some(states_value) = obj.get("states") else {
        return Err((
            format!("{prefix}states"),
            "missing; give an object of states by name".to_string(),
        ));
    };
    let states_obj = states_value.as_object().ok_or_else(|| {
        (
            format!("{prefix}states"),
            "must be an object of states by name".to_string(),
        )
    })?;
    let mut states = BTreeMap::new();
    for (name, raw) in states_obj {
        states.insert(
            name.clone(),
            state_from_value(raw, &format!("{prefix}states.{name}"))?,
        );
    }
    Ok(Definition { root, states })
}

fn state_from_value(raw: &Value, at: &str) -> Result<State, (String, String)> {
    const TYPES: &str = "task, switch, map, loop, repeat, parallel";
    let kind = raw.get("type").and_then(Value::as_str);
    match kind {
        None => {
            return Err((
                format!("{at}.type"),
                format!("missing or not a string; one of {TYPES}"),
            ));
        }
        Some(k) if !TYPES.split(", ").any(|t| t == k) => {
            return Err((
                format!("{at}.type"),
                format!("unknown state type `{k}`; one of {TYPES}"),
            ));
        }
        _ => {}
    }
    let normalised = older_shapes(raw);
    let raw = &normalised;
    // Nested sub-workflows go through `from_value` so their errors carry their own location.
    let mut nested_err = None;
    if kind == Some("map") {
        let body = serde_json::json!({"root": raw.get("root").cloned().unwrap_or(Value::Null), "states": raw.get("states").cloned().unwrap_or(Value::Null)});
        if raw.get("root").is_some() && raw.get("states").is_some() {
            nested_err = from_value(&body, &format!("{at}.")).err();
        }
    }
    if let (Some("parallel"), Some(Value::Array(branches))) = (kind, raw.get("parallel_functions"))
    {
        nested_err = branches
            .iter()
            .enumerate()
            .find_map(|(i, b)| from_value(b, &format!("{at}.parallel_functions[{i}].")).err());
    }
    if let Some(e) = nested_err {
        return Err(e);
    }
    serde_json::from_value::<State>(raw.clone())
        .map_err(|e| (at.to_string(), hint(kind, &e.to_string())))
}

/// Older SeBS-Flow definitions (its 1000-genome benchmark) in the current shape: a map with
/// `func_name` becomes a map whose body is that one task (named after the function); a
/// `parallel_functions` object `{name: state}` becomes one branch per entry, rooted at `name`.
fn older_shapes(raw: &Value) -> Value {
    let mut out = raw.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind == "map"
        && !obj.contains_key("root")
        && !obj.contains_key("states")
        && let Some(Value::String(f)) = obj.remove("func_name")
    {
        let task = serde_json::json!({"type": "task", "func_name": f});
        obj.insert("states".into(), serde_json::json!({ f.clone(): task }));
        obj.insert("root".into(), Value::String(f));
    }
    if kind == "parallel"
        && let Some(Value::Object(branches)) = obj.get("parallel_functions")
    {
        let list: Vec<Value> = branches
            .iter()
            .map(|(name, state)| serde_json::json!({"root": name, "states": { name.clone(): state }}))
            .collect();
        obj.insert("parallel_functions".into(), Value::Array(list));
    }
    // The same for nested states, so the state parses as a whole.
    let nested: Vec<&mut Value> = match kind.as_str() {
        "map" => obj.get_mut("states").into_iter().collect(),
        "parallel" => match obj.get_mut("parallel_functions") {
            Some(Value::Array(branches)) => branches
                .iter_mut()
                .filter_map(|b| b.get_mut("states"))
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    for states in nested {
        if let Some(states) = states.as_object_mut() {
            for state in states.values_mut() {
                *state = older_shapes(state);
            }
        }
    }
    out
}

/// serde's message, with a hint for the shapes older SeBS-Flow definitions used.
fn hint(kind: Option<&str>, message: &str) -> String {
    match kind {
        Some("map") if message.contains("func_name") => format!(
            "{message}; a map runs a sub-workflow: give `root` and `states` (e.g. {{\"root\": \"f\", \"states\": {{\"f\": {{\"type\": \"task\", \"func_name\": \"f\"}}}}}}) instead of `func_name`"
        ),
        Some("parallel") if message.contains("invalid type: map") => format!(
            "{message}; `parallel_functions` is a list of sub-workflows [{{\"root\": ..., \"states\": {{...}}}}, ...]"
        ),
        _ => message.to_string(),
    }
}
