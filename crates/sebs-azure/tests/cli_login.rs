//! The Azure CLI login path: with no service principal configured, tokens come from
//! `az account get-access-token --output json --resource <audience>`. A stand-in `az` first on
//! PATH records its arguments and prints what the CLI prints (`accessToken`, `expires_on`); a
//! failing one gives an error that says to run `az login`.
//!
//! One test per process: PATH and the credential variables are process-wide.

use std::os::unix::fs::PermissionsExt;

use sebs_azure::auth::{Credentials, TokenSource};

fn install_az(dir: &std::path::Path, body: &str) {
    let az = dir.join("az");
    std::fs::write(&az, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn tokens_from_the_azure_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let args = tmp.path().join("args");
    let expires = chrono::Utc::now().timestamp() + 3600;
    install_az(
        &bin,
        &format!(
            "echo \"$@\" >> {args}\necho '{{\"accessToken\": \"cli-token-1\", \"expires_on\": {expires}, \"tokenType\": \"Bearer\"}}'",
            args = args.display()
        ),
    );
    // One test per process (see the module's comment).
    unsafe {
        std::env::set_var(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        );
        for name in [
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_TENANT_ID",
            "AZURE_SECRET_APPLICATION_ID",
            "AZURE_SECRET_TENANT",
            "AZURE_SECRET_PASSWORD",
        ] {
            std::env::remove_var(name);
        }
    }
    let credentials = Credentials::resolve(None).unwrap();
    assert!(matches!(credentials, Credentials::AzureCli));
    let tokens = TokenSource::new(credentials, "http://127.0.0.1:9", reqwest::Client::new());
    let token = tokens
        .token("https://management.azure.com/.default")
        .await
        .unwrap();
    assert_eq!(token.expose(), "cli-token-1");
    // Kept until shortly before it expires: the CLI runs once per audience.
    tokens
        .token("https://management.azure.com/.default")
        .await
        .unwrap();
    tokens
        .token("https://api.applicationinsights.io/.default")
        .await
        .unwrap();
    let calls = std::fs::read_to_string(&args).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "account get-access-token --output json --resource https://management.azure.com",
            "account get-access-token --output json --resource https://api.applicationinsights.io",
        ]
    );

    // Not logged in: the CLI's complaint, and what to do.
    install_az(
        &bin,
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    let fresh = TokenSource::new(
        Credentials::AzureCli,
        "http://127.0.0.1:9",
        reqwest::Client::new(),
    );
    let e = fresh
        .token("https://management.azure.com/.default")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Please run 'az login'") && e.contains("AZURE_CLIENT_ID"),
        "{e}"
    );
}
