//! SeBS-Flow definitions in the Amazon States Language.
//!
//! The translation keeps the local engine's data flow (`sebs_workflows`), so a workflow computes
//! the same thing on both:
//!
//! | SeBS-Flow | States Language |
//! | --- | --- |
//! | `task` | `Task` on the function's ARN; `ResultSelector` parses the SeBS wrapper's `body` and `OutputPath` keeps its `result`; `failure` becomes a `Catch` of `States.ALL` with `ResultPath: $.error` |
//! | `switch` | `Choice`: numbers as `Numeric*`, strings as `String*`, `==` on a boolean as `BooleanEquals`, on null as `IsNull` |
//! | `map` | `Map` (inline) over `ItemsPath`, the body as `ItemProcessor`, `common_params` as `ItemSelector` (`array_element` and the named fields), results written back with `ResultPath`, `MaxConcurrency` from the function concurrency limit |
//! | `loop` | the same `Map` with `MaxConcurrency: 1` |
//! | `repeat` | `count` chained `Task`s: `name`, `name#1`, ... |
//! | `parallel` | `Parallel`; `ResultSelector` puts each branch's output under its root state's name |
//!
//! State names in the States Language share one namespace per state machine, so nested states
//! are named by their path: `map-state/map`, `branches[1]/sort`. [`Translation::names`] maps each
//! back to the definition, which is how an execution's history becomes state executions.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use sebs_workflows::{Definition, Op, State};
use serde_json::{Map, Value, json};

/// Step Functions' limit on a state name.
const MAX_NAME: usize = 80;

/// What one States Language state stands for in the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct StateInfo {
    /// The state's path in the definition (`map-state/map`), as the engine records it.
    pub state: String,
    /// `task`, `switch`, `loop` or `repeat` for states that record an execution; `map` and
    /// `parallel` for the containers.
    pub kind: &'static str,
    /// The instance path with one `{}` per enclosing map or loop iteration, outermost first:
    /// `map-state[{}]/map`, `chain#2`, `steps[{}]`.
    pub instance: String,
    /// The function a task, loop or repeat state invokes.
    pub func_name: Option<String>,
}

/// A translated definition.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The state machine's definition.
    pub asl: Value,
    /// Each state name in `asl` and what it stands for.
    pub names: BTreeMap<String, StateInfo>,
}

/// Translation settings.
pub struct Target<'a> {
    /// `func_name` → the deployed function's ARN.
    pub functions: &'a BTreeMap<String, String>,
    /// `MaxConcurrency` of maps (0: unbounded).
    pub max_concurrency: u32,
    /// The state machine's comment.
    pub comment: &'a str,
}

/// Translate `definition` for `target`. Fails, naming the state, on what the States Language
/// cannot express (a `==` against an object, a path it cannot address, a name over 80
/// characters) or a function without an ARN.
pub fn translate(definition: &Definition, target: &Target<'_>) -> Result<Translation> {
    let mut names = BTreeMap::new();
    let scope = Scope::default();
    let (start, states) = graph(definition, target, &scope, &mut names)?;
    let asl = json!({
        "Comment": target.comment,
        "StartAt": start,
        "States": states,
    });
    Ok(Translation { asl, names })
}

/// Where a sub-workflow sits: the prefix of its states' names, of their definition paths and of
/// their instance templates.
#[derive(Default, Clone)]
struct Scope {
    name: String,
    path: String,
    instance: String,
}

impl Scope {
    fn name(&self, state: &str) -> String {
        format!("{}{state}", self.name)
    }
    fn info(&self, state: &str, kind: &'static str, func_name: Option<&str>) -> StateInfo {
        StateInfo {
            state: format!("{}{state}", self.path),
            kind,
            instance: format!("{}{state}", self.instance),
            func_name: func_name.map(str::to_string),
        }
    }
    /// The scope of a map's body: one iteration index.
    fn map_body(&self, state: &str) -> Scope {
        Scope {
            name: format!("{}{state}/", self.name),
            path: format!("{}{state}/", self.path),
            instance: format!("{}{state}[{{}}]/", self.instance),
        }
    }
    /// The scope of a parallel branch: its index is part of the names.
    fn branch(&self, state: &str, index: usize) -> Scope {
        Scope {
            name: format!("{}{state}[{index}]/", self.name),
            path: format!("{}{state}/", self.path),
            instance: format!("{}{state}[{index}]/", self.instance),
        }
    }
}

type Names = BTreeMap<String, StateInfo>;

/// A (sub-)workflow: its start state's name and its `States` object.
fn graph(
    def: &Definition,
    target: &Target<'_>,
    scope: &Scope,
    names: &mut Names,
) -> Result<(String, Value)> {
    let mut states = Map::new();
    for (name, state) in &def.states {
        for (asl_name, body, info) in encode(name, state, target, scope, names)? {
            if asl_name.chars().count() > MAX_NAME {
                bail!(
                    "state `{}`: its States Language name `{asl_name}` is over Step Functions' {MAX_NAME}-character limit; shorten the state names of this path",
                    info.state
                );
            }
            if names.insert(asl_name.clone(), info).is_some() {
                bail!(
                    "state `{name}`: the States Language name `{asl_name}` is used twice; rename one of the states"
                );
            }
            states.insert(asl_name, body);
        }
    }
    Ok((scope.name(&def.root), Value::Object(states)))
}

/// `Next: <scoped name>` or `End: true`.
fn follow(body: &mut Map<String, Value>, next: Option<&str>, scope: &Scope) {
    match next {
        Some(n) => body.insert("Next".into(), scope.name(n).into()),
        None => body.insert("End".into(), true.into()),
    };
}

fn encode(
    name: &str,
    state: &State,
    target: &Target<'_>,
    scope: &Scope,
    names: &mut Names,
) -> Result<Vec<(String, Value, StateInfo)>> {
    let one = |body: Map<String, Value>, kind, func: Option<&str>| {
        vec![(
            scope.name(name),
            Value::Object(body),
            scope.info(name, kind, func),
        )]
    };
    Ok(match state {
        State::Task(t) => {
            let mut body = task(name, &t.func_name, target)?;
            if let Some(failure) = &t.failure {
                body.insert(
                    "Catch".into(),
                    json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": scope.name(failure)}]),
                );
            }
            follow(&mut body, t.next.as_deref(), scope);
            one(body, "task", Some(&t.func_name))
        }
        State::Switch(s) => {
            let choices = s
                .cases
                .iter()
                .enumerate()
                .map(|(i, c)| choice(name, i, c, scope))
                .collect::<Result<Vec<_>>>()?;
            let mut body = Map::new();
            body.insert("Type".into(), "Choice".into());
            body.insert("Choices".into(), Value::Array(choices));
            if let Some(d) = &s.default {
                body.insert("Default".into(), scope.name(d).into());
            }
            one(body, "switch", None)
        }
        State::Map(m) => {
            let body_scope = scope.map_body(name);
            let (start, states) = graph(&m.body(), target, &body_scope, names)?;
            let params = m.common_params();
            let mut body = map_state(name, &m.array, start, states, target.max_concurrency)?;
            if !params.is_empty() {
                let mut selector = Map::new();
                selector.insert("array_element.$".into(), "$$.Map.Item.Value".into());
                for p in params {
                    selector.insert(format!("{p}.$"), path(name, "common_params", p)?.into());
                }
                body.insert("ItemSelector".into(), Value::Object(selector));
            }
            follow(&mut body, m.next.as_deref(), scope);
            one(body, "map", None)
        }
        State::Loop(l) => {
            let inner = format!("{}{name}/{}", scope.name, l.func_name);
            let mut inner_body = task(name, &l.func_name, target)?;
            inner_body.insert("End".into(), true.into());
            let info = StateInfo {
                state: format!("{}{name}", scope.path),
                kind: "loop",
                instance: format!("{}{name}[{{}}]", scope.instance),
                func_name: Some(l.func_name.clone()),
            };
            names.insert(inner.clone(), info);
            let states = json!({ inner.clone(): inner_body });
            let mut body = map_state(name, &l.array, inner, states, 1)?;
            follow(&mut body, l.next.as_deref(), scope);
            one(body, "map", None)
        }
        State::Repeat(r) => repeat(name, r, target, scope)?,
        State::Parallel(p) => {
            let body = parallel(name, p, target, scope, names)?;
            one(body, "parallel", None)
        }
    })
}

/// `count` chained tasks: `name`, `name#1`, ...
fn repeat(
    name: &str,
    r: &sebs_workflows::Repeat,
    target: &Target<'_>,
    scope: &Scope,
) -> Result<Vec<(String, Value, StateInfo)>> {
    (0..r.count)
        .map(|i| {
            let step = if i == 0 {
                name.to_string()
            } else {
                format!("{name}#{i}")
            };
            let mut body = task(name, &r.func_name, target)?;
            let next = if i + 1 == r.count {
                r.next.clone()
            } else {
                Some(format!("{name}#{}", i + 1))
            };
            follow(&mut body, next.as_deref(), scope);
            let info = StateInfo {
                state: format!("{}{name}", scope.path),
                kind: "repeat",
                instance: format!("{}{name}#{i}", scope.instance),
                func_name: Some(r.func_name.clone()),
            };
            Ok((scope.name(&step), Value::Object(body), info))
        })
        .collect()
}

/// A `Parallel` state whose output puts each branch's under its root state's name.
fn parallel(
    name: &str,
    p: &sebs_workflows::Parallel,
    target: &Target<'_>,
    scope: &Scope,
    names: &mut Names,
) -> Result<Map<String, Value>> {
    let mut branches = Vec::new();
    let mut selector = Map::new();
    for (i, b) in p.parallel_functions.iter().enumerate() {
        let (start, states) = graph(b, target, &scope.branch(name, i), names)?;
        branches.push(json!({"StartAt": start, "States": states}));
        selector.insert(format!("{}.$", b.root), format!("$[{i}]").into());
    }
    let mut body = Map::new();
    body.insert("Type".into(), "Parallel".into());
    body.insert("Branches".into(), Value::Array(branches));
    body.insert("ResultSelector".into(), Value::Object(selector));
    follow(&mut body, p.next.as_deref(), scope);
    Ok(body)
}

/// A `Task` invoking `func_name`'s function, its output the function's own result.
fn task(state: &str, func_name: &str, target: &Target<'_>) -> Result<Map<String, Value>> {
    let Some(arn) = target.functions.get(func_name) else {
        bail!("state `{state}`: function `{func_name}` was not deployed (no ARN for it)");
    };
    let body = json!({
        "Type": "Task",
        "Resource": arn,
        // The SeBS wrapper answers {"statusCode", "body": "<JSON>"}; the next state gets the
        // benchmark function's own return value, as on the local engine.
        "ResultSelector": {"sebs.$": "States.StringToJson($.body)"},
        "OutputPath": "$.sebs.result",
    });
    Ok(body.as_object().cloned().unwrap_or_default())
}

/// An inline `Map` over `array`, writing its results back to `array`.
fn map_state(
    state: &str,
    array: &str,
    start: String,
    states: Value,
    max_concurrency: u32,
) -> Result<Map<String, Value>> {
    let array = path(state, "array", array)?;
    let body = json!({
        "Type": "Map",
        "ItemsPath": array,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": start,
            "States": states,
        },
        "ResultPath": array,
        "MaxConcurrency": max_concurrency,
    });
    Ok(body.as_object().cloned().unwrap_or_default())
}

/// `$.a.b` for the dotted path `a.b`; the States Language's reference paths take plain field
/// names only.
fn path(state: &str, field: &str, dotted: &str) -> Result<String> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !dotted.split('.').all(plain) {
        bail!(
            "state `{state}`, field `{field}`: `{dotted}` is not a dotted path of plain field names (letters, digits, `_`, `-`), which Step Functions needs"
        );
    }
    Ok(format!("$.{dotted}"))
}

/// One `Choices` rule.
fn choice(state: &str, index: usize, case: &sebs_workflows::Case, scope: &Scope) -> Result<Value> {
    let field = format!("cases[{index}].var");
    let variable = path(state, &field, &case.var)?;
    let (operator, value) = match &case.val {
        Value::Number(_) => (format!("Numeric{}", comparison(case.op)), case.val.clone()),
        Value::String(_) => (format!("String{}", comparison(case.op)), case.val.clone()),
        Value::Bool(_) if case.op == Op::Eq => ("BooleanEquals".to_string(), case.val.clone()),
        Value::Null if case.op == Op::Eq => ("IsNull".to_string(), Value::Bool(true)),
        other => bail!(
            "state `{state}`, field `cases[{index}].val`: Step Functions compares numbers and strings with `{}`, and booleans or null only with `==`; {other} cannot be translated",
            case.op.symbol()
        ),
    };
    let mut rule = Map::new();
    rule.insert("Variable".into(), variable.into());
    rule.insert(operator, value);
    rule.insert("Next".into(), scope.name(&case.next).into());
    Ok(Value::Object(rule))
}

fn comparison(op: Op) -> &'static str {
    match op {
        Op::Lt => "LessThan",
        Op::Le => "LessThanEquals",
        Op::Eq => "Equals",
        Op::Ge => "GreaterThanEquals",
        Op::Gt => "GreaterThan",
    }
}
