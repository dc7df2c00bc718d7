//! Data passing between states as Step Functions does it: dotted paths into the running value,
//! the array a map writes its results back to, the payload size limit.

use serde_json::{Map, Value};

/// Step Functions' limit on a state's input or output: 256 KiB of UTF-8 JSON.
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

/// The value at a dotted path (`people.number`), if every step exists.
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// `value` with the dotted path set to `new` (intermediate objects created as needed); an error
/// names the step that is not an object.
pub fn set_path(value: &Value, path: &str, new: Value) -> Result<Value, String> {
    let mut out = value.clone();
    let mut at = &mut out;
    let keys: Vec<&str> = path.split('.').collect();
    for (i, key) in keys.iter().enumerate() {
        let Value::Object(map) = at else {
            return Err(format!(
                "cannot set `{path}`: `{}` is not an object",
                keys[..i].join(".")
            ));
        };
        if i + 1 == keys.len() {
            map.insert((*key).to_string(), new);
            return Ok(out);
        }
        at = map
            .entry((*key).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(out)
}

/// The input one map element receives: the element itself, or with `common_params`
/// `{"array_element": element, <param>: input[param], ...}` (SeBS-Flow's shape).
pub fn element_input(input: &Value, element: &Value, common: &[&str]) -> Value {
    if common.is_empty() {
        return element.clone();
    }
    let mut map = Map::new();
    map.insert("array_element".into(), element.clone());
    for param in common {
        let v = get_path(input, param).cloned().unwrap_or(Value::Null);
        map.insert((*param).to_string(), v);
    }
    Value::Object(map)
}

/// The size of `value` as compact JSON (what Step Functions counts against the limit).
pub fn payload_size(value: &Value) -> usize {
    serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0)
}

/// `Err` with Step Functions' error name when `value` is over `limit` bytes.
pub fn check_payload(value: &Value, limit: usize, what: &str) -> Result<(), String> {
    let size = payload_size(value);
    if size > limit {
        return Err(format!(
            "States.DataLimitExceeded: the {what} is {size} bytes, over the {limit}-byte payload limit (Step Functions allows 256 KiB); pass large data through storage and hand over its key instead"
        ));
    }
    Ok(())
}

/// The failure state's input: the failed state's input with `error` added (what a Step
/// Functions Catch with `"ResultPath": "$.error"` produces); a non-object input is wrapped as
/// `{"input": ..., "error": ...}`.
pub fn with_error(input: &Value, error: &str, cause: &str) -> Value {
    let err = serde_json::json!({"Error": error, "Cause": cause});
    match input {
        Value::Object(map) => {
            let mut map = map.clone();
            map.insert("error".into(), err);
            Value::Object(map)
        }
        other => serde_json::json!({"input": other, "error": err}),
    }
}
