//! The README's AWS commands, run by the `sebs` binary built with `--features aws`, against the
//! local platform's Lambda API (`sebs local start`) and the embedded S3 (`sebs storage start`),
//! as a user would try them without an account. Everything printed (at debug level), the cache
//! and the results are then searched for the secret key.
//!
//! `.ci/run` runs it with `cargo test -p sebs --features aws --test aws_cli`; without the
//! feature it says, visibly, that it was skipped.

#[cfg(not(feature = "aws"))]
#[test]
fn aws_commands_need_the_aws_feature() {
    eprintln!(
        "SKIPPED: sebs was built without the `aws` feature; run `cargo test -p sebs --features aws --test aws_cli`"
    );
}

#[cfg(feature = "aws")]
mod common;

#[cfg(feature = "aws")]
#[test]
fn aws_commands_against_the_local_lambda_api() {
    use common::{document, sebs, shared_cache, text};
    use serde_json::{Value, json};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |args: &[&str], env: &[(String, String)]| {
        let mut cmd = sebs(dir);
        cmd.args(args).env("RUST_LOG", "debug");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("AWS_CONFIG_FILE", dir.join("no-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        cmd.output().unwrap()
    };
    let mut printed = String::new();
    let mut expect_ok = |out: std::process::Output, what: &str| {
        let t = text(&out);
        assert!(out.status.success(), "{what} failed:\n{t}");
        printed.push_str(&t);
        t
    };

    expect_ok(
        run(
            &["storage", "start", "object", "--output-json", "s.json"],
            &[],
        ),
        "storage start",
    );
    let storage = document(&dir.join("s.json"));
    let minio = &storage["object"]["minio"];
    let secret = minio["secret_key"].as_str().unwrap().to_owned();
    let cache = shared_cache();
    expect_ok(
        run(
            &[
                "local",
                "start",
                "110.dynamic-html",
                "test",
                "local.json",
                "--storage-configuration",
                "s.json",
                "--cache",
                cache.to_str().unwrap(),
            ],
            &[],
        ),
        "local start",
    );
    let local = document(&dir.join("local.json"));
    let endpoint = local["daemon"]["endpoint"].as_str().unwrap().to_owned();
    let env = vec![
        ("AWS_ENDPOINT_URL_LAMBDA".to_owned(), endpoint.clone()),
        (
            "AWS_ENDPOINT_URL_S3".to_owned(),
            format!("http://{}", minio["address"].as_str().unwrap()),
        ),
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            minio["access_key"].as_str().unwrap().to_owned(),
        ),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret.clone()),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ];
    std::fs::write(
        dir.join("aws.json"),
        json!({"deployment": {"name": "aws", "aws": {"lambda-role": "arn:aws:iam::000000000000:role/sebs"}}})
            .to_string(),
    )
    .unwrap();
    let common_args = ["--config", "aws.json", "--cache", "aws-cache"];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(common_args.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let args = with(&[
        "benchmark",
        "invoke",
        "110.dynamic-html",
        "test",
        "--repetitions",
        "3",
        "--output-dir",
        "http",
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "benchmark invoke (http)");
    assert!(t.contains("on aws"), "{t}");
    assert!(t.contains("cold: 1"), "{t}");

    let args = with(&[
        "benchmark",
        "invoke",
        "110.dynamic-html",
        "test",
        "--trigger",
        "library",
        "--output-dir",
        "lib",
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    expect_ok(run(&refs, &env), "benchmark invoke (library)");
    let args = with(&["benchmark", "process", "--output-dir", "lib"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "benchmark process");
    assert!(t.contains("with provider metrics, 0 without"), "{t}");
    let t = expect_ok(
        run(&["benchmark", "statistics", "lib/results.json"], &env),
        "benchmark statistics",
    );
    assert!(t.contains("cost: $") && t.contains("per million"), "{t}");
    let results: Value = document(&dir.join("lib/results.json"));
    assert_eq!(results["config"]["deployment"]["name"], "aws");

    let args = with(&["resources", "list"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "resources list");
    assert!(
        t.contains("function") && t.contains("-110-dynamic-html-python-"),
        "{t}"
    );
    let args = with(&["resources", "cleanup", "--dry-run"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "resources cleanup --dry-run");
    assert!(t.contains("would delete function"), "{t}");
    let args = with(&["resources", "cleanup"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "resources cleanup");
    assert!(t.contains("deleted function"), "{t}");
    let args = with(&["resources", "list", "--kind", "function"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = expect_ok(run(&refs, &env), "resources list after cleanup");
    assert!(t.contains("no resources of sebs on aws"), "{t}");

    expect_ok(run(&["local", "stop", "local.json"], &[]), "local stop");
    expect_ok(
        run(&["storage", "stop", "object", "s.json"], &[]),
        "storage stop",
    );

    // The secret key: not in anything printed (debug logging on), the cache or the results
    // (s.json and local.json are the storage configuration the user handed over).
    assert!(!printed.contains(&secret), "the secret key was printed");
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n != "s.json" && n != "local.json")
                && !p.starts_with(dir.join("minio-volume"))
                && let Ok(bytes) = std::fs::read(&p)
            {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "the secret key is in {}",
                    p.display()
                );
            }
        }
    }
}
