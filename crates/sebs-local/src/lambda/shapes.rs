//! AWS's JSON shapes of the control plane's answers (checked against botocore's
//! `lambda/2015-03-31/service-2.json` by the integration tests).

use serde_json::{Map, Value, json};

use super::{LambdaFunction, UrlConfig};

/// Lambda's `LastModified` format: `2024-05-01T12:00:00.000+0000`.
pub(crate) fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

/// `FunctionConfiguration`.
pub(crate) fn configuration(f: &LambdaFunction) -> Value {
    let mut c = json!({
        "FunctionName": f.name,
        "FunctionArn": f.arn(),
        "Runtime": f.runtime,
        "Role": f.role,
        "CodeSize": f.code.size,
        "Description": f.description,
        "Timeout": f.timeout,
        "MemorySize": f.memory,
        "LastModified": f.last_modified,
        "CodeSha256": f.code.sha256,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": f.tracing_mode},
        "RevisionId": f.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": f.architectures,
        "EphemeralStorage": {"Size": f.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", f.name)},
    });
    if let Some(handler) = &f.handler {
        c["Handler"] = json!(handler);
    }
    if !f.env.is_empty() {
        c["Environment"] = json!({"Variables": f.env});
    }
    c
}

/// GetFunction's answer: the configuration, where to download the code, and the tags.
pub(crate) fn function(f: &LambdaFunction, endpoint: &str) -> Value {
    let mut out = json!({
        "Configuration": configuration(f),
        "Code": {
            "RepositoryType": "S3",
            "Location": code_location(endpoint, f),
        },
    });
    if !f.tags.is_empty() {
        out["Tags"] = json!(f.tags);
    }
    out
}

/// Where the function's zip can be downloaded (Lambda hands out a presigned S3 URL).
pub(crate) fn code_location(endpoint: &str, f: &LambdaFunction) -> String {
    format!(
        "{endpoint}/sebs/lambda/code/{}?revision={}",
        f.name, f.revision_id
    )
}

/// The function URL of `name`: the platform's HTTP trigger, with a trailing slash as Lambda's
/// `https://<id>.lambda-url.<region>.on.aws/` has.
pub(crate) fn function_url(endpoint: &str, name: &str) -> String {
    format!("{endpoint}/function/{name}/")
}

/// `GetFunctionUrlConfig`'s answer (CreateFunctionUrlConfig's without `LastModifiedTime`).
pub(crate) fn url_config(f: &LambdaFunction, url: &UrlConfig, endpoint: &str, full: bool) -> Value {
    let mut out = Map::new();
    out.insert("FunctionUrl".into(), json!(function_url(endpoint, &f.name)));
    out.insert("FunctionArn".into(), json!(f.arn()));
    out.insert("AuthType".into(), json!(url.auth_type));
    if let Some(cors) = &url.cors {
        out.insert("Cors".into(), cors.clone());
    }
    out.insert("CreationTime".into(), json!(url.created));
    if full {
        out.insert("LastModifiedTime".into(), json!(url.modified));
    }
    out.insert("InvokeMode".into(), json!(url.invoke_mode));
    Value::Object(out)
}

/// The resource policy document of `f` (GetPolicy's `Policy`, a JSON string).
pub(crate) fn policy(f: &LambdaFunction) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": f.policy.values().collect::<Vec<_>>(),
    })
    .to_string()
}
