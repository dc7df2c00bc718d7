//! The fake's Cosmos DB data plane (NoSQL API), enough for SeBS's NoSQL calls: databases,
//! containers with a partition key, documents (create/upsert, read, replace, delete) and
//! parameterised `SELECT * FROM c WHERE c[@k] = @v` queries within a partition. Every request's
//! master-key `Authorization` is recomputed from the documented string to sign
//! (`verb\nresourceType\nresourceLink\ndate\n\n`, HMAC-SHA256 with the decoded key) and
//! compared; `x-ms-date` and `x-ms-version` are required.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};

use super::fake::{FakeAzure, reply, urldecode};

/// The account's primary key (what `DatabaseAccounts_ListKeys` answers).
pub const MASTER_KEY: &str = "ZmFrZS1jb3Ntb3Mta2V5LXByaW1hcnk=";

/// Documents of a container by `(partition key value, id)`.
type Documents = BTreeMap<(String, String), Value>;

/// Containers: `(database, container)` → (partition key path, documents).
#[derive(Default)]
pub struct Cosmos {
    databases: Vec<String>,
    containers: HashMap<(String, String), (String, Documents)>,
}

/// `(resource type, resource link)` of a request path, as Cosmos DB signs them.
fn signed_parts(path: &str) -> (String, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments.len() % 2 == 1 {
        let kind = segments.last().unwrap().to_string();
        (kind, segments[..segments.len() - 1].join("/"))
    } else {
        (segments[segments.len() - 2].to_owned(), segments.join("/"))
    }
}

fn signature(verb: &str, kind: &str, link: &str, date: &str) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}\n\n",
        verb.to_lowercase(),
        kind.to_lowercase(),
        link,
        date.to_lowercase()
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(MASTER_KEY)
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(text.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("type=master&ver=1.0&sig={sig}")
}

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(status, &json!({"code": code, "message": message}))
}

/// One data-plane request.
pub fn handle(
    fake: &FakeAzure,
    verb: &str,
    path: &str,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let header = |n: &str| header_of(headers, n);
    let (kind, link) = signed_parts(path);
    if header("x-ms-version").is_empty() || header("x-ms-date").is_empty() {
        return fake.violation(format!(
            "Cosmos DB {verb} {path} without x-ms-date/x-ms-version"
        ));
    }
    if urldecode(header("authorization")) != signature(verb, &kind, &link, header("x-ms-date")) {
        return error(
            401,
            "Unauthorized",
            "The input authorization token can't serve the request",
        );
    }
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let partition: Option<String> =
        serde_json::from_str::<Value>(header("x-ms-documentdb-partitionkey"))
            .ok()
            .and_then(|v| v.get(0).cloned())
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            });
    let mut state = fake.state.lock().unwrap();
    let cosmos = &mut state.cosmos;
    let s: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    match (verb, s.len()) {
        ("POST", 1) => {
            let id = doc["id"].as_str().unwrap_or_default().to_owned();
            if cosmos.databases.contains(&id) {
                return error(
                    409,
                    "Conflict",
                    "Entity with the specified id already exists in the system.",
                );
            }
            cosmos.databases.push(id.clone());
            reply(201, &json!({"id": id}))
        }
        ("POST", 3) => {
            if !cosmos.databases.contains(&s[1]) {
                return error(404, "NotFound", "database not found");
            }
            let id = doc["id"].as_str().unwrap_or_default().to_owned();
            let Some(pk) = doc["partitionKey"]["paths"][0].as_str() else {
                return fake.violation(format!("container {id} without partitionKey.paths"));
            };
            let key = (s[1].clone(), id.clone());
            if cosmos.containers.contains_key(&key) {
                return error(
                    409,
                    "Conflict",
                    "Entity with the specified id already exists in the system.",
                );
            }
            cosmos
                .containers
                .insert(key, (pk.to_owned(), BTreeMap::new()));
            reply(201, &json!({"id": id, "partitionKey": doc["partitionKey"]}))
        }
        (_, 5 | 6) => {
            let Some((pk_path, docs)) = cosmos.containers.get_mut(&(s[1].clone(), s[3].clone()))
            else {
                return error(404, "NotFound", "container not found");
            };
            let Some(partition) = partition else {
                return fake.violation(format!(
                    "{verb} {path} without x-ms-documentdb-partitionkey"
                ));
            };
            documents(verb, &s, pk_path, docs, partition, headers, doc)
        }
        _ => fake.violation(format!("Cosmos DB: {verb} {path} is not served")),
    }
}

fn documents(
    verb: &str,
    s: &[String],
    pk_path: &str,
    docs: &mut Documents,
    partition: String,
    headers: &hyper::HeaderMap,
    doc: Value,
) -> Response<Full<Bytes>> {
    let header = |n: &str| header_of(headers, n);
    let field = pk_path.trim_start_matches('/');
    match (verb, s.len()) {
        ("POST", 5) if header("x-ms-documentdb-isquery").eq_ignore_ascii_case("true") => {
            let params: HashMap<String, Value> = doc["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["value"].clone(),
                    )
                })
                .collect();
            let (Some(k), Some(v)) = (params.get("@k").and_then(|k| k.as_str()), params.get("@v"))
            else {
                return error(
                    400,
                    "BadRequest",
                    "the fake answers `c[@k] = @v` queries only",
                );
            };
            let found: Vec<Value> = docs
                .iter()
                .filter(|((p, _), d)| *p == partition && d[k] == *v)
                .map(|(_, d)| d.clone())
                .collect();
            reply(200, &json!({"Documents": found, "_count": found.len()}))
        }
        ("POST", 5) => {
            let id = doc["id"].as_str().unwrap_or_default().to_owned();
            let in_doc = doc[field]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| doc[field].to_string());
            if in_doc != partition {
                return error(
                    400,
                    "BadRequest",
                    "PartitionKey extracted from document doesn't match the one specified in the header",
                );
            }
            let upsert = header("x-ms-documentdb-is-upsert").eq_ignore_ascii_case("true");
            if !upsert && docs.contains_key(&(partition.clone(), id.clone())) {
                return error(
                    409,
                    "Conflict",
                    "Entity with the specified id already exists in the system.",
                );
            }
            docs.insert((partition, id), doc.clone());
            reply(201, &doc)
        }
        ("GET", 6) => match docs.get(&(partition, s[5].clone())) {
            Some(d) => reply(200, d),
            None => error(
                404,
                "NotFound",
                "Entity with the specified id does not exist in the system.",
            ),
        },
        ("PUT", 6) => match docs.get_mut(&(partition, s[5].clone())) {
            Some(d) => {
                *d = doc.clone();
                reply(200, &doc)
            }
            None => error(
                404,
                "NotFound",
                "Entity with the specified id does not exist in the system.",
            ),
        },
        ("DELETE", 6) => match docs.remove(&(partition, s[5].clone())) {
            Some(_) => reply(204, &Value::Null),
            None => error(
                404,
                "NotFound",
                "Entity with the specified id does not exist in the system.",
            ),
        },
        _ => error(
            405,
            "MethodNotAllowed",
            &format!("{verb} on {}", s.join("/")),
        ),
    }
}

#[test]
fn signed_parts_of_paths() {
    assert_eq!(signed_parts("/dbs"), ("dbs".into(), "".into()));
    assert_eq!(
        signed_parts("/dbs/b/colls"),
        ("colls".into(), "dbs/b".into())
    );
    assert_eq!(
        signed_parts("/dbs/b/colls/c/docs/1"),
        ("docs".into(), "dbs/b/colls/c/docs/1".into())
    );
}

fn header_of<'a>(headers: &'a hyper::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
