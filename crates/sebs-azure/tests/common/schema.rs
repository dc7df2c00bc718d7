//! Checks against the ARM description in tests/data/arm-subset.json: its schemas (through
//! sebs-testkit's JSON Schema subset) and its path templates.

use serde_json::Value;

/// Validate `value` against `schema` (the ARM subset has no `$ref`s); errors name the JSON
/// path.
pub fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    sebs_testkit::schema::validate(schema, schema, value, at)
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
