//! Switch states: the first case whose `var op val` holds picks the next state.

use serde_json::Value;

use crate::data::get_path;
use crate::definition::{Case, Op, Switch};

/// The next state for `value`, or Step Functions' error name and a cause.
pub fn choose<'s>(switch: &'s Switch, value: &Value) -> Result<&'s str, (&'static str, String)> {
    for case in &switch.cases {
        if holds(case, value)? {
            return Ok(&case.next);
        }
    }
    switch.default.as_deref().ok_or_else(|| {
        (
            "States.NoChoiceMatched",
            "no case held and the switch has no `default`".to_string(),
        )
    })
}

/// Whether one case holds. Numbers compare numerically and strings lexically (Step Functions'
/// `Numeric*` and `String*` rules); a value of another type than `val` does not match. A
/// missing `var` is an error, as in Step Functions.
pub fn holds(case: &Case, value: &Value) -> Result<bool, (&'static str, String)> {
    let Some(actual) = get_path(value, &case.var) else {
        return Err((
            "States.Runtime",
            format!("switch variable `{}` is not in the state's input", case.var),
        ));
    };
    let ordering = match (actual, &case.val) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if case.op == Op::Eq => return Ok(a == b),
        _ => None,
    };
    let Some(ord) = ordering else {
        return Ok(false);
    };
    use std::cmp::Ordering::*;
    Ok(match case.op {
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Eq => ord == Equal,
        Op::Ge => ord != Less,
        Op::Gt => ord == Greater,
    })
}
