//! The subset of JSON Schema the ARM description in tests/data/arm-subset.json uses: `type`,
//! `required`, `properties`, `additionalProperties` (false or a schema), `items`, `enum`,
//! `minLength`, `minimum`.

use serde_json::Value;

/// Validate `value` against `schema`; errors name the JSON path.
pub fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(t) = schema["type"].as_str() {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: expected {t}, got {value}"));
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(s)) = (schema["minLength"].as_u64(), value.as_str())
        && (s.chars().count() as u64) < min
    {
        return Err(format!("{at}: shorter than {min}"));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        return Err(format!("{at}: {n} is below the minimum {min}"));
    }
    if let Some(object) = value.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if !object.contains_key(key) {
                return Err(format!("{at}: the required property `{key}` is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            let path = format!("{at}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                &schema["additionalProperties"],
            ) {
                (Some(s), _) => validate(s, v, &path)?,
                (None, Value::Bool(false)) => {
                    return Err(format!("{path}: not a property of the description"));
                }
                (None, extra) if extra.is_object() => validate(extra, v, &path)?,
                _ => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Whether `path` matches the template `pattern` (`{name}` segments match any one segment;
/// literals compare case-insensitively, as Resource Manager does): the named segments.
pub fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_matches('/').split('/').collect();
    if p.len() != s.len() {
        return None;
    }
    let mut named = Vec::new();
    for (a, b) in p.iter().zip(&s) {
        if a.starts_with('{') && a.ends_with('}') {
            if b.is_empty() {
                return None;
            }
            named.push((a.trim_matches(['{', '}']).to_owned(), (*b).to_owned()));
        } else if !a.eq_ignore_ascii_case(b) {
            return None;
        }
    }
    Some(named)
}

#[test]
fn schema_and_paths() {
    let schema = serde_json::json!({"type": "object", "required": ["a"], "additionalProperties": false,
        "properties": {"a": {"type": "string", "enum": ["x"]}}});
    assert!(validate(&schema, &serde_json::json!({"a": "x"}), "$").is_ok());
    assert!(validate(&schema, &serde_json::json!({"a": "y"}), "$").is_err());
    assert!(validate(&schema, &serde_json::json!({"a": "x", "b": 1}), "$").is_err());
    assert!(validate(&schema, &serde_json::json!({}), "$").is_err());
    assert!(
        match_path(
            "/subscriptions/{s}/resourcegroups/{g}",
            "/subscriptions/1/resourceGroups/x"
        )
        .is_some()
    );
    assert!(match_path("/subscriptions/{s}", "/subscriptions/1/x").is_none());
}
