//! Functions and services on Google Cloud: the request bodies of Cloud Functions v1 (1st gen),
//! v2 (2nd gen) and Cloud Run v2 services built from source, their create/patch/delete calls
//! and long-running operations, the code upload (generate-upload-URL for functions, the
//! deployment bucket for Run) and public invocation (IAM `allUsers`).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use hyper::Method;
use sebs_core::config::Language;
use sebs_platforms::FunctionConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::Api;
use crate::settings::{Settings, Variant};
use crate::storage::Gcs;

/// The label holding the hash of a function's code and configuration (without `cold_start`).
pub const HASH_LABEL: &str = "sebs-deployment";
/// The label naming the resource id of the run that created a function.
pub const ID_LABEL: &str = "sebs-resources-id";

/// A caller for one deployment kind.
pub struct Deployer<'a> {
    /// The API caller.
    pub api: &'a Api,
    /// The settings.
    pub settings: &'a Settings,
}

/// The runtime id of a language version (`python311`, `nodejs20`).
pub fn runtime_id(language: Language, version: &str) -> String {
    let prefix = match language {
        Language::Python => "python",
        Language::Nodejs => "nodejs",
    };
    format!("{prefix}{}", version.replace('.', ""))
}

/// 1st gen's memory sizes: the smallest that holds `mb`.
pub fn gen1_memory(mb: u64) -> u64 {
    [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
        .into_iter()
        .find(|&m| m >= mb)
        .unwrap_or(32768)
}

/// The memory Google allocates for `mb`: 1st gen's next size, at least 512 MiB on Cloud Run
/// (SeBS's minimum for its second-generation environment), as asked on 2nd gen.
pub fn allocated_memory(variant: Variant, mb: u64) -> u64 {
    match variant {
        Variant::Gen1 => gen1_memory(mb),
        Variant::Gen2 => mb,
        Variant::Run => mb.max(512),
    }
}

impl Deployer<'_> {
    /// `https://cloudfunctions.googleapis.com/v1` and the like: where the variant's resources
    /// and operations are.
    pub fn base(&self, variant: Variant) -> String {
        match variant {
            Variant::Gen1 => format!("{}/v1", self.api.endpoints.functions),
            Variant::Gen2 => format!("{}/v2", self.api.endpoints.functions),
            Variant::Run => format!("{}/v2", self.api.endpoints.run),
        }
    }

    /// The full resource name of function `name`.
    pub fn resource(&self, variant: Variant, name: &str) -> String {
        let collection = if variant == Variant::Run {
            "services"
        } else {
            "functions"
        };
        format!("{}/{collection}/{name}", self.settings.parent())
    }

    /// The function or service, `None` if it does not exist.
    pub async fn get(&self, variant: Variant, name: &str) -> Result<Option<Value>> {
        let url = format!("{}/{}", self.base(variant), self.resource(variant, name));
        let answer = self.api.request(Method::GET, &url, None).await?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => bail!("GET {url}: {}", crate::api::describe(&answer)),
        }
    }

    /// The environment the function gets: `f.env`, SeBS's worker settings (2nd gen, Run), the
    /// project for the Datastore shim, and `cold_start` kept from the deployed function.
    pub fn environment(
        &self,
        f: &FunctionConfig,
        existing: Option<&Value>,
    ) -> BTreeMap<String, String> {
        let mut env = f.env.clone();
        env.insert("GOOGLE_CLOUD_PROJECT".into(), self.settings.project.clone());
        if self.settings.variant != Variant::Gen1 {
            env.insert("WORKERS".into(), self.settings.runtime.workers.to_string());
            env.insert("THREADS".into(), self.settings.runtime.threads.to_string());
        }
        if let Some(old) =
            existing.and_then(|e| current_env(self.settings.variant, e).remove("cold_start"))
        {
            env.insert("cold_start".into(), old);
        }
        env
    }

    /// The hash of what is deployed: code, settings, environment without `cold_start`.
    pub fn deployment_hash(&self, f: &FunctionConfig, env: &BTreeMap<String, String>) -> String {
        let mut env = env.clone();
        env.remove("cold_start");
        let r = &self.settings.runtime;
        let text = json!([
            f.code_hash,
            f.memory_mb,
            f.timeout_s,
            f.language_version,
            env,
            [r.vcpus, r.concurrency, r.min_instances, r.max_instances],
            [r.cpu_boost, r.cpu_throttle, r.gen1_environment],
            self.settings.variant.as_str()
        ]);
        let digest = Sha256::digest(text.to_string().as_bytes());
        digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
    }

    fn labels(&self, hash: &str) -> Value {
        json!({ HASH_LABEL: hash, ID_LABEL: self.settings.resources_id })
    }

    /// The body of a 1st gen function (`sourceUploadUrl` set by the caller).
    pub fn gen1_body(
        &self,
        f: &FunctionConfig,
        env: &BTreeMap<String, String>,
        hash: &str,
    ) -> Value {
        let r = &self.settings.runtime;
        json!({
            "name": self.resource(Variant::Gen1, &f.name),
            "entryPoint": "handler",
            "runtime": runtime_id(f.language, &f.language_version),
            "availableMemoryMb": gen1_memory(f.memory_mb),
            "timeout": format!("{}s", f.timeout_s),
            "httpsTrigger": { "securityLevel": "SECURE_ALWAYS" },
            "ingressSettings": "ALLOW_ALL",
            "environmentVariables": env,
            "minInstances": r.min_instances,
            "maxInstances": r.max_instances,
            "labels": self.labels(hash),
        })
    }

    /// The body of a 2nd gen function (`buildConfig.source` set by the caller).
    pub fn gen2_body(
        &self,
        f: &FunctionConfig,
        env: &BTreeMap<String, String>,
        hash: &str,
    ) -> Value {
        let r = &self.settings.runtime;
        json!({
            "name": self.resource(Variant::Gen2, &f.name),
            "environment": "GEN_2",
            "buildConfig": {
                "runtime": runtime_id(f.language, &f.language_version),
                "entryPoint": "handler",
            },
            "serviceConfig": {
                "availableMemory": format!("{}Mi", f.memory_mb),
                "availableCpu": r.vcpus.to_string(),
                "timeoutSeconds": f.timeout_s,
                "environmentVariables": env,
                "minInstanceCount": r.min_instances,
                "maxInstanceCount": r.max_instances,
                "maxInstanceRequestConcurrency": r.concurrency,
                "ingressSettings": "ALLOW_ALL",
                "allTrafficOnLatestRevision": true,
            },
            "labels": self.labels(hash),
        })
    }

    /// The body of a Cloud Run service built from the source zip at `source` (`gs://...`).
    pub fn run_body(
        &self,
        f: &FunctionConfig,
        env: &BTreeMap<String, String>,
        hash: &str,
        source: &str,
    ) -> Value {
        let r = &self.settings.runtime;
        let runtime = runtime_id(f.language, &f.language_version);
        // Google's base image of the runtime (SeBS's systems.json names these); the image Cloud
        // Build makes goes to the deployment's Artifact Registry repository.
        let base_image = format!(
            "{}-docker.pkg.dev/serverless-runtimes/google-22/runtimes/{runtime}",
            self.settings.region
        );
        let image = crate::registry::Registry::new(self.api, self.settings).image(&f.name, hash);
        let env: Vec<Value> = env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let environment = if r.gen1_environment {
            "EXECUTION_ENVIRONMENT_GEN1"
        } else {
            "EXECUTION_ENVIRONMENT_GEN2"
        };
        json!({
            "labels": self.labels(hash),
            "ingress": "INGRESS_TRAFFIC_ALL",
            "buildConfig": {
                "sourceLocation": source,
                "functionTarget": "handler",
                "baseImage": base_image,
                "imageUri": image,
            },
            "template": {
                "timeout": format!("{}s", f.timeout_s),
                "maxInstanceRequestConcurrency": r.concurrency,
                "executionEnvironment": environment,
                "scaling": { "minInstanceCount": r.min_instances, "maxInstanceCount": r.max_instances },
                "containers": [{
                    "image": image,
                    "baseImageUri": base_image,
                    "ports": [{ "containerPort": 8080 }],
                    "env": env,
                    "resources": {
                        // Run's smallest memory with a second-generation environment, as SeBS.
                        "limits": { "memory": format!("{}Mi", allocated_memory(Variant::Run, f.memory_mb)), "cpu": r.vcpus.to_string() },
                        "cpuIdle": r.cpu_throttle,
                        "startupCpuBoost": r.cpu_boost,
                    },
                }],
            },
        })
    }

    /// Upload the zip through `generateUploadUrl` (functions) and put where it lies into `body`.
    pub async fn upload_function_source(
        &self,
        variant: Variant,
        body: &mut Value,
        zip: Vec<u8>,
    ) -> Result<()> {
        let url = format!(
            "{}/{}/functions:generateUploadUrl",
            self.base(variant),
            self.settings.parent()
        );
        let reply = self.api.call(Method::POST, &url, Some(&json!({}))).await?;
        let upload = reply["uploadUrl"]
            .as_str()
            .context("generateUploadUrl returned no uploadUrl")?;
        match variant {
            Variant::Gen1 => {
                // The v1 upload URL is signed for this header (the size limit of a source).
                let range = [("x-goog-content-length-range", "0,104857600")];
                self.api.put_signed(upload, zip, &range).await?;
                body["sourceUploadUrl"] = upload.into();
            }
            _ => {
                self.api.put_signed(upload, zip, &[]).await?;
                let source = reply["storageSource"].clone();
                body["buildConfig"]["source"] = json!({ "storageSource": source });
            }
        }
        Ok(())
    }

    /// Upload the zip for a Cloud Run source deployment; returns its `gs://` location.
    pub async fn upload_run_source(&self, f: &FunctionConfig, zip: Vec<u8>) -> Result<String> {
        let gcs = Gcs::new(self.api, &self.settings.project);
        let bucket = self.settings.deployment_bucket();
        gcs.ensure_bucket(&bucket, &self.settings.region).await?;
        crate::registry::Registry::new(self.api, self.settings)
            .ensure()
            .await?;
        let object = format!("{}/{}.zip", f.name, f.code_hash);
        gcs.upload(&bucket, &object, zip, "application/zip").await?;
        Ok(format!("gs://{bucket}/{object}"))
    }

    /// Create (`existing` is `None`) or replace the function with `body`; wait for it.
    pub async fn apply(
        &self,
        variant: Variant,
        name: &str,
        body: &Value,
        create: bool,
    ) -> Result<Value> {
        let base = self.base(variant);
        let parent = self.settings.parent();
        let (method, url) = match (variant, create) {
            (Variant::Gen1, true) => (Method::POST, format!("{base}/{parent}/functions")),
            (Variant::Gen2, true) => (
                Method::POST,
                format!("{base}/{parent}/functions?functionId={name}"),
            ),
            (Variant::Run, true) => (
                Method::POST,
                format!("{base}/{parent}/services?serviceId={name}"),
            ),
            (Variant::Run, false) => (
                Method::PATCH,
                format!("{base}/{}", self.resource(variant, name)),
            ),
            (_, false) => {
                let mask = top_level_mask(body);
                (
                    Method::PATCH,
                    format!("{base}/{}?updateMask={mask}", self.resource(variant, name)),
                )
            }
        };
        let op = self.api.call(method, &url, Some(body)).await?;
        self.api
            .wait(&base, op)
            .await
            .with_context(|| format!("deploying {name} ({})", variant.as_str()))?;
        self.get(variant, name)
            .await?
            .with_context(|| format!("{name} is gone after its deployment"))
    }

    /// Let anyone invoke the function over HTTP (SeBS's `allUsers` invoker binding).
    pub async fn make_public(&self, variant: Variant, deployed: &Value) -> Result<()> {
        let (url, role) = match variant {
            Variant::Gen1 => (
                format!(
                    "{}/{}:setIamPolicy",
                    self.base(variant),
                    deployed["name"].as_str().unwrap_or_default()
                ),
                "roles/cloudfunctions.invoker",
            ),
            Variant::Gen2 => (
                format!(
                    "{}/v2/{}:setIamPolicy",
                    self.api.endpoints.run,
                    deployed["serviceConfig"]["service"]
                        .as_str()
                        .context("the 2nd gen function names no service")?
                ),
                "roles/run.invoker",
            ),
            Variant::Run => (
                format!(
                    "{}/{}:setIamPolicy",
                    self.base(variant),
                    deployed["name"].as_str().unwrap_or_default()
                ),
                "roles/run.invoker",
            ),
        };
        let policy =
            json!({ "policy": { "bindings": [{ "role": role, "members": ["allUsers"] }] } });
        self.api.call(Method::POST, &url, Some(&policy)).await.context(
            "cannot let allUsers invoke the function (an organization policy may forbid public functions; the library trigger of 1st gen functions still works)",
        )?;
        Ok(())
    }

    /// Set the environment of a deployed function (cold starts) and wait for the new version.
    pub async fn set_env(
        &self,
        variant: Variant,
        name: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<()> {
        let base = self.base(variant);
        let resource = self.resource(variant, name);
        let (url, body) = match variant {
            Variant::Gen1 => (
                format!("{base}/{resource}?updateMask=environmentVariables"),
                json!({ "environmentVariables": env }),
            ),
            Variant::Gen2 => (
                format!("{base}/{resource}?updateMask=serviceConfig.environmentVariables"),
                json!({ "serviceConfig": { "environmentVariables": env } }),
            ),
            Variant::Run => {
                let mut service = self
                    .get(variant, name)
                    .await?
                    .with_context(|| format!("service {name} does not exist"))?;
                let vars: Vec<Value> = env
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect();
                service["template"]["containers"][0]["env"] = vars.into();
                (format!("{base}/{resource}"), service)
            }
        };
        let op = self.api.call(Method::PATCH, &url, Some(&body)).await?;
        self.api.wait(&base, op).await?;
        Ok(())
    }

    /// Delete the function (a missing one is no error).
    pub async fn delete(&self, variant: Variant, name: &str) -> Result<()> {
        let base = self.base(variant);
        let url = format!("{base}/{}", self.resource(variant, name));
        let answer = self.api.request(Method::DELETE, &url, None).await?;
        match answer.status {
            404 => Ok(()),
            200..=299 => self.api.wait(&base, answer.body).await.map(|_| ()),
            _ => bail!("DELETE {url}: {}", crate::api::describe(&answer)),
        }
    }

    /// The names of the variant's functions labelled with this resource id.
    pub async fn list(&self, variant: Variant) -> Result<Vec<String>> {
        let collection = if variant == Variant::Run {
            "services"
        } else {
            "functions"
        };
        let mut names = Vec::new();
        let mut token = String::new();
        loop {
            let mut url = format!(
                "{}/{}/{collection}?pageSize=100",
                self.base(variant),
                self.settings.parent()
            );
            if !token.is_empty() {
                url.push_str(&format!(
                    "&pageToken={}",
                    sebs_cluster::rest::encode(&token)
                ));
            }
            let page = self.api.call(Method::GET, &url, None).await?;
            for item in page[collection].as_array().into_iter().flatten() {
                let ours =
                    item["labels"][ID_LABEL].as_str() == Some(self.settings.resources_id.as_str());
                // v2 lists 1st gen functions too: keep each kind to its own API.
                let gen1_in_v2 =
                    variant == Variant::Gen2 && item["environment"].as_str() == Some("GEN_1");
                if ours
                    && !gen1_in_v2
                    && let Some(full) = item["name"].as_str()
                {
                    names.push(full.rsplit('/').next().unwrap_or(full).to_owned());
                }
            }
            match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = t.to_owned(),
                None => return Ok(names),
            }
        }
    }
}

/// The HTTPS URL of a deployed function or service.
pub fn url_of(variant: Variant, deployed: &Value) -> Option<String> {
    let url = match variant {
        Variant::Gen1 => &deployed["httpsTrigger"]["url"],
        Variant::Gen2 => &deployed["serviceConfig"]["uri"],
        Variant::Run => &deployed["uri"],
    };
    url.as_str().map(str::to_owned)
}

/// The environment of a deployed function or service.
pub fn current_env(variant: Variant, deployed: &Value) -> BTreeMap<String, String> {
    let pairs: Vec<(String, String)> = match variant {
        Variant::Gen1 => obj_pairs(&deployed["environmentVariables"]),
        Variant::Gen2 => obj_pairs(&deployed["serviceConfig"]["environmentVariables"]),
        Variant::Run => deployed["template"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_owned(),
                    e["value"].as_str().unwrap_or("").to_owned(),
                ))
            })
            .collect(),
    };
    pairs.into_iter().collect()
}

fn obj_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The update mask naming every top-level field of `body` but the output-only `name`.
fn top_level_mask(body: &Value) -> String {
    let fields: Vec<&str> = body
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "name")
        .collect();
    fields.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Endpoints;

    fn settings(variant: &str, dir: &std::path::Path) -> Settings {
        let adc = dir.join("adc.json");
        let text = json!({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"});
        std::fs::write(&adc, text.to_string()).unwrap();
        let section: sebs_core::config::GcpConfig = serde_json::from_value(json!({
            "project_name": "proj", "region": "europe-west1", "credentials": adc,
            "system-variant": variant,
            "configuration": {
                "function-gen1": {"min-instances": 1, "max-instances": 7},
                "function-gen2": {"vcpus": 2, "gcp-concurrency": 40, "worker-concurrency": 3, "worker-threads": 4,
                                  "min-instances": 2, "max-instances": 9},
                "container": {"environment": "gen1", "vcpus": 4, "gcp-concurrency": 10, "cpu-boost": true,
                              "cpu-throttle": false, "max-instances": 3}}
        }))
        .unwrap();
        Settings::resolve(Some(&section), dir).unwrap()
    }

    fn function() -> FunctionConfig {
        FunctionConfig {
            name: "f".into(),
            benchmark: "110.dynamic-html".into(),
            language: Language::Python,
            language_version: "3.11".into(),
            interpreter: "python3".into(),
            architecture: sebs_core::config::Architecture::X64,
            code_dir: ".".into(),
            code_hash: "h1".into(),
            code_size: 1,
            memory_mb: 200,
            timeout_s: 30,
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
        }
    }

    #[test]
    fn sebs_settings_land_in_googles_fields() {
        let dir = tempfile::tempdir().unwrap();
        let s1 = settings("function-gen1", dir.path());
        let api = Api::new(s1.credentials.clone(), Endpoints::default());
        let d = Deployer {
            api: &api,
            settings: &s1,
        };
        let f = function();
        let env = d.environment(&f, None);
        assert_eq!(env["GOOGLE_CLOUD_PROJECT"], "proj");
        let b = d.gen1_body(&f, &env, "hash");
        assert_eq!(
            (b["availableMemoryMb"].as_u64(), b["timeout"].as_str()),
            (Some(256), Some("30s"))
        );
        assert_eq!(
            (b["minInstances"].as_u64(), b["maxInstances"].as_u64()),
            (Some(1), Some(7))
        );
        assert_eq!(b["runtime"], "python311");
        assert_eq!(b["labels"][ID_LABEL], s1.resources_id);

        let s2 = settings("function-gen2", dir.path());
        let d = Deployer {
            api: &api,
            settings: &s2,
        };
        let env = d.environment(&f, None);
        assert_eq!(
            (env["WORKERS"].as_str(), env["THREADS"].as_str()),
            ("3", "4")
        );
        let c = &d.gen2_body(&f, &env, "hash")["serviceConfig"];
        assert_eq!(
            (c["availableMemory"].as_str(), c["availableCpu"].as_str()),
            (Some("200Mi"), Some("2"))
        );
        assert_eq!(c["maxInstanceRequestConcurrency"], 40);
        assert_eq!(
            (
                c["minInstanceCount"].as_u64(),
                c["maxInstanceCount"].as_u64()
            ),
            (Some(2), Some(9))
        );

        let s3 = settings("container", dir.path());
        let d = Deployer {
            api: &api,
            settings: &s3,
        };
        let b = d.run_body(&f, &env, "hash", "gs://b/o.zip");
        let t = &b["template"];
        let c = &t["containers"][0];
        assert_eq!(c["resources"]["limits"]["memory"], "512Mi");
        assert_eq!(c["resources"]["limits"]["cpu"], "4");
        assert_eq!(
            (
                c["resources"]["cpuIdle"].as_bool(),
                c["resources"]["startupCpuBoost"].as_bool()
            ),
            (Some(false), Some(true))
        );
        assert_eq!(t["executionEnvironment"], "EXECUTION_ENVIRONMENT_GEN1");
        assert_eq!(
            (
                t["maxInstanceRequestConcurrency"].as_u64(),
                t["scaling"]["maxInstanceCount"].as_u64()
            ),
            (Some(10), Some(3))
        );
        assert_eq!(b["buildConfig"]["sourceLocation"], "gs://b/o.zip");
        assert_eq!(c["image"], b["buildConfig"]["imageUri"]);
        assert!(
            c["image"]
                .as_str()
                .unwrap()
                .starts_with("europe-west1-docker.pkg.dev/proj/sebs-benchmarks-")
        );
    }

    #[test]
    fn the_hash_ignores_cold_start_but_not_code_or_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings("function-gen1", dir.path());
        let api = Api::new(s.credentials.clone(), Endpoints::default());
        let d = Deployer {
            api: &api,
            settings: &s,
        };
        let f = function();
        let mut env = d.environment(&f, None);
        let h = d.deployment_hash(&f, &env);
        env.insert("cold_start".into(), "123".into());
        assert_eq!(
            d.deployment_hash(&f, &env),
            h,
            "a forced cold start is no redeployment"
        );
        let mut g = function();
        g.code_hash = "h2".into();
        assert_ne!(d.deployment_hash(&g, &env), h);
        g = function();
        g.memory_mb = 512;
        assert_ne!(d.deployment_hash(&g, &env), h);
        // The deployed function's cold_start survives a redeployment.
        let deployed = json!({"environmentVariables": {"cold_start": "77"}});
        assert_eq!(d.environment(&f, Some(&deployed))["cold_start"], "77");
    }
}
