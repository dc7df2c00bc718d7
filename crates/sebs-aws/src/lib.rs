//! The AWS Lambda backend of sebs: [`AwsBackend`] implements the `Platform` seam with the
//! official AWS SDK for Rust.
//!
//! - **Packages**: zips in Lambda's layout with dependencies for the target architecture
//!   (`sebs-build`); uploaded directly, or through S3 above Lambda's 50 MB limit.
//! - **Functions**: created or updated (code and configuration) with the SDK's waiters, under
//!   SeBS's names (`sebs-<resource id>-…`), with a role sebs creates when none is configured.
//! - **Triggers**: library (Invoke with the log tail's `REPORT` line) and HTTP (function URL,
//!   or an API Gateway HTTP API).
//! - **Cold starts**: an environment variable changed, as SeBS does.
//! - **Storage**: S3 and DynamoDB, reached by the input driver and the functions' shims.
//! - **Processing**: `REPORT` records from library invocations and CloudWatch Logs; costs from
//!   a dated price table; for the scaling experiment, CloudWatch's `ConcurrentExecutions`.
//! - **Resources**: listed from AWS itself and deleted by kind.
//!
//! `--endpoint-url` (or `AWS_ENDPOINT_URL[_<SERVICE>]`) points it at emulators: `sebs local
//! start` speaks Lambda's API, moto speaks the rest.

pub mod clients;
pub mod concurrency;
pub mod config;
pub mod endpoints;
pub mod event_sources;
pub mod event_triggers;
pub mod functions;
pub mod iam;
pub mod logs;
pub mod pricing;
pub mod report;
pub mod reports;
pub mod resources;
pub mod stepfunctions;
mod tls;
pub mod triggers;

mod backend;

pub use backend::AwsBackend;

use std::path::Path;

use anyhow::Result;
use sebs_core::config::DeploymentConfig;
use sebs_platforms::Platform;

/// The factory's constructor: `sebs_platforms::factory::register("aws", sebs_aws::create)`.
pub fn create(deployment: &DeploymentConfig, cache_dir: &Path) -> Result<Box<dyn Platform>> {
    Ok(Box::new(AwsBackend::new(
        deployment.aws.as_ref(),
        cache_dir,
    )?))
}

/// Register the backend as deployment `aws`.
pub fn register() {
    sebs_platforms::factory::register("aws", create);
}

/// An SDK error with its whole chain of causes (the SDK's `Display` alone says only "service
/// error").
pub(crate) fn sdk_error<E>(e: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
    anyhow::anyhow!("{}", without_debug_dump(&text))
}

/// The SDK's error text without the `Debug` dump it appends (` (DispatchFailure(...))`,
/// ` (ServiceError(...))`): the readable chain comes first.
fn without_debug_dump(text: &str) -> &str {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(" (") {
        let rest = &bytes[i + 2..];
        let ident = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if ident > 0
            && rest[0].is_ascii_uppercase()
            && matches!(rest.get(ident), Some(b'(') | Some(b' '))
            && text.ends_with(')')
        {
            return &text[..i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_dumps_are_cut() {
        let t = "dispatch failure: io error: dns error: failed to lookup address information (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io } }))";
        assert_eq!(
            super::without_debug_dump(t),
            "dispatch failure: io error: dns error: failed to lookup address information"
        );
        let plain = "service error: ResourceNotFoundException: Function not found (by name)";
        assert_eq!(super::without_debug_dump(plain), plain);
    }
}
