//! `deployment.aws`, `deployment.azure` and `deployment.gcp`, in SeBS's format, validated once
//! at load so SeBS configs load unchanged (the AWS backend is the `sebs-aws` crate).
//!
//! `credentials` blocks are never serialized (they are `skip_serializing`, and their secret
//! fields are [`Secret`]s, which cannot be). `resources` blocks are the ids SeBS caches (and
//! writes back into configs); every key there is accepted, the ones listed here are typed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::secret::{DockerRegistry, Secret};

/// `deployment.aws`: AWS Lambda.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Region, e.g. `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// IAM role ARN for the functions, as SeBS's example config places it (SeBS itself reads
    /// `resources.lambda-role`; empty: SeBS creates `sebs-lambda-role`).
    #[serde(
        rename = "lambda-role",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lambda_role: Option<String>,
    /// Access keys (else the standard chain: environment, profile, SSO, ...).
    #[serde(default, skip_serializing)]
    pub credentials: Option<AwsCredentials>,
    /// An endpoint for every AWS service (an emulator), as the AWS CLI's `--endpoint-url`
    /// (sebs's `--endpoint-url`; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` work too).
    #[serde(
        rename = "endpoint-url",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_url: Option<String>,
    /// The AWS profile of the shared config files (else `AWS_PROFILE`, else `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Cached resource ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<AwsResources>,
    /// Storage and queue triggers: the event source mapping's batch size and window, deliveries
    /// before dead-lettering, the result wait (docs/triggers.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<super::TriggerConfig>,
    /// What runs workflows: Step Functions (the default) or sebs's own engine calling the
    /// functions, to compare orchestrators on the same functions (docs/workflows.md).
    #[serde(
        rename = "workflow-orchestrator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub workflow_orchestrator: Option<WorkflowOrchestrator>,
}

/// `deployment.aws.workflow-orchestrator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowOrchestrator {
    /// A Step Functions state machine per workflow.
    #[default]
    StepFunctions,
    /// sebs's engine, invoking each state's function through the run's trigger.
    Sebs,
}

/// `deployment.aws.credentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsCredentials {
    /// Access key id.
    #[serde(default)]
    pub access_key: Option<Secret>,
    /// Secret access key.
    #[serde(default)]
    pub secret_key: Option<Secret>,
    /// Account id, which SeBS caches and writes into results (not a secret).
    #[serde(default)]
    pub account_id: Option<String>,
}

/// How a Lambda function URL authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FunctionUrlAuthType {
    /// Public: anyone with the URL may invoke.
    #[serde(rename = "NONE")]
    None,
    /// Callers sign requests with SigV4.
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

/// An API Gateway HTTP API SeBS created for a function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwsHttpApi {
    /// The API's ARN.
    pub arn: String,
    /// Its endpoint URL.
    pub endpoint: String,
}

/// A Lambda function URL SeBS created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwsFunctionUrl {
    /// The URL.
    pub url: String,
    /// The function it invokes.
    pub function_name: String,
    /// Its authentication type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<FunctionUrlAuthType>,
}

/// `deployment.aws.resources`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AwsResources {
    /// The id suffix of every resource SeBS created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_id: Option<String>,
    /// Buckets by purpose (`benchmarks`, `deployment`, `experiments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_buckets: BTreeMap<String, String>,
    /// IAM role ARN for the functions.
    #[serde(
        rename = "lambda-role",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lambda_role: Option<String>,
    /// Invoke through function URLs (true) or API Gateway (false).
    #[serde(
        rename = "use-function-url",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_function_url: Option<bool>,
    /// Authentication of function URLs.
    #[serde(
        rename = "function-url-auth-type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub function_url_auth_type: Option<FunctionUrlAuthType>,
    /// HTTP APIs by name.
    #[serde(
        rename = "http-apis",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub http_apis: BTreeMap<String, AwsHttpApi>,
    /// Function URLs by function name.
    #[serde(
        rename = "function-urls",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub function_urls: BTreeMap<String, AwsFunctionUrl>,
    /// The ECR registry for container deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerRegistry>,
    /// The ECR repository name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_repository: Option<String>,
}

/// `deployment.azure`: Azure Functions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    /// Region (location), e.g. `westeurope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Service principal (else the `AZURE_SECRET_*` environment).
    #[serde(default, skip_serializing)]
    pub credentials: Option<AzureCredentials>,
    /// Cached resource ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<AzureResources>,
}

/// `deployment.azure.credentials`: a service principal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureCredentials {
    /// Application (client) id; SeBS's docs spell it `appID`, its code `appId`.
    #[serde(rename = "appId", alias = "appID", default)]
    pub app_id: Option<Secret>,
    /// Tenant id.
    #[serde(default)]
    pub tenant: Option<Secret>,
    /// Client secret.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Subscription id, which SeBS caches and writes into results (not a secret).
    #[serde(default)]
    pub subscription_id: Option<String>,
}

/// A storage account SeBS created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AzureStorageAccount {
    /// Account name.
    pub account_name: String,
    /// Its connection string, which embeds the account key (never serialized).
    #[serde(default, skip_serializing)]
    pub connection_string: Option<Secret>,
}

/// `deployment.azure.resources`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AzureResources {
    /// The id suffix of every resource SeBS created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_id: Option<String>,
    /// Buckets (blob containers) by purpose.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_buckets: BTreeMap<String, String>,
    /// The resource group everything lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// Storage accounts of the function apps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_accounts: Vec<AzureStorageAccount>,
    /// The storage account of benchmark data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_storage_account: Option<AzureStorageAccount>,
}

/// `deployment.gcp`: Google Cloud Functions and Cloud Run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// Region, e.g. `europe-west1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project id (SeBS reads it from the credentials file; empty: not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Service-account credentials (else `GOOGLE_APPLICATION_CREDENTIALS`).
    #[serde(default, skip_serializing)]
    pub credentials: Option<GcpCredentials>,
    /// Function generation, as in SeBS's `configs/example.json` (`gen1`, `gen2`).
    #[serde(
        rename = "system-variant",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_variant: Option<String>,
    /// Scaling and runtime settings per deployment kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<GcpDeploymentConfiguration>,
    /// Cached resource ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<GcpResources>,
}

/// `deployment.gcp.credentials`: a path to a service-account JSON file (SeBS's example writes
/// the path as a string, `""` for none) or `{"credentials-json": PATH}` as SeBS's code reads it.
/// `Debug` shows only the project id.
#[derive(Clone, Default)]
pub struct GcpCredentials {
    /// The service-account JSON file.
    pub credentials_json: Option<PathBuf>,
    /// Project id, which SeBS caches and writes into results.
    pub project_id: Option<String>,
}

/// The object form of [`GcpCredentials`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GcpCredentialsObject {
    #[serde(rename = "credentials-json", default)]
    credentials_json: Option<PathBuf>,
    #[serde(default)]
    project_id: Option<String>,
}

impl<'de> Deserialize<'de> for GcpCredentials {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Credentials;
        impl<'de> Visitor<'de> for Credentials {
            type Value = GcpCredentials;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "the path of a service-account JSON file, or {\"credentials-json\": PATH}",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(GcpCredentials {
                    credentials_json: (!v.is_empty()).then(|| PathBuf::from(v)),
                    project_id: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let object = GcpCredentialsObject::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(GcpCredentials {
                    credentials_json: object.credentials_json,
                    project_id: object.project_id,
                })
            }
        }
        d.deserialize_any(Credentials)
    }
}

impl fmt::Debug for GcpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.credentials_json.as_ref().map(|_| "<redacted>");
        f.debug_struct("GcpCredentials")
            .field("credentials_json", &file)
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// Which Cloud Functions generation a code package goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GcpPackageDeploymentType {
    /// Cloud Functions (1st gen).
    FunctionGen1,
    /// Cloud Functions (2nd gen, on Cloud Run).
    FunctionGen2,
}

/// Cloud Run execution environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GcpExecutionEnvironment {
    /// First generation (gVisor).
    Gen1,
    /// Second generation (microVM).
    Gen2,
}

/// `deployment.gcp.configuration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GcpDeploymentConfiguration {
    /// Cloud Functions 1st gen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_gen1: Option<GcpScaling>,
    /// Cloud Functions 2nd gen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_gen2: Option<GcpRuntimeSettings>,
    /// Cloud Run containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<GcpRuntimeSettings>,
    /// Generation used for code packages (SeBS's default: `function-gen1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_deployment_type: Option<GcpPackageDeploymentType>,
}

/// `deployment.gcp.configuration.function-gen1`: instance bounds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GcpScaling {
    /// Instances kept warm (SeBS's default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_instances: Option<u32>,
    /// Instance limit (SeBS's default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<u32>,
}

/// `deployment.gcp.configuration.function-gen2` and `.container`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GcpRuntimeSettings {
    /// Execution environment (`container` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<GcpExecutionEnvironment>,
    /// vCPUs per instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// Requests the platform sends to one instance at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_concurrency: Option<u32>,
    /// Worker processes of the language server in the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_concurrency: Option<u32>,
    /// Threads per worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<u32>,
    /// Instances kept warm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_instances: Option<u32>,
    /// Instance limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<u32>,
    /// Startup CPU boost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_boost: Option<bool>,
    /// Throttle the CPU outside requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_throttle: Option<bool>,
}

/// `deployment.gcp.resources`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GcpResources {
    /// The id suffix of every resource SeBS created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_id: Option<String>,
    /// Buckets by purpose.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_buckets: BTreeMap<String, String>,
    /// Artifact Registry repository for container images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_repository: Option<String>,
}

impl GcpScaling {
    /// SeBS's instance limit when `max-instances` is absent.
    pub const DEFAULT_MAX_INSTANCES: u32 = 20;
}
