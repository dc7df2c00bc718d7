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
