//! The effective AWS settings of a run — region, credentials, endpoints, role, resource id —
//! and the SDK clients built from them.
//!
//! Credentials come from `deployment.aws.credentials` or, without them, the SDK's standard
//! chain (environment, shared profile, SSO, process, container and instance credentials). They
//! live in the SDK's provider only: never in the cache, results or logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use sebs_core::config::AwsConfig;
use serde::{Deserialize, Serialize};

/// The AWS services the backend calls, with their `AWS_ENDPOINT_URL_<SERVICE>` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Lambda.
    Lambda,
    /// S3.
    S3,
    /// DynamoDB.
    DynamoDb,
    /// IAM.
    Iam,
    /// STS.
    Sts,
    /// CloudWatch Logs.
    Logs,
    /// CloudWatch (metrics).
    CloudWatch,
    /// API Gateway v2 (HTTP APIs).
    ApiGateway,
    /// SQS (queue triggers).
    Sqs,
    /// Step Functions (workflows).
    StepFunctions,
}

impl Service {
    /// The suffix of the service's endpoint variable (the SDKs' service id, upper snake case).
    pub fn env_suffix(self) -> &'static str {
        match self {
            Service::Lambda => "LAMBDA",
            Service::S3 => "S3",
            Service::DynamoDb => "DYNAMODB",
            Service::Iam => "IAM",
            Service::Sts => "STS",
            Service::Logs => "CLOUDWATCH_LOGS",
            Service::CloudWatch => "CLOUDWATCH",
            Service::ApiGateway => "APIGATEWAYV2",
            Service::Sqs => "SQS",
            Service::StepFunctions => "SFN",
        }
    }
}

/// Settings resolved from `deployment.aws`, the environment and the cache.
#[derive(Clone)]
pub struct AwsSettings {
    /// The region.
    pub region: String,
    /// `endpoint-url` / `--endpoint-url`: one endpoint for every service (an emulator).
    pub endpoint_url: Option<String>,
    /// The role functions run with; `None`: sebs creates `sebs-<id>-lambda-role`.
    pub role: Option<String>,
    /// HTTP triggers through function URLs (default) or API Gateway HTTP APIs.
    pub use_function_url: bool,
    /// SeBS's resource id.
    pub resources_id: String,
    /// Where this backend keeps its local state (REPORT records of library invocations).
    pub state_dir: PathBuf,
    /// `deployment.aws.triggers`: storage and queue triggers' event source settings.
    pub triggers: sebs_core::config::TriggerConfig,
    /// `deployment.aws.workflow-orchestrator`: Step Functions or sebs's engine.
    pub workflow_orchestrator: sebs_core::config::WorkflowOrchestrator,
    config: AwsConfig,
}

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("role", &self.role)
            .field("resources_id", &self.resources_id)
            .finish_non_exhaustive()
    }
}

/// The resource id kept in the cache, so every run of a cache shares its resources.
#[derive(Serialize, Deserialize)]
struct CachedIds {
    resources_id: String,
}

impl AwsSettings {
    /// Resolve the settings; `cache_dir` holds the generated resource id and local state.
    pub fn resolve(config: Option<&AwsConfig>, cache_dir: &Path) -> Result<AwsSettings> {
        let config = config.cloned().unwrap_or_default();
        let state_dir = std::path::absolute(cache_dir.join("aws"))?;
        let region = config
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        let resources = config.resources.clone().unwrap_or_default();
        let resources_id = match resources.resources_id.clone().filter(|id| !id.is_empty()) {
            Some(id) => id,
            None => cached_resources_id(&state_dir)?,
        };
        validate_resources_id(&resources_id)?;
        let role = config
            .lambda_role
            .clone()
            .or(resources.lambda_role.clone())
            .filter(|r| !r.is_empty());
        Ok(AwsSettings {
            region,
            endpoint_url: config.endpoint_url.clone().filter(|u| !u.is_empty()),
            role,
            use_function_url: resources.use_function_url.unwrap_or(true),
            resources_id,
            state_dir,
            triggers: config.triggers.clone().unwrap_or_default(),
            workflow_orchestrator: config.workflow_orchestrator.unwrap_or_default(),
            config,
        })
    }

    /// The endpoint of `service`, if one is set: `endpoint-url`, else
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self, service: Service) -> Option<String> {
        if std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| v == "true") {
            return self.endpoint_url.clone();
        }
        self.endpoint_url
            .clone()
            .or_else(|| std::env::var(format!("AWS_ENDPOINT_URL_{}", service.env_suffix())).ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|u| !u.is_empty())
    }

    /// Whether any service goes to an emulator rather than AWS.
    pub fn emulated(&self, service: Service) -> bool {
        self.endpoint(service).is_some()
    }

    /// The SDK configuration: region, credentials (configured keys or the standard chain).
    pub async fn sdk_config(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()));
        if let Some(profile) = &self.config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(c) = &self.config.credentials
            && let (Some(key), Some(secret)) = (&c.access_key, &c.secret_key)
        {
            loader = loader.credentials_provider(Credentials::new(
                key.expose(),
                secret.expose(),
                None,
                None,
                "sebs-config",
            ));
        }
        loader.load().await
    }
}

/// Environment variables carrying the credentials of `sdk` (for the input driver on this
/// machine, and for functions on an emulator, which has no execution role): never logged.
pub async fn credential_env(sdk: &SdkConfig, region: &str) -> Result<BTreeMap<String, String>> {
    let provider = sdk.credentials_provider().context(
        "no AWS credentials provider: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or deployment.aws.credentials",
    )?;
    let creds = provider.provide_credentials().await.context(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, log in with `aws sso login`/AWS_PROFILE, or set deployment.aws.credentials in the config",
    )?;
    let mut env = BTreeMap::new();
    env.insert("AWS_ACCESS_KEY_ID".into(), creds.access_key_id().to_owned());
    env.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        creds.secret_access_key().to_owned(),
    );
    if let Some(token) = creds.session_token() {
        env.insert("AWS_SESSION_TOKEN".into(), token.to_owned());
    }
    env.insert("AWS_REGION".into(), region.to_owned());
    Ok(env)
}

fn cached_resources_id(state_dir: &Path) -> Result<String> {
    let path = state_dir.join("resources.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let ids: CachedIds = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a sebs AWS resources file; delete it to start with a new resource id",
                path.display()
            )
        })?;
        return Ok(ids.resources_id);
    }
    // SeBS: eight hex digits of a fresh UUID.
    let id = uuid_prefix();
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(&CachedIds {
            resources_id: id.clone(),
        })?,
    )?;
    std::fs::rename(&tmp, &path)?;
    tracing::info!(
        "AWS resource id {id} (kept in {}; every resource sebs creates is named after it)",
        path.display()
    );
    Ok(id)
}

fn uuid_prefix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// Resource ids become parts of bucket, table, role and function names: lower-case letters,
/// digits and hyphens only.
fn validate_resources_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 16
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        anyhow::bail!(
            "AWS resource id {id:?} is invalid: it names buckets and functions, so use 1-16 lower-case letters, digits or hyphens (deployment.aws.resources.resources_id)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_id_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = AwsSettings::resolve(None, dir.path()).unwrap();
        let b = AwsSettings::resolve(None, dir.path()).unwrap();
        assert_eq!(a.resources_id, b.resources_id);
        assert_eq!(a.resources_id.len(), 8);
        let other = tempfile::tempdir().unwrap();
        let c = AwsSettings::resolve(None, other.path()).unwrap();
        assert_ne!(a.resources_id, c.resources_id, "two caches, two ids");
    }

    #[test]
    fn configured_values_win() {
        let dir = tempfile::tempdir().unwrap();
        let config: AwsConfig = serde_json::from_value(serde_json::json!({
            "region": "eu-west-1",
            "endpoint-url": "http://127.0.0.1:5000",
            "resources": {"resources_id": "abc123", "lambda-role": "arn:aws:iam::1:role/r", "use-function-url": false},
            "workflow-orchestrator": "sebs"
        }))
        .unwrap();
        let s = AwsSettings::resolve(Some(&config), dir.path()).unwrap();
        assert_eq!(
            s.workflow_orchestrator,
            sebs_core::config::WorkflowOrchestrator::Sebs
        );
        let unknown = serde_json::from_value::<AwsConfig>(
            serde_json::json!({"workflow-orchestrator": "airflow"}),
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("step-functions"), "{unknown}");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.resources_id, "abc123");
        assert_eq!(s.role.as_deref(), Some("arn:aws:iam::1:role/r"));
        assert!(!s.use_function_url);
        let default = AwsSettings::resolve(None, dir.path()).unwrap();
        assert_eq!(
            default.workflow_orchestrator,
            sebs_core::config::WorkflowOrchestrator::StepFunctions
        );
        assert_eq!(
            s.endpoint(Service::Lambda).as_deref(),
            Some("http://127.0.0.1:5000")
        );
        let bad: AwsConfig =
            serde_json::from_value(serde_json::json!({"resources": {"resources_id": "Bad_Id"}}))
                .unwrap();
        let e = AwsSettings::resolve(Some(&bad), dir.path()).unwrap_err();
        assert!(e.to_string().contains("lower-case"), "{e}");
    }
}
