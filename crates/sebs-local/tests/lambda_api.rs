//! Lambda's control plane driven by AWS's own clients: boto3 (a Python script validating every
//! answer against botocore's description of the API) and the AWS CLI, for a Python and a
//! Node.js function. Skipped, visibly, where boto3 or the AWS CLI is missing (`.ci/run`
//! installs both).

use std::path::Path;
use std::process::Output;

use base64::Engine;
use sebs_local::LocalPlatform;
use serde_json::Value;

const BOTO3_SESSION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lambda/boto3_session.py");

/// The environment AWS clients get: dummy credentials, no config files of the host's.
fn aws_env(cmd: &mut tokio::process::Command, home: &Path) {
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
}

fn tool_missing(program: &str, args: &[&str]) -> bool {
    !std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `python3.X` and `nodejs<N>.x` of the host's default interpreters.
fn runtimes() -> (String, String) {
    let py = std::process::Command::new("python3")
        .args(["-c", "import sys; print(f'python3.{sys.version_info[1]}')"])
        .output()
        .expect("python3 runs");
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .expect("node runs");
    let major = String::from_utf8_lossy(&node.stdout)
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap_or("20")
        .to_owned();
    (
        String::from_utf8_lossy(&py.stdout).trim().to_owned(),
        format!("nodejs{major}.x"),
    )
}

fn show(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_creates_invokes_updates_and_deletes_python_and_node_functions() {
    if tool_missing("python3", &["-c", "import boto3"]) {
        eprintln!("SKIPPED: boto3 is not installed (python3 -m pip install boto3)");
        return;
    }
    let platform = LocalPlatform::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let (python, node) = runtimes();
    for (language, runtime) in [("python", python), ("node", node)] {
        let name = format!("boto3-{language}");
        let mut cmd = tokio::process::Command::new("python3");
        cmd.args([
            BOTO3_SESSION,
            &platform.endpoint(),
            language,
            &runtime,
            &name,
        ]);
        aws_env(&mut cmd, home.path());
        let out = cmd.output().await.unwrap();
        assert!(out.status.success(), "{language}: {}", show(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["function_url"],
            format!("{}/function/{name}/", platform.endpoint())
        );
        for op in [
            "CreateFunction",
            "GetFunction",
            "GetFunctionConfiguration",
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "ListFunctions",
            "CreateFunctionUrlConfig",
            "GetFunctionUrlConfig",
            "DeleteFunctionUrlConfig",
            "AddPermission",
            "GetPolicy",
            "DeleteFunction",
            "Invoke",
        ] {
            assert!(
                report["operations"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from(op)),
                "{language}: {op} was not called: {report}"
            );
        }
        assert_eq!(platform.instance_count(&name), 0, "{language}");
    }
    platform.shutdown().await;
}

/// `aws lambda <args> --endpoint-url ... --output json`.
async fn aws(platform: &LocalPlatform, home: &Path, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new("aws");
    cmd.arg("lambda")
        .args(args)
        .args(["--endpoint-url", &platform.endpoint(), "--output", "json"]);
    aws_env(&mut cmd, home);
    cmd.current_dir(home);
    cmd.output().await.unwrap()
}

async fn aws_json(platform: &LocalPlatform, home: &Path, args: &[&str]) -> Value {
    let out = aws(platform, home, args).await;
    assert!(out.status.success(), "aws lambda {args:?}: {}", show(&out));
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)))
}

/// `aws lambda invoke --log-type Tail`: the response and the decoded log.
async fn cli_invoke(
    platform: &LocalPlatform,
    home: &Path,
    name: &str,
    payload: &str,
) -> (Value, String) {
    let answer = aws_json(
        platform,
        home,
        &[
            "invoke",
            "--function-name",
            name,
            "--payload",
            payload,
            "--log-type",
            "Tail",
            "response.json",
        ],
    )
    .await;
    assert_eq!(answer["StatusCode"], 200, "{answer}");
    let log = base64::engine::general_purpose::STANDARD
        .decode(answer["LogResult"].as_str().unwrap())
        .unwrap();
    let response = std::fs::read(home.join("response.json")).unwrap();
    (
        serde_json::from_slice(&response).unwrap(),
        String::from_utf8(log).unwrap(),
    )
}

/// A plain HTTP/1.1 POST; the status and the body.
fn http_post(url: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn zip_with(dir: &Path, file: &str, source: &str) -> std::path::PathBuf {
    let zip = dir.join(format!("{file}.zip"));
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    z.writestr(sys.argv[2], sys.argv[3])\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&zip)
        .args([file, source])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    zip
}

const PYTHON_FN: &str = "import os\ndef handler(event, context):\n    return {'echo': event.get('value'), 'greeting': os.environ.get('GREETING')}\n";
const NODE_FN: &str = "exports.handler = async (event) => ({echo: event.value === undefined ? null : event.value, greeting: process.env.GREETING || null});\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_deploys_and_invokes_python_and_node_functions() {
    if tool_missing("aws", &["--version"]) {
        eprintln!("SKIPPED: the AWS CLI is not installed (python3 -m pip install awscli)");
        return;
    }
    let platform = LocalPlatform::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let (python, node) = runtimes();
    for (runtime, file, source) in [(python, "app.py", PYTHON_FN), (node, "app.js", NODE_FN)] {
        let name = format!("cli-{}", &runtime[..4]);
        let zip = zip_with(home.path(), file, source);
        let created = aws_json(
            &platform,
            home.path(),
            &[
                "create-function",
                "--function-name",
                &name,
                "--runtime",
                &runtime,
                "--role",
                "arn:aws:iam::000000000000:role/lambda-role",
                "--handler",
                "app.handler",
                "--zip-file",
                &format!("fileb://{}", zip.display()),
            ],
        )
        .await;
        assert_eq!(created["State"], "Active", "{created}");
        assert_eq!(created["Handler"], "app.handler");

        let (response, log) = cli_invoke(&platform, home.path(), &name, r#"{"value": 7}"#).await;
        assert_eq!(response["echo"], 7, "{runtime}: {response}");
        assert!(
            log.contains("REPORT RequestId:") && log.contains("Init Duration"),
            "{log}"
        );
        let (_, log) = cli_invoke(&platform, home.path(), &name, "{}").await;
        assert!(
            !log.contains("Init Duration"),
            "the second invocation is warm: {log}"
        );

        let updated = aws_json(
            &platform,
            home.path(),
            &[
                "update-function-configuration",
                "--function-name",
                &name,
                "--environment",
                "Variables={GREETING=cli}",
            ],
        )
        .await;
        assert_eq!(updated["Environment"]["Variables"]["GREETING"], "cli");
        let (response, log) = cli_invoke(&platform, home.path(), &name, "{}").await;
        assert_eq!(response["greeting"], "cli", "{response}");
        assert!(log.contains("Init Duration"), "cold after an update: {log}");

        let got = aws_json(
            &platform,
            home.path(),
            &["get-function", "--function-name", &name],
        )
        .await;
        assert_eq!(got["Configuration"]["Runtime"], runtime.as_str());
        assert!(
            got["Code"]["Location"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        let listed = aws_json(&platform, home.path(), &["list-functions"]).await;
        assert!(
            listed["Functions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["FunctionName"] == name.as_str()),
            "{listed}"
        );

        let url = aws_json(
            &platform,
            home.path(),
            &[
                "create-function-url-config",
                "--function-name",
                &name,
                "--auth-type",
                "NONE",
            ],
        )
        .await;
        let (status, body) = http_post(url["FunctionUrl"].as_str().unwrap(), r#"{"a": 1}"#);
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body.get("echo").is_some(), "{body}");

        aws_json(
            &platform,
            home.path(),
            &["delete-function", "--function-name", &name],
        )
        .await;
        let missing = aws(
            &platform,
            home.path(),
            &["get-function", "--function-name", &name],
        )
        .await;
        assert!(!missing.status.success());
        assert!(
            String::from_utf8_lossy(&missing.stderr).contains("ResourceNotFoundException"),
            "{}",
            show(&missing)
        );
        let again = aws(
            &platform,
            home.path(),
            &["delete-function", "--function-name", &name],
        )
        .await;
        assert!(String::from_utf8_lossy(&again.stderr).contains("ResourceNotFoundException"));
    }
    platform.shutdown().await;
}

/// A stand-in S3 endpoint: answers a SigV4-signed `GET /code/app.zip` with `zip`, any other
/// key with S3's `NoSuchKey`, and an unsigned request with 403.
async fn fake_s3(zip: Vec<u8>) -> std::net::SocketAddr {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/{bucket}/{*key}",
        axum::routing::get(
            move |axum::extract::Path((bucket, key)): axum::extract::Path<(String, String)>,
                  headers: HeaderMap| {
                let zip = zip.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let signed = auth.starts_with(
                        "AWS4-HMAC-SHA256 Credential=AKID/",
                    ) && auth.contains("/eu-west-1/s3/aws4_request")
                        && headers.contains_key("x-amz-date");
                    if !signed {
                        return (StatusCode::FORBIDDEN, "<Error><Code>AccessDenied</Code><Message>sign</Message></Error>").into_response();
                    }
                    if (bucket.as_str(), key.as_str()) == ("code", "app.zip") {
                        return (StatusCode::OK, zip).into_response();
                    }
                    (StatusCode::NOT_FOUND, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>").into_response()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn create_from_s3(platform: &LocalPlatform, name: &str, runtime: &str, key: &str) -> (u16, String) {
    let body = serde_json::json!({
        "FunctionName": name, "Runtime": runtime, "Role": "arn:aws:iam::000000000000:role/r",
        "Handler": "app.handler", "Code": {"S3Bucket": "code", "S3Key": key},
    });
    http_post(
        &format!("{}/2015-03-31/functions", platform.endpoint()),
        &body.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_from_s3_is_read_with_a_signed_get_from_the_code_store() {
    let dir = tempfile::tempdir().unwrap();
    let zip = std::fs::read(zip_with(dir.path(), "app.py", PYTHON_FN)).unwrap();
    let s3 = fake_s3(zip).await;
    let platform = LocalPlatform::start().await.unwrap();
    let (python, _) = runtimes();

    let (status, body) = create_from_s3(&platform, "s3-f", &python, "app.zip");
    assert_eq!(status, 400, "no code store yet: {body}");
    assert!(body.contains("no object store"), "{body}");

    platform.set_code_store(Some(sebs_local::CodeStore {
        endpoint: format!("http://{s3}"),
        access_key: "AKID".into(),
        secret_key: "secret".into(),
        region: "eu-west-1".into(),
    }));
    let (status, body) = create_from_s3(&platform, "s3-f", &python, "missing.zip");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("S3 Error Code: NoSuchKey"), "{body}");
    let (status, body) = create_from_s3(&platform, "s3-f", &python, "app.zip");
    assert_eq!(status, 201, "{body}");
    let config: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["FunctionName"], "s3-f");
    let inv = platform
        .invoke(
            "s3-f",
            bytes::Bytes::from_static(br#"{"value": "from s3"}"#),
        )
        .await
        .unwrap();
    let sebs_local::Outcome::Response(out) = inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["echo"], "from s3");
    platform.shutdown().await;
}
