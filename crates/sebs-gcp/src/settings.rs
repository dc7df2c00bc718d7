//! The effective Google Cloud settings: `deployment.gcp` as SeBS writes it (project, region,
//! credentials, `configuration` per deployment kind), with SeBS's defaults.

use std::path::Path;

use anyhow::{Result, bail};
use sebs_core::config::{
    ClusterResources, GcpConfig, GcpExecutionEnvironment, GcpPackageDeploymentType,
    GcpRuntimeSettings, GcpScaling,
};

use crate::auth::Credentials;

/// Where functions are deployed: SeBS's `function-gen1`, `function-gen2` and `container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Cloud Functions 1st gen (API v1).
    Gen1,
    /// Cloud Functions 2nd gen (API v2).
    Gen2,
    /// A Cloud Run service (API v2) built from the package's sources.
    Run,
}

impl Variant {
    /// SeBS's name of the variant.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Gen1 => "function-gen1",
            Variant::Gen2 => "function-gen2",
            Variant::Run => "container",
        }
    }

    /// The suffix of function names (SeBS keeps the kinds apart by name, too).
    pub fn suffix(self) -> &'static str {
        match self {
            Variant::Gen1 => "gen1",
            Variant::Gen2 => "gen2",
            Variant::Run => "run",
        }
    }

    fn parse(value: &str) -> Result<Variant> {
        Ok(match value {
            "gen1" | "function-gen1" | "package" => Variant::Gen1,
            "gen2" | "function-gen2" => Variant::Gen2,
            "container" | "run" => Variant::Run,
            other => bail!(
                "deployment.gcp.system-variant = {other:?} is not a Google Cloud deployment kind: use \"function-gen1\", \"function-gen2\" or \"container\""
            ),
        })
    }
}

/// Instance and runtime settings of the deployed function, SeBS's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    /// vCPUs per instance (gen2, Run).
    pub vcpus: u32,
    /// Requests per instance at once (gen2, Run; gen1 is always 1).
    pub concurrency: u32,
    /// Worker processes and threads of the language server (gen2, Run: `WORKERS`, `THREADS`).
    pub workers: u32,
    /// Threads per worker.
    pub threads: u32,
    /// Instances kept warm.
    pub min_instances: u32,
    /// Instance limit.
    pub max_instances: u32,
    /// Startup CPU boost (Run).
    pub cpu_boost: bool,
    /// CPU only during requests (Run).
    pub cpu_throttle: bool,
    /// Run's execution environment: second generation unless `gen1` is asked for.
    pub gen1_environment: bool,
}

impl Runtime {
    fn of(settings: Option<&GcpRuntimeSettings>) -> Runtime {
        let s = settings.cloned().unwrap_or_default();
        Runtime {
            vcpus: s.vcpus.unwrap_or(1).max(1),
            concurrency: s.gcp_concurrency.unwrap_or(80).max(1),
            workers: s.worker_concurrency.unwrap_or(1).max(1),
            threads: s.worker_threads.unwrap_or(8).max(1),
            min_instances: s.min_instances.unwrap_or(0),
            max_instances: s.max_instances.unwrap_or(GcpScaling::DEFAULT_MAX_INSTANCES),
            cpu_boost: s.cpu_boost.unwrap_or(false),
            cpu_throttle: s.cpu_throttle.unwrap_or(true),
            gen1_environment: s.environment == Some(GcpExecutionEnvironment::Gen1),
        }
    }

    fn of_gen1(scaling: Option<&GcpScaling>) -> Runtime {
        let s = scaling.cloned().unwrap_or_default();
        Runtime {
            vcpus: 1,
            concurrency: 1,
            workers: 1,
            threads: 1,
            min_instances: s.min_instances.unwrap_or(0),
            max_instances: s.max_instances.unwrap_or(GcpScaling::DEFAULT_MAX_INSTANCES),
            cpu_boost: false,
            cpu_throttle: true,
            gen1_environment: true,
        }
    }
}

/// The settings a backend works with.
#[derive(Debug)]
pub struct Settings {
    /// Project id.
    pub project: String,
    /// Region (`europe-west1`).
    pub region: String,
    /// Deployment kind.
    pub variant: Variant,
    /// Its instance and runtime settings.
    pub runtime: Runtime,
    /// SeBS's resource id (kept in `cache/gcp/resources.json`).
    pub resources_id: String,
    /// The credentials (never written anywhere).
    pub credentials: std::sync::Arc<Credentials>,
}

impl Settings {
    /// Resolve `section` (absent: everything from the environment), with state under
    /// `cache_dir/gcp`.
    pub fn resolve(section: Option<&GcpConfig>, cache_dir: &Path) -> Result<Settings> {
        let section = section.cloned().unwrap_or_default();
        let creds = section.credentials.clone().unwrap_or_default();
        let credentials = Credentials::find(creds.credentials_json.as_deref())?;
        let project = [
            section.project_name.clone(),
            creds.project_id.clone(),
            credentials.project_id().map(str::to_owned),
            std::env::var("GOOGLE_CLOUD_PROJECT").ok(),
        ]
        .into_iter()
        .flatten()
        .find(|p| !p.is_empty());
        let Some(project) = project else {
            bail!(
                "no Google Cloud project: set deployment.gcp.project_name (or use a service-account key, whose project_id is taken, or set GOOGLE_CLOUD_PROJECT)"
            );
        };
        let region = section
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-central1".into());
        let configuration = section.configuration.clone().unwrap_or_default();
        let variant = match section.system_variant.as_deref() {
            Some(v) => Variant::parse(v)?,
            None => match configuration.package_deployment_type {
                Some(GcpPackageDeploymentType::FunctionGen2) => Variant::Gen2,
                _ => Variant::Gen1,
            },
        };
        let runtime = match variant {
            Variant::Gen1 => Runtime::of_gen1(configuration.function_gen1.as_ref()),
            Variant::Gen2 => Runtime::of(configuration.function_gen2.as_ref()),
            Variant::Run => Runtime::of(configuration.container.as_ref()),
        };
        let configured = ClusterResources {
            resources_id: section
                .resources
                .as_ref()
                .and_then(|r| r.resources_id.clone()),
            ..ClusterResources::default()
        };
        let state_dir = std::path::absolute(cache_dir)?.join("gcp");
        let resources_id = sebs_cluster::common::resources_id(
            Some(&configured),
            &state_dir,
            "deployment.gcp.resources.resources_id",
        )?;
        Ok(Settings {
            project,
            region,
            variant,
            runtime,
            resources_id,
            credentials: std::sync::Arc::new(credentials),
        })
    }

    /// `projects/<project>/locations/<region>`.
    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.region)
    }

    /// SeBS's deployment bucket, where Cloud Run sources go (`sebs-benchmarks-<id>`).
    pub fn deployment_bucket(&self) -> String {
        sebs_platforms::storage::benchmarks_bucket(&self.resources_id)
    }
}

/// A function name in the characters every kind allows (lower-case letters, digits, hyphens;
/// a letter first; 49 characters, Cloud Run's limit), with the kind's suffix.
pub fn function_name(name: &str, variant: Variant) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "f-");
    }
    let suffix = format!("-{}", variant.suffix());
    if out.ends_with(&suffix) {
        out.truncate(out.len() - suffix.len());
    }
    out.truncate(49 - suffix.len());
    let mut out = out.trim_end_matches('-').to_owned();
    out.push_str(&suffix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_every_kind() {
        assert_eq!(
            function_name("sebs-ab12-110.dynamic-html-python-3.11", Variant::Gen2),
            "sebs-ab12-110-dynamic-html-python-3-11-gen2"
        );
        let long = function_name(&"X_".repeat(40), Variant::Run);
        assert!(
            long.len() <= 49 && long.starts_with("x-") && long.ends_with("-run"),
            "{long}"
        );
        assert_eq!(function_name("1abc-gen1", Variant::Gen1), "f-1abc-gen1");
    }

    fn key_file(dir: &Path, project: &str) -> std::path::PathBuf {
        // An authorized_user file (what `gcloud auth application-default login` writes): no
        // key to generate, and the token is fetched only when used.
        let path = dir.join("adc.json");
        let text = serde_json::json!({"type": "authorized_user", "client_id": "c", "client_secret": "s",
            "refresh_token": "r", "quota_project_id": project});
        std::fs::write(&path, text.to_string()).unwrap();
        path
    }

    #[test]
    fn the_example_config_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/gcp.json");
        let loaded = sebs_core::config::UserConfig::load(&root).unwrap();
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        let mut gcp = loaded.config.deployment.gcp.unwrap();
        let dir = tempfile::tempdir().unwrap();
        gcp.credentials = Some(
            serde_json::from_value(serde_json::json!(key_file(dir.path(), "proj-1"))).unwrap(),
        );
        let s = Settings::resolve(Some(&gcp), dir.path()).unwrap();
        assert_eq!(
            (s.project.as_str(), s.region.as_str(), s.variant),
            ("proj-1", "europe-west1", Variant::Gen1)
        );
        assert_eq!(s.runtime.max_instances, 20);
        assert_eq!(s.parent(), "projects/proj-1/locations/europe-west1");
        // The resource id is kept in the cache.
        let again = Settings::resolve(Some(&gcp), dir.path()).unwrap();
        assert_eq!(again.resources_id, s.resources_id);
        gcp.system_variant = Some("container".into());
        let run = Settings::resolve(Some(&gcp), dir.path()).unwrap();
        assert_eq!(run.variant, Variant::Run);
        assert!(
            !run.runtime.cpu_boost
                && run.runtime.concurrency == 80
                && !run.runtime.gen1_environment
        );
    }

    #[test]
    fn bad_credentials_say_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"type": "external_account"}"#).unwrap();
        let e = Credentials::from_file(&bad).unwrap_err().to_string();
        assert!(
            e.contains("service_account") && e.contains("bad.json"),
            "{e}"
        );
        let e = Credentials::from_file(&dir.path().join("missing.json")).unwrap_err();
        assert!(
            format!("{e:#}").contains("GOOGLE_APPLICATION_CREDENTIALS"),
            "{e:#}"
        );
        let key = dir.path().join("key.json");
        let text = serde_json::json!({"type": "service_account", "client_email": "a@b", "private_key": "not a key"});
        std::fs::write(&key, text.to_string()).unwrap();
        let e = Credentials::from_file(&key).unwrap_err().to_string();
        assert!(e.contains("private_key"), "{e}");
    }

    #[test]
    fn variants_have_sebs_names() {
        assert_eq!(Variant::parse("function-gen2").unwrap(), Variant::Gen2);
        assert_eq!(Variant::parse("container").unwrap(), Variant::Run);
        let e = Variant::parse("gen3").unwrap_err().to_string();
        assert!(e.contains("function-gen1"), "{e}");
    }
}
