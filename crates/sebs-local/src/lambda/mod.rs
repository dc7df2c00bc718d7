//! Lambda's control plane on the local platform: the REST API an AWS backend (the AWS CLI, boto3,
//! the AWS SDKs) uses to create, configure, list and delete functions and their function URLs,
//! with AWS's paths, JSON shapes, status codes and error shapes.
//!
//! A function created here is unpacked under the platform's directory, mapped to a local runtime
//! (`runtimes.rs`) and deployed like any other: the Invoke API and `/function/{name}/` serve it.
//! What the control plane knows (configuration, URL configs, policies) lives in a [`Registry`]
//! in memory; the code lives on disk until the function is deleted or the platform stops.
//! Operations: `functions.rs` (functions), `urls.rs` (function URLs and permissions), `code.rs`
//! (where code comes from, S3 included), `shapes.rs` (AWS's JSON).

mod archive;
mod code;
mod functions;
mod requests;
mod runtimes;
mod shapes;
mod urls;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use code::CodeStore;

use crate::state::Shared;

/// The account id in the ARNs the local platform hands out (as LocalStack and moto do).
pub(crate) const ACCOUNT: &str = "000000000000";

/// The region of ARNs when a request is not signed (signed requests name theirs).
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// A function's code on disk: the unpacked package and the zip it came from.
#[derive(Debug, Clone)]
pub(crate) struct CodePackage {
    /// The unpacked package (`LAMBDA_TASK_ROOT`).
    pub(crate) dir: PathBuf,
    /// The zip as uploaded (served as `Code.Location`).
    pub(crate) zip: PathBuf,
    /// Bytes of the zip.
    pub(crate) size: u64,
    /// Base64 of the zip's SHA-256.
    pub(crate) sha256: String,
}

/// A function URL's configuration.
#[derive(Debug, Clone)]
pub(crate) struct UrlConfig {
    pub(crate) auth_type: String,
    pub(crate) cors: Option<Value>,
    pub(crate) invoke_mode: String,
    pub(crate) created: String,
    pub(crate) modified: String,
}

/// What the control plane knows of a function created through it.
#[derive(Debug, Clone)]
pub(crate) struct LambdaFunction {
    pub(crate) name: String,
    pub(crate) region: String,
    pub(crate) runtime: String,
    pub(crate) role: String,
    pub(crate) handler: Option<String>,
    pub(crate) description: String,
    pub(crate) memory: u64,
    pub(crate) timeout: u64,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) architectures: Vec<String>,
    pub(crate) ephemeral_storage: u64,
    pub(crate) tracing_mode: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) code: CodePackage,
    /// The function's directory (its code revisions live below it).
    pub(crate) home: PathBuf,
    pub(crate) last_modified: String,
    pub(crate) revision_id: String,
    pub(crate) url: Option<UrlConfig>,
    /// Permission statements by statement id.
    pub(crate) policy: BTreeMap<String, Value>,
}

impl LambdaFunction {
    /// `arn:aws:lambda:<region>:000000000000:function:<name>`.
    pub(crate) fn arn(&self) -> String {
        function_arn(&self.region, &self.name)
    }
}

/// The control plane's state: functions created through it, and where S3 code comes from.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) functions: Mutex<BTreeMap<String, LambdaFunction>>,
    /// Held by every operation that changes functions, so that they apply one at a time.
    pub(crate) changes: tokio::sync::Mutex<()>,
    pub(crate) code_store: Mutex<Option<CodeStore>>,
    /// Interpreters found per runtime identifier (finding one runs it).
    pub(crate) interpreters: Mutex<HashMap<String, crate::spec::Runtime>>,
}

impl Registry {
    /// Forget `name` and remove its code from disk.
    pub(crate) fn forget(&self, name: &str) {
        let removed = self.functions.lock().expect("lock").remove(name);
        if let Some(f) = removed
            && let Err(e) = std::fs::remove_dir_all(&f.home)
        {
            tracing::debug!("cannot remove {}: {e}", f.home.display());
        }
    }

    /// A copy of function `name`'s record.
    pub(crate) fn get(&self, name: &str) -> Result<LambdaFunction, ApiError> {
        self.functions
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::function_not_found(name))
    }
}

/// An AWS error answer: the `x-amzn-ErrorType` header and `{"Type": "User", "message": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    /// `InvalidParameterValueException` (400).
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "InvalidParameterValueException",
            message: message.into(),
        }
    }

    /// `ResourceNotFoundException` (404) for a function.
    pub(crate) fn function_not_found(name: &str) -> ApiError {
        ApiError::not_found(format!(
            "Function not found: {}",
            function_arn(DEFAULT_REGION, name)
        ))
    }

    /// `ResourceNotFoundException` (404).
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "ResourceNotFoundException",
            message: message.into(),
        }
    }

    /// `ResourceConflictException` (409).
    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            kind: "ResourceConflictException",
            message: message.into(),
        }
    }

    /// `PreconditionFailedException` (412): a `RevisionId` that is not the current one.
    pub(crate) fn stale_revision(name: &str) -> ApiError {
        ApiError {
            status: StatusCode::PRECONDITION_FAILED,
            kind: "PreconditionFailedException",
            message: format!(
                "The Revision Id provided does not match the latest Revision Id of {name}. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            ),
        }
    }

    /// `RequestTooLargeException` (413).
    pub(crate) fn too_large(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "RequestTooLargeException",
            message: message.into(),
        }
    }

    /// `ServiceException` (500): the platform failed, not the request.
    pub(crate) fn service(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "ServiceException",
            message: message.into(),
        }
    }

    /// `UnknownOperationException` (404): a path of Lambda's API this platform does not serve.
    pub(crate) fn unknown_operation(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "UnknownOperationException",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_answer(
            self.status,
            &json!({"Type": "User", "message": self.message}),
        );
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.kind));
        response
    }
}

/// A JSON answer with a request id, as Lambda's control plane answers.
pub(crate) fn json_answer(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("x-amzn-RequestId", v);
    }
    response
}

/// An answer without a body (`204 No Content` for deletions).
pub(crate) fn no_content() -> Response {
    json_answer(StatusCode::NO_CONTENT, &Value::Null).map(|_| axum::body::Body::empty())
}

/// `arn:aws:lambda:<region>:000000000000:function:<name>`.
pub(crate) fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}")
}

/// The function name in a `FunctionName` path parameter, which may be a name, a full ARN
/// (`arn:aws:lambda:us-east-1:000000000000:function:f`) or a partial one
/// (`000000000000:function:f`), each optionally with `:$LATEST`.
pub(crate) fn function_name(given: &str) -> String {
    let rest = given
        .split_once(":function:")
        .map_or(given, |(_, name)| name);
    let name = rest.strip_suffix(":$LATEST").unwrap_or(rest);
    name.to_owned()
}

/// The region a SigV4 `Authorization` header signs for (its credential scope), or
/// [`DEFAULT_REGION`]. The signature itself is not checked, as LocalStack and moto do not.
pub(crate) fn request_region(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split_once("Credential="))
        .and_then(|(_, credential)| credential.split(['/', ',']).nth(2).map(str::to_owned))
        .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

/// The decoded `key=value` pairs of a query string.
pub(crate) fn query_pairs(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Only `$LATEST` exists here: a `Qualifier` naming a version or an alias is refused.
pub(crate) fn check_qualifier(query: &HashMap<String, String>) -> Result<(), ApiError> {
    match query.get("Qualifier").map(String::as_str) {
        None | Some("$LATEST") => Ok(()),
        Some(other) => Err(ApiError::invalid(format!(
            "Qualifier `{other}` is not supported: the local platform has no versions or aliases, only $LATEST"
        ))),
    }
}

/// The control plane's routes (merged into the gateway's router).
pub(crate) fn router() -> Router<Arc<Shared>> {
    functions::routes().merge(urls::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_arns_and_regions() {
        assert_eq!(function_name("f"), "f");
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:000000000000:function:f"),
            "f"
        );
        assert_eq!(function_name("000000000000:function:f:$LATEST"), "f");
        let mut h = HeaderMap::new();
        assert_eq!(request_region(&h), "us-east-1");
        h.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20240101/eu-central-1/lambda/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        assert_eq!(request_region(&h), "eu-central-1");
    }

    #[test]
    fn query_strings_are_decoded() {
        let q = query_pairs(Some("Marker=a%2Fb&MaxItems=5&Qualifier=%24LATEST&x"));
        assert_eq!(q["Marker"], "a/b");
        assert_eq!(q["MaxItems"], "5");
        assert_eq!(q["Qualifier"], "$LATEST");
        assert_eq!(q["x"], "");
        assert!(check_qualifier(&q).is_ok());
        assert!(check_qualifier(&query_pairs(Some("Qualifier=prod"))).is_err());
    }
}
