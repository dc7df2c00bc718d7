//! Checking requests and responses against published API descriptions: a Swagger 2.0 document
//! (OpenWhisk's) and OpenAPI v3 schemas (a Kubernetes CRD's). The subset of JSON Schema these
//! documents use: `$ref`, `type`, `required`, `properties`, `additionalProperties` (schemas),
//! `items`, `enum`, `minLength`, `minimum`, `x-kubernetes-int-or-string`.

use serde_json::Value;

/// Validate `value` against `schema`; `root` resolves `$ref`s. Errors name the JSON path.
pub fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        return validate(root, resolve(root, r)?, value, at);
    }
    if schema["x-kubernetes-int-or-string"] == true {
        return match value {
            Value::Number(_) | Value::String(_) => Ok(()),
            other => Err(format!(
                "{at}: expected an integer or a string, got {other}"
            )),
        };
    }
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
            match properties.and_then(|p| p.get(key)) {
                Some(s) => validate(root, s, v, &path)?,
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => {
                        return Err(format!("{path}: not a property of this object"));
                    }
                    s @ Value::Object(_) => validate(root, s, v, &path)?,
                    // Structural schemas (Kubernetes) prune unknown fields; OpenAPI v3 schemas of
                    // CRDs are closed unless they say otherwise.
                    _ if schema["x-sebs-closed"] == true => {
                        return Err(format!("{path}: not a property of this object"));
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(root, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The schema a local `$ref` (`#/definitions/X`, `#/responses/Y`) points to.
pub fn resolve<'a>(root: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let pointer = reference
        .strip_prefix('#')
        .ok_or_else(|| format!("only local references are supported: {reference}"))?;
    root.pointer(pointer)
        .ok_or_else(|| format!("unresolved reference {reference}"))
}

/// One Swagger 2.0 operation found for a request.
pub struct Operation<'a> {
    /// The operation object.
    pub op: &'a Value,
    /// The path template it matched.
    pub template: String,
}

/// The operation of `method` on `path` (under the document's `basePath`).
pub fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Result<Operation<'a>, String> {
    let base = spec["basePath"].as_str().unwrap_or("");
    let rest = path
        .strip_prefix(base)
        .ok_or_else(|| format!("{path} is not under {base}"))?;
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    for (template, item) in spec["paths"].as_object().into_iter().flatten() {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        let fits = parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s);
        if fits {
            let op = item
                .get(method.to_ascii_lowercase())
                .ok_or_else(|| format!("{method} is not an operation of {template}"))?;
            return Ok(Operation {
                op,
                template: template.clone(),
            });
        }
    }
    Err(format!(
        "{method} {path}: no such path in the API description"
    ))
}

/// Check a request's query and body against the operation's parameters.
pub fn check_request(
    spec: &Value,
    op: &Operation<'_>,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<(), String> {
    let params = op.op["parameters"].as_array().cloned().unwrap_or_default();
    for (key, value) in query {
        let p = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == key.as_str())
            .ok_or_else(|| format!("{}: query parameter `{key}` is not declared", op.template))?;
        let ok = match p["type"].as_str() {
            Some("integer") => value.parse::<i64>().is_ok(),
            Some("boolean") => value == "true" || value == "false",
            _ => true,
        };
        let in_enum = p["enum"]
            .as_array()
            .is_none_or(|e| e.iter().any(|x| x == value.as_str()));
        if !ok || !in_enum {
            return Err(format!(
                "{}: query parameter `{key}={value}` does not fit {p}",
                op.template
            ));
        }
    }
    for p in &params {
        if p["in"] == "query"
            && p["required"] == true
            && !query.iter().any(|(k, _)| p["name"] == k.as_str())
        {
            return Err(format!(
                "{}: required query parameter {} missing",
                op.template, p["name"]
            ));
        }
        if p["in"] == "body" {
            match body {
                Some(b) => validate(spec, &p["schema"], b, "body")?,
                None if p["required"] == true => {
                    return Err(format!("{}: the request needs a JSON body", op.template));
                }
                None => {}
            }
        }
    }
    if body.is_some() && !params.iter().any(|p| p["in"] == "body") {
        return Err(format!("{}: this operation takes no body", op.template));
    }
    Ok(())
}

/// Check a response against the operation's documented responses.
pub fn check_response(
    spec: &Value,
    op: &Operation<'_>,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let mut response = op.op["responses"]
        .get(status.to_string())
        .ok_or_else(|| format!("{}: status {status} is not documented", op.template))?;
    if let Some(r) = response["$ref"].as_str() {
        response = resolve(spec, r)?;
    }
    match response.get("schema") {
        Some(schema) => validate(spec, schema, body, "response"),
        None => Ok(()),
    }
}

/// `a=1&b=x` as pairs (percent-decoding what the clients encode).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
