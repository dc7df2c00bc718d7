//! Google's discovery documents (from the pip-installed `google-api-python-client`) as request
//! and response checkers: a request must match a method of the API (HTTP method and path
//! template), use only its query parameters, and send a body whose every field (recursively)
//! exists in the method's request schema with the documented type; a response body is checked
//! against the method's response schema the same way.

use serde_json::Value;

/// One API's discovery document.
pub struct Discovery {
    pub doc: Value,
    /// `cloudfunctions v1`, for messages.
    pub label: String,
}

/// The directory of the discovery documents, or `None` (with the reason) if the package is
/// not installed.
pub fn documents_dir() -> Result<std::path::PathBuf, String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import googleapiclient, os; print(os.path.join(os.path.dirname(googleapiclient.__file__), 'discovery_cache', 'documents'))",
        ])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err("the PyPI package google-api-python-client is not installed (pip install google-api-python-client)".into());
    }
    Ok(std::path::PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim(),
    ))
}

impl Discovery {
    pub fn load(dir: &std::path::Path, file: &str) -> Discovery {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        Discovery {
            doc: serde_json::from_str(&text).unwrap(),
            label: file.into(),
        }
    }

    /// The method `http_method path` (path without the leading `/`) calls, the most specific
    /// template first; an error naming what is wrong.
    pub fn method(&self, http_method: &str, path: &str) -> Result<Value, String> {
        let mut methods = Vec::new();
        collect(&self.doc["resources"], &mut methods);
        let mut best: Option<(usize, Value)> = None;
        for m in methods {
            if m["httpMethod"].as_str() != Some(http_method) {
                continue;
            }
            let template = m["path"].as_str().unwrap_or_default();
            let Some(vars) = capture(template, path) else {
                continue;
            };
            let fits = vars.iter().all(|(var, value)| {
                m["parameters"][var]["pattern"]
                    .as_str()
                    .is_none_or(|p| pattern_ok(p, value))
            });
            if fits {
                let literal = template.chars().filter(|c| *c != '{').count()
                    - template
                        .split('{')
                        .skip(1)
                        .map(|s| s.find('}').unwrap_or(0))
                        .sum::<usize>();
                if best.as_ref().is_none_or(|(l, _)| literal > *l) {
                    best = Some((literal, m));
                }
            }
        }
        best.map(|(_, m)| m)
            .ok_or_else(|| format!("{}: no method {http_method} {path}", self.label))
    }

    /// Check a request's query and body against `method`.
    pub fn check_request(
        &self,
        method: &Value,
        query: &str,
        body: Option<&Value>,
    ) -> Result<(), String> {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let key = pair.split('=').next().unwrap();
            let known = method["parameters"][key]["location"] == "query"
                || self.doc["parameters"].get(key).is_some();
            if !known {
                return Err(format!(
                    "{}: {} has no query parameter {key}",
                    self.label, method["id"]
                ));
            }
        }
        match (method["request"]["$ref"].as_str(), body) {
            (Some(schema), Some(body)) => {
                self.check(&json_ref(schema), body, method["id"].as_str().unwrap_or(""))
            }
            (None, Some(b)) if !b.is_null() => {
                Err(format!("{}: {} takes no body", self.label, method["id"]))
            }
            (Some(_), None) => Err(format!("{}: {} needs a body", self.label, method["id"])),
            _ => Ok(()),
        }
    }

    /// Check a response body against `method`'s response schema.
    pub fn check_response(&self, method: &Value, body: &Value) -> Result<(), String> {
        match method["response"]["$ref"].as_str() {
            Some(schema) => self.check(&json_ref(schema), body, "response"),
            None => Ok(()),
        }
    }

    /// Check `value` against `schema` (a schema object or `{"$ref": id}`).
    pub fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = match schema["$ref"].as_str() {
            Some(id) => &self.doc["schemas"][id],
            None => schema,
        };
        let ty = schema["type"].as_str().unwrap_or("any");
        let ok = match ty {
            "string" => value.is_string(),
            "integer" => {
                value.is_i64()
                    || value.is_u64()
                    || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
            }
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(format!("{}: {at} should be {ty}, is {value}", self.label));
        }
        if let Some(items) = value.as_array() {
            for (i, item) in items.iter().enumerate() {
                self.check(&schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
        if let Some(fields) = value.as_object() {
            for (k, v) in fields {
                let field = if let Some(p) = schema["properties"].get(k) {
                    p
                } else if let Some(extra) = schema.get("additionalProperties") {
                    extra
                } else if schema["properties"].is_object() {
                    return Err(format!("{}: {at} has no field {k}", self.label));
                } else {
                    continue;
                };
                self.check(field, v, &format!("{at}.{k}"))?;
            }
        }
        Ok(())
    }
}

fn json_ref(id: &str) -> Value {
    serde_json::json!({ "$ref": id })
}

fn collect(resources: &Value, out: &mut Vec<Value>) {
    for (_, r) in resources.as_object().into_iter().flatten() {
        for (_, m) in r["methods"].as_object().into_iter().flatten() {
            out.push(m.clone());
        }
        collect(&r["resources"], out);
    }
}

/// The variables of `template` (`v2/{+parent}/functions`: `{+x}` spans slashes, `{x}` not) if
/// `path` fits it.
fn capture(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    fn go(t: &str, p: &str, out: &mut Vec<(String, String)>) -> bool {
        if t.is_empty() {
            return p.is_empty();
        }
        if let Some(rest) = t.strip_prefix('{') {
            let end = rest.find('}').unwrap();
            let var = rest[..end].trim_start_matches('+').to_owned();
            let reserved = rest.starts_with('+');
            let after = &rest[end + 1..];
            for i in 1..=p.len() {
                if !p.is_char_boundary(i) {
                    continue;
                }
                if !reserved && p[..i].contains('/') {
                    break;
                }
                out.push((var.clone(), p[..i].to_owned()));
                if go(after, &p[i..], out) {
                    return true;
                }
                out.pop();
            }
            return false;
        }
        let n = t.find('{').unwrap_or(t.len());
        p.starts_with(&t[..n]) && go(&t[n..], &p[n..], out)
    }
    let mut out = Vec::new();
    go(template, path, &mut out).then_some(out)
}

fn matches(template: &str, path: &str) -> bool {
    capture(template, path).is_some()
}

/// Whether `value` fits a discovery `pattern` of path segments (`^projects/[^/]+/...$`).
fn pattern_ok(pattern: &str, value: &str) -> bool {
    // `[^/]+` holds a slash: name it before splitting into segments.
    let p = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace("[^/]+", "*");
    if p.contains(".*") || p.contains(".+") {
        return true;
    }
    let ps: Vec<&str> = p.split('/').collect();
    let vs: Vec<&str> = value.split('/').collect();
    ps.len() == vs.len() && ps.iter().zip(&vs).all(|(p, v)| *p == "*" || p == v)
}

#[test]
fn templates_match_like_googles() {
    assert!(matches(
        "v2/{+parent}/functions",
        "v2/projects/p/locations/r/functions"
    ));
    assert!(matches(
        "v1/{+name}:call",
        "v1/projects/p/locations/r/functions/f:call"
    ));
    assert!(!matches("v1/{name}", "v1/a/b"));
}

#[test]
fn functions_get_is_found_by_its_name_pattern() {
    let Ok(dir) = documents_dir() else {
        println!(
            "SKIP functions_get_is_found_by_its_name_pattern: google-api-python-client is not installed"
        );
        return;
    };
    let v1 = Discovery::load(&dir, "cloudfunctions.v1.json");
    let m = v1
        .method("GET", "v1/projects/p/locations/r/functions/f")
        .unwrap();
    assert_eq!(m["id"], "cloudfunctions.projects.locations.functions.get");
    let m = v1.method("GET", "v1/operations/op-1").unwrap();
    assert_eq!(m["id"], "cloudfunctions.operations.get");
}

#[test]
fn bodies_outside_the_schema_are_refused() {
    let Ok(dir) = documents_dir() else {
        println!(
            "SKIP bodies_outside_the_schema_are_refused: google-api-python-client is not installed"
        );
        return;
    };
    let run = Discovery::load(&dir, "run.v2.json");
    let create = run
        .method("POST", "v2/projects/p/locations/r/services")
        .unwrap();
    let ok = serde_json::json!({"template": {"containers": [{"image": "scratch"}]}});
    assert!(run.check_request(&create, "serviceId=s", Some(&ok)).is_ok());
    let unknown = serde_json::json!({"template": {"containers": [{"imagee": "scratch"}]}});
    let e = run
        .check_request(&create, "serviceId=s", Some(&unknown))
        .unwrap_err();
    assert!(e.contains("imagee"), "{e}");
    let wrong_type = serde_json::json!({"template": {"maxInstanceRequestConcurrency": "many"}});
    assert!(run.check_request(&create, "", Some(&wrong_type)).is_err());
    assert!(
        run.check_request(&create, "serviceIdd=s", Some(&ok))
            .is_err()
    );
}
