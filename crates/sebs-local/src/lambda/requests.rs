//! The request bodies of the control plane's operations, with AWS's member names. Members the
//! local platform cannot honour are refused with `InvalidParameterValueException` when they ask
//! for something (an empty list or `false` asks for nothing and is accepted).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ApiError;

/// `Code` of CreateFunction; the members of UpdateFunctionCode.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CodeInput {
    pub(crate) zip_file: Option<String>,
    #[serde(rename = "S3Bucket")]
    pub(crate) s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    pub(crate) s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    pub(crate) s3_object_version: Option<String>,
    pub(crate) image_uri: Option<String>,
}

/// `Environment`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnvironmentInput {
    #[serde(default)]
    pub(crate) variables: BTreeMap<String, String>,
}

/// `TracingConfig`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TracingInput {
    pub(crate) mode: Option<String>,
}

/// `EphemeralStorage`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EphemeralInput {
    pub(crate) size: u64,
}

/// CreateFunction's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateFunction {
    pub(crate) function_name: String,
    pub(crate) runtime: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) handler: Option<String>,
    pub(crate) code: CodeInput,
    pub(crate) description: Option<String>,
    pub(crate) timeout: Option<u64>,
    pub(crate) memory_size: Option<u64>,
    pub(crate) environment: Option<EnvironmentInput>,
    pub(crate) architectures: Option<Vec<String>>,
    pub(crate) package_type: Option<String>,
    pub(crate) publish: Option<bool>,
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) tracing_config: Option<TracingInput>,
    pub(crate) ephemeral_storage: Option<EphemeralInput>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// UpdateFunctionConfiguration's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateConfiguration {
    pub(crate) runtime: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) handler: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) timeout: Option<u64>,
    pub(crate) memory_size: Option<u64>,
    pub(crate) environment: Option<EnvironmentInput>,
    pub(crate) architectures: Option<Vec<String>>,
    pub(crate) revision_id: Option<String>,
    pub(crate) tracing_config: Option<TracingInput>,
    pub(crate) ephemeral_storage: Option<EphemeralInput>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// UpdateFunctionCode's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UpdateCode {
    #[serde(flatten)]
    pub(crate) code: CodeInput,
    pub(crate) architectures: Option<Vec<String>>,
    pub(crate) publish: Option<bool>,
    pub(crate) dry_run: Option<bool>,
    pub(crate) revision_id: Option<String>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// CreateFunctionUrlConfig's and UpdateFunctionUrlConfig's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UrlConfigInput {
    pub(crate) auth_type: Option<String>,
    pub(crate) cors: Option<Value>,
    pub(crate) invoke_mode: Option<String>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// AddPermission's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddPermission {
    pub(crate) statement_id: String,
    pub(crate) action: String,
    pub(crate) principal: String,
    pub(crate) source_arn: Option<String>,
    pub(crate) source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub(crate) principal_org_id: Option<String>,
    pub(crate) function_url_auth_type: Option<String>,
    pub(crate) invoked_via_function_url: Option<bool>,
    pub(crate) revision_id: Option<String>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// Parse a JSON body into `T`; a malformed one is `InvalidRequestContentException`-like
/// `InvalidParameterValueException` naming the member at fault.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], operation: &str) -> Result<T, ApiError> {
    let body = if body.is_empty() {
        b"{}" as &[u8]
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("{operation}: the request body is invalid: {e}")))
}

/// Whether `value` asks for nothing: null, `false`, `""`, `0`, `[]`, or an object of such.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}

/// Members this platform accepts and ignores: they change nothing a benchmark measures.
const IGNORED: [&str; 3] = ["LoggingConfig", "KMSKeyArn", "SnapStart"];

/// Refuse the members of `rest` (those not modelled) that ask for something.
pub(crate) fn refuse_unsupported(rest: &Map<String, Value>) -> Result<(), ApiError> {
    for (member, value) in rest {
        if IGNORED.contains(&member.as_str())
            && !(member == "SnapStart"
                && value.get("ApplyOn").and_then(Value::as_str) == Some("PublishedVersions"))
        {
            continue;
        }
        if !is_empty(value) {
            return Err(ApiError::invalid(format!(
                "{member} is not supported by the local platform (see docs/lambda-api.md); leave it out"
            )));
        }
    }
    Ok(())
}

/// `Architectures`: one of `x86_64` or `arm64` (recorded; the host's architecture runs).
pub(crate) fn architectures(given: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    match given {
        None => Ok(None),
        Some(a) if a.len() == 1 && (a[0] == "x86_64" || a[0] == "arm64") => Ok(Some(a)),
        Some(a) => Err(ApiError::invalid(format!(
            "Architectures {a:?} is invalid: give exactly one of x86_64 or arm64"
        ))),
    }
}

/// Memory size in MB: Lambda's 128..=10240.
pub(crate) fn memory(mb: u64) -> Result<u64, ApiError> {
    if (128..=10_240).contains(&mb) {
        Ok(mb)
    } else {
        Err(ApiError::invalid(format!(
            "MemorySize {mb} is invalid: Lambda functions have 128 to 10240 MB"
        )))
    }
}

/// Timeout in seconds: Lambda's 1..=900.
pub(crate) fn timeout(seconds: u64) -> Result<u64, ApiError> {
    if (1..=900).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(ApiError::invalid(format!(
            "Timeout {seconds} is invalid: Lambda functions time out after 1 to 900 seconds"
        )))
    }
}

/// Environment variables Lambda sets itself and refuses to let a function set.
const RESERVED: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// `Environment.Variables`, with Lambda's reserved keys and invalid names refused.
pub(crate) fn environment(
    env: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let reserved: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| RESERVED.contains(k))
        .collect();
    if !reserved.is_empty() {
        return Err(ApiError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    if let Some(bad) = env.keys().find(|k| {
        k.is_empty()
            || k.starts_with(|c: char| c.is_ascii_digit())
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        return Err(ApiError::invalid(format!(
            "Environment variable name `{bad}` is invalid: use letters, digits and underscores, not starting with a digit"
        )));
    }
    Ok(env)
}

/// A function name: 1 to 64 letters, digits, hyphens and underscores.
pub(crate) fn function_name(name: &str) -> Result<(), ApiError> {
    if (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "FunctionName `{name}` is invalid: use 1 to 64 letters, digits, hyphens and underscores"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_asking_for_nothing_pass_others_are_refused() {
        let ok = json!({"Layers": [], "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []},
                        "LoggingConfig": {"LogFormat": "JSON"}, "SnapStart": {"ApplyOn": "None"}});
        assert!(refuse_unsupported(ok.as_object().unwrap()).is_ok());
        for bad in [
            json!({"Layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}),
            json!({"SnapStart": {"ApplyOn": "PublishedVersions"}}),
            json!({"FileSystemConfigs": [{"Arn": "a", "LocalMountPath": "/mnt/x"}]}),
        ] {
            let e = refuse_unsupported(bad.as_object().unwrap()).unwrap_err();
            assert_eq!(e.kind, "InvalidParameterValueException");
        }
    }

    #[test]
    fn limits_and_reserved_names() {
        assert!(memory(127).is_err() && memory(128).is_ok() && memory(10_241).is_err());
        assert!(timeout(0).is_err() && timeout(900).is_ok() && timeout(901).is_err());
        let reserved = BTreeMap::from([("AWS_REGION".to_owned(), "x".to_owned())]);
        assert!(
            environment(reserved)
                .unwrap_err()
                .message
                .contains("AWS_REGION")
        );
        let bad = BTreeMap::from([("1X".to_owned(), "x".to_owned())]);
        assert!(environment(bad).is_err());
        assert!(architectures(Some(vec!["arm64".into()])).is_ok());
        assert!(architectures(Some(vec!["mips".into()])).is_err());
        assert!(function_name("a-b_c9").is_ok() && function_name("a:b").is_err());
    }

    #[test]
    fn create_function_reads_awss_member_names() {
        let body = json!({"FunctionName": "f", "Runtime": "python3.12", "Role": "r", "Handler": "h.h",
            "Code": {"ZipFile": "UEs="}, "MemorySize": 256, "Environment": {"Variables": {"A": "1"}},
            "Layers": []});
        let c: CreateFunction = parse(body.to_string().as_bytes(), "CreateFunction").unwrap();
        assert_eq!(c.memory_size, Some(256));
        assert_eq!(c.code.zip_file.as_deref(), Some("UEs="));
        assert_eq!(c.environment.unwrap().variables["A"], "1");
        assert!(c.rest.contains_key("Layers"));
    }
}
