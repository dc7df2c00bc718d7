//! [`AwsBackend`]: the `Platform` implementation.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use async_trait::async_trait;
use sebs_core::config::{Architecture, AwsConfig};
use sebs_core::result::ProviderMetrics;
use sebs_platforms::platform::ProvidedStorage;
use sebs_platforms::{
    ConcurrencyPoint, FunctionConfig, PackageTarget, Platform, Resource, Trigger, TriggerKind,
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::clients::Clients;
use crate::config::{AwsSettings, Service};
use crate::event_triggers::EventTrigger;
use crate::functions::{Code, Desired};
use crate::reports::ReportStore;
use crate::triggers::{HttpsTrigger, LibraryTrigger};

/// The AWS Lambda platform. Creating one sends no request: clients, the role and URLs are
/// made on first use.
pub struct AwsBackend {
    settings: AwsSettings,
    clients: OnceCell<Clients>,
    role: OnceCell<String>,
    reports: Arc<ReportStore>,
    /// Functions deployed through this backend, named in every deployment record so processing
    /// finds all their log groups.
    deployed: Mutex<BTreeSet<String>>,
    /// Cached HTTP endpoints per function.
    urls: Mutex<HashMap<String, String>>,
    /// Zips above this go through S3 (Lambda's limit for direct uploads).
    direct_upload_limit: u64,
    /// Storage and queue triggers made so far, per function and kind (their wiring is made once).
    event_triggers: tokio::sync::Mutex<HashMap<(String, TriggerKind), Arc<EventTrigger>>>,
}

impl AwsBackend {
    /// A backend configured by `deployment.aws` with its state under `cache_dir/aws`.
    pub fn new(config: Option<&AwsConfig>, cache_dir: &Path) -> Result<AwsBackend> {
        let settings = AwsSettings::resolve(config, cache_dir)?;
        let reports = Arc::new(ReportStore::new(settings.state_dir.join("reports.jsonl")));
        Ok(AwsBackend {
            settings,
            clients: OnceCell::new(),
            role: OnceCell::new(),
            reports,
            deployed: Mutex::new(BTreeSet::new()),
            urls: Mutex::new(HashMap::new()),
            direct_upload_limit: sebs_build::LAMBDA_DIRECT_UPLOAD_LIMIT,
            event_triggers: Default::default(),
        })
    }

    /// Send zips larger than `bytes` through S3 (default: Lambda's 50 MB direct-upload limit);
    /// the tests use it to exercise the S3 path with small packages.
    pub fn set_direct_upload_limit(&mut self, bytes: u64) {
        self.direct_upload_limit = bytes;
    }

    /// The effective settings.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The SDK clients (built on first use).
    pub async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = self.settings.sdk_config().await;
                Clients::new(sdk, &self.settings)
            })
            .await
    }

    async fn role(&self) -> Result<&String> {
        self.role
            .get_or_try_init(|| async {
                if let Some(role) = &self.settings.role {
                    return Ok(role.clone());
                }
                let (arn, created) =
                    crate::iam::ensure_role(self.clients().await, &self.settings.resources_id)
                        .await?;
                if created {
                    tracing::info!("created the IAM role {arn}");
                }
                Ok::<_, anyhow::Error>(arn)
            })
            .await
    }

    /// The storage or queue trigger of `function`, its wiring created on first use.
    pub async fn event_trigger(
        &self,
        function: &str,
        kind: TriggerKind,
    ) -> Result<Arc<EventTrigger>> {
        let mut triggers = self.event_triggers.lock().await;
        if let Some(t) = triggers.get(&(function.to_owned(), kind)) {
            return Ok(t.clone());
        }
        let role = self.role().await?.clone();
        let role_name = role.rsplit('/').next().unwrap_or(&role).to_owned();
        let clients = self.clients().await;
        let trigger =
            crate::event_triggers::create(clients, function, kind, &role_name, &self.settings)
                .await
                .with_context(|| {
                    format!(
                        "cannot set up the `{}` trigger of {function}",
                        kind.as_str()
                    )
                })?;
        let trigger = Arc::new(trigger);
        triggers.insert((function.to_owned(), kind), trigger.clone());
        Ok(trigger)
    }

    fn bucket(&self) -> String {
        sebs_platforms::storage::benchmarks_bucket(&self.settings.resources_id)
    }

    /// The code to deploy: the zip's bytes, or (above Lambda's direct-upload limit) the zip
    /// uploaded to the benchmarks bucket under `code/`.
    async fn code(&self, function: &str, zip: &sebs_build::ZipArchive) -> Result<Code> {
        if zip.size <= self.direct_upload_limit {
            let bytes = tokio::fs::read(&zip.path)
                .await
                .with_context(|| format!("failed to read {}", zip.path.display()))?;
            return Ok(Code::Zip(bytes));
        }
        let clients = self.clients().await;
        let bucket = self.bucket();
        let digest = zip.sha256_base64.replace(['/', '+'], "_").replace('=', "");
        let key = format!("code/{function}/{digest}.zip");
        ensure_bucket(clients, &bucket, &self.settings.region).await?;
        let exists = clients
            .s3
            .head_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .is_ok();
        if !exists {
            tracing::info!(
                "uploading the {} MB package of {function} to s3://{bucket}/{key} (over Lambda's direct upload limit)",
                zip.size / 1_000_000
            );
            let body = aws_sdk_s3::primitives::ByteStream::from_path(&zip.path).await?;
            clients
                .s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .map_err(crate::sdk_error)
                .with_context(|| format!("failed to upload the package to s3://{bucket}/{key}"))?;
        }
        Ok(Code::S3 { bucket, key })
    }

    fn record(
        &self,
        config: &aws_sdk_lambda::types::FunctionConfiguration,
        f: &FunctionConfig,
    ) -> Value {
        let functions: Vec<String> = self
            .deployed
            .lock()
            .expect("lock")
            .iter()
            .cloned()
            .collect();
        let mut resources = json!({
            "resources_id": self.settings.resources_id,
            "function": f.name,
            "functions": functions,
            "arn": config.function_arn(),
            "runtime": config.runtime().map(|r| r.as_str()),
            "architecture": f.architecture.as_str(),
            "memory": config.memory_size(),
            "timeout": config.timeout(),
            "code-sha256": config.code_sha256(),
            "code-size": config.code_size(),
            "role": config.role(),
            "log-group": crate::logs::log_group(&f.name),
            "pricing": crate::pricing::record(&self.settings.region, f.architecture),
            "deployed-at": chrono::Utc::now().timestamp_millis(),
        });
        if let Some(endpoint) = self.settings.endpoint(Service::Lambda) {
            resources["endpoint"] = json!(endpoint);
        }
        json!({
            "name": "aws",
            "region": self.settings.region,
            "credentials": {},
            "resources": resources,
        })
    }
}

/// Create `bucket` unless it exists (outside us-east-1 with a location constraint).
pub(crate) async fn ensure_bucket(clients: &Clients, bucket: &str, region: &str) -> Result<()> {
    if clients.s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    let mut request = clients.s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(crate::sdk_error(e))
            .with_context(|| format!("failed to create the bucket {bucket}")),
    }
}

#[async_trait]
impl Platform for AwsBackend {
    fn name(&self) -> &str {
        "aws"
    }

    fn resources_id(&self) -> &str {
        &self.settings.resources_id
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        PackageTarget {
            layout: "aws".into(),
            architecture,
        }
    }

    fn format_function_name(&self, name: &str) -> String {
        crate::functions::format_name(name)
    }

    async fn create_or_update(&self, function: &FunctionConfig) -> Result<Value> {
        let package = sebs_build::Package {
            dir: function.code_dir.clone(),
            hash: function.code_hash.clone(),
            size: function.code_size,
            reused: true,
        };
        let zip = sebs_platforms::pipeline::run_blocking(|| sebs_build::zip_package(&package))
            .with_context(|| format!("failed to zip the package of {}", function.name))?;
        let role = self.role().await?.clone();
        let code = self.code(&function.name, &zip).await?;
        let clients = self.clients().await;
        let desired = Desired {
            function,
            role: &role,
            zip: &zip,
        };
        let config = crate::functions::create_or_update(clients, &desired, code).await?;
        self.deployed
            .lock()
            .expect("lock")
            .insert(function.name.clone());
        Ok(self.record(&config, function))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        if matches!(kind, TriggerKind::Storage | TriggerKind::Queue) {
            return Ok(self.event_trigger(function, kind).await?);
        }
        let clients = self.clients().await;
        Ok(match kind {
            TriggerKind::Library => Arc::new(LibraryTrigger {
                clients: clients.clone(),
                function: function.to_owned(),
                reports: self.reports.clone(),
            }),
            TriggerKind::Http => {
                let cached = self.urls.lock().expect("lock").get(function).cloned();
                let url = match cached {
                    Some(url) => url,
                    None => {
                        let url = if self.settings.use_function_url {
                            crate::endpoints::function_url(clients, function).await?
                        } else {
                            let config = crate::functions::configuration(clients, function).await?;
                            let arn = config.function_arn().unwrap_or_default().to_owned();
                            crate::endpoints::http_api(clients, function, &arn).await?
                        };
                        self.urls
                            .lock()
                            .expect("lock")
                            .insert(function.to_owned(), url.clone());
                        url
                    }
                };
                Arc::new(HttpsTrigger { url })
            }
            TriggerKind::Storage | TriggerKind::Queue => unreachable!("returned above"),
        })
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let clients = self.clients().await;
        for name in functions {
            crate::functions::force_cold_start(clients, name).await?;
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let mut found = self.reports.lookup(request_ids);
        let missing: Vec<String> = request_ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let resources = &deployment["resources"];
        let mut functions: BTreeSet<String> = resources["functions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(f) = resources["function"].as_str() {
            functions.insert(f.to_owned());
        }
        // From an hour before the deployment: later invocations are all after it.
        let start = resources["deployed-at"].as_i64().unwrap_or(0) - 3_600_000;
        let functions: Vec<String> = functions.into_iter().collect();
        match crate::logs::reports(self.clients().await, &functions, &missing, start.max(0)).await {
            Ok(more) => found.extend(more),
            Err(e) => tracing::warn!(
                "could not read REPORT records from CloudWatch Logs ({e:#}); {} invocation(s) stay without provider times",
                missing.len()
            ),
        }
        Ok(found)
    }

    async fn concurrency_history(
        &self,
        deployment: &Value,
        functions: &[String],
        begin: f64,
        end: f64,
    ) -> Result<Vec<ConcurrencyPoint>> {
        if functions.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(endpoint) = deployment["resources"]["endpoint"].as_str()
            && !self.settings.emulated(Service::CloudWatch)
        {
            tracing::info!(
                "the run went to the Lambda emulator at {endpoint}: CloudWatch on AWS has no concurrency history of it"
            );
            return Ok(Vec::new());
        }
        // The metric lives in the region the functions ran in.
        let region = deployment["region"]
            .as_str()
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.settings.region);
        let clients = self.clients().await;
        let client = if region == self.settings.region {
            clients.cloudwatch.clone()
        } else {
            let config = clients
                .cloudwatch
                .config()
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build();
            aws_sdk_cloudwatch::Client::from_conf(config)
        };
        crate::concurrency::history(&client, region, functions, begin, end).await
    }

    async fn workflow_runner(
        &self,
        spec: &sebs_platforms::workflow::WorkflowSpec,
        _kind: TriggerKind,
    ) -> Result<Option<Arc<dyn sebs_workflows::WorkflowRunner>>> {
        if self.settings.workflow_orchestrator == sebs_core::config::WorkflowOrchestrator::Sebs {
            return Ok(None); // sebs's engine over the functions' triggers
        }
        let runner =
            crate::stepfunctions::runner(self.clients().await, &self.settings.resources_id, spec)
                .await?;
        Ok(Some(Arc::new(runner)))
    }

    async fn storage(&self, object: bool, nosql: bool) -> Result<Option<ProvidedStorage>> {
        let clients = self.clients().await;
        let mut driver_env =
            crate::config::credential_env(&clients.sdk, &self.settings.region).await?;
        let mut function_env = std::collections::BTreeMap::new();
        // On AWS, functions reach S3 and DynamoDB with their role. Against an emulator there is
        // no role: they get its endpoint and credentials through the shims' own variables
        // (Lambda reserves the AWS_* names).
        let creds = (
            driver_env["AWS_ACCESS_KEY_ID"].clone(),
            driver_env["AWS_SECRET_ACCESS_KEY"].clone(),
        );
        if object {
            driver_env.insert("SEBS_OBJECT_STORAGE".into(), "s3".into());
        }
        if nosql {
            driver_env.insert("SEBS_NOSQL_STORAGE".into(), "dynamodb".into());
        }
        if object && let Some(url) = self.settings.endpoint(Service::S3) {
            driver_env.insert("AWS_ENDPOINT_URL_S3".into(), url.clone());
            function_env.insert("MINIO_ADDRESS".into(), url);
            function_env.insert("MINIO_ACCESS_KEY".into(), creds.0.clone());
            function_env.insert("MINIO_SECRET_KEY".into(), creds.1.clone());
            function_env.insert("MINIO_REGION".into(), self.settings.region.clone());
        }
        if nosql && let Some(url) = self.settings.endpoint(Service::DynamoDb) {
            driver_env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), url.clone());
            function_env.insert("NOSQL_STORAGE_ENDPOINT".into(), url);
            function_env.insert("NOSQL_STORAGE_ACCESS_KEY".into(), creds.0.clone());
            function_env.insert("NOSQL_STORAGE_SECRET_KEY".into(), creds.1.clone());
            function_env.insert("NOSQL_STORAGE_REGION".into(), self.settings.region.clone());
        }
        Ok(Some(ProvidedStorage {
            driver_env,
            function_env,
        }))
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        crate::resources::list(self.clients().await, &self.settings.resources_id).await
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        for name in functions {
            self.delete(&Resource::function(name)).await?;
        }
        Ok(())
    }

    async fn delete(&self, resource: &Resource) -> Result<()> {
        let clients = self.clients().await;
        if resource.kind == "function" {
            // The HTTP API sebs made for it goes too (function URLs go with the function).
            let api = crate::endpoints::api_name(&resource.name);
            if let Ok(Some(_)) = crate::endpoints::find_api(clients, &api).await {
                crate::resources::delete(
                    clients,
                    &Resource {
                        kind: "http-api".into(),
                        name: api,
                    },
                )
                .await?;
            }
            self.urls.lock().expect("lock").remove(&resource.name);
        }
        crate::resources::delete(clients, resource)
            .await
            .with_context(|| format!("failed to delete the {} {}", resource.kind, resource.name))
    }

    async fn shutdown(self: Box<Self>) {}
}
