//! Checks serde cannot express (ranges, formats, fields that go together), run once when a
//! config is loaded. Each error names the JSON path and says how to fix the value.

use super::UserConfig;
use super::cloud::{AwsConfig, AzureConfig, GcpConfig, GcpRuntimeSettings, GcpScaling};
use super::cluster::{KnativeConfig, OpenWhiskConfig};
use super::secret::Secret;

/// A value that parsed but is not allowed.
#[derive(Debug)]
pub(crate) struct Invalid {
    /// Where, e.g. `deployment.aws.region`.
    pub json_path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

type Check = Result<(), Invalid>;

fn invalid(json_path: impl Into<String>, message: impl Into<String>) -> Check {
    Err(Invalid {
        json_path: json_path.into(),
        message: message.into(),
    })
}

/// Check every section present in `config`, the ones of deployments not selected included.
pub(crate) fn validate(config: &UserConfig) -> Check {
    if let Some(perf) = &config.experiments.perf_cost {
        for (i, mb) in perf.memory_sizes.iter().flatten().enumerate() {
            if let Err(message) = crate::limits::check_memory_mb(*mb) {
                invalid(format!("experiments.perf-cost.memory-sizes[{i}]"), message)?;
            }
        }
    }
    let d = &config.deployment;
    if let Some(k) = d.local.keep_alive {
        keep_alive(k, "deployment.local.keep-alive")?;
    }
    for (key, value) in [
        ("header-read-timeout", d.local.header_read_timeout),
        ("idle-timeout", d.local.idle_timeout),
    ] {
        if let Some(seconds) = value
            && !(seconds.is_finite() && seconds > 0.0)
        {
            invalid(
                format!("deployment.local.{key}"),
                format!("{key} must be a positive number of seconds, not {seconds}"),
            )?;
        }
    }
    if d.local.max_connections == Some(0) {
        invalid(
            "deployment.local.max-connections",
            "max-connections must be at least 1".to_owned(),
        )?;
    }
    for (name, f) in &d.local.functions {
        if let Some(k) = f.keep_alive {
            keep_alive(k, &format!("deployment.local.functions.{name}.keep-alive"))?;
        }
    }
    if let Some(aws) = &d.aws {
        check_aws(aws)?;
    }
    if let Some(azure) = &d.azure {
        check_azure(azure)?;
    }
    if let Some(gcp) = &d.gcp {
        check_gcp(gcp)?;
    }
    if let Some(openwhisk) = &d.openwhisk {
        check_openwhisk(openwhisk)?;
    }
    if let Some(knative) = &d.knative {
        check_knative(knative)?;
    }
    Ok(())
}

fn keep_alive(seconds: f64, at: &str) -> Check {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return invalid(
            at,
            format!(
                "keep-alive must be a non-negative number of seconds, not {seconds}; use 0 to never reuse an instance"
            ),
        );
    }
    Ok(())
}

/// A region given must be non-empty; `cloud_id`: AWS and GCP region ids are lowercase letters,
/// digits and dashes.
fn region(value: Option<&String>, at: &str, example: &str, cloud_id: bool) -> Check {
    let Some(region) = value else {
        return Ok(());
    };
    if region.trim().is_empty() {
        return invalid(
            at,
            format!("the region is empty; set it (e.g. \"{example}\") or remove the key"),
        );
    }
    let id_chars = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if cloud_id && !region.chars().all(id_chars) {
        return invalid(
            at,
            format!(
                "`{region}` is not a region id: use lowercase letters, digits and dashes, e.g. \"{example}\""
            ),
        );
    }
    Ok(())
}

/// Credentials that only work together: all set or none.
fn together(section: &str, fields: &[(&str, &Option<Secret>)]) -> Check {
    let set: Vec<&str> = fields
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| *name)
        .collect();
    if set.is_empty() || set.len() == fields.len() {
        return Ok(());
    }
    let (missing, _) = fields
        .iter()
        .find(|(_, v)| v.is_none())
        .expect("some field is unset");
    let all: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    invalid(
        format!("{section}.{missing}"),
        format!(
            "missing while {} is set: give all of {} or none (then the environment is used)",
            set.join(", "),
            all.join(", ")
        ),
    )
}

fn check_aws(aws: &AwsConfig) -> Check {
    region(
        aws.region.as_ref(),
        "deployment.aws.region",
        "us-east-1",
        true,
    )?;
    if let Some(c) = &aws.credentials {
        together(
            "deployment.aws.credentials",
            &[("access_key", &c.access_key), ("secret_key", &c.secret_key)],
        )?;
    }
    if let Some(url) = &aws.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return invalid(
            "deployment.aws.endpoint-url",
            format!(
                "{url:?} is not a URL: give it as http://host:port (an emulator such as `sebs local start` or moto)"
            ),
        );
    }
    Ok(())
}

fn check_azure(azure: &AzureConfig) -> Check {
    region(
        azure.region.as_ref(),
        "deployment.azure.region",
        "westeurope",
        false,
    )?;
    if let Some(c) = &azure.credentials {
        together(
            "deployment.azure.credentials",
            &[
                ("appId", &c.app_id),
                ("tenant", &c.tenant),
                ("password", &c.password),
            ],
        )?;
    }
    Ok(())
}

fn check_gcp(gcp: &GcpConfig) -> Check {
    region(
        gcp.region.as_ref(),
        "deployment.gcp.region",
        "europe-west1",
        true,
    )?;
    let Some(conf) = &gcp.configuration else {
        return Ok(());
    };
    let at = "deployment.gcp.configuration";
    if let Some(gen1) = &conf.function_gen1 {
        scaling(
            gen1.min_instances,
            gen1.max_instances,
            &format!("{at}.function-gen1"),
        )?;
    }
    if let Some(gen2) = &conf.function_gen2 {
        runtime(gen2, &format!("{at}.function-gen2"))?;
    }
    if let Some(container) = &conf.container {
        runtime(container, &format!("{at}.container"))?;
    }
    Ok(())
}

fn scaling(min: Option<u32>, max: Option<u32>, at: &str) -> Check {
    // SeBS's defaults when a bound is absent.
    let (min, max_given) = (min.unwrap_or(0), max);
    let max = max.unwrap_or(GcpScaling::DEFAULT_MAX_INSTANCES);
    if max == 0 {
        return invalid(
            format!("{at}.max-instances"),
            "must be at least 1 (no instance could run); SeBS's default is 20",
        );
    }
    if min > max {
        let which = if max_given.is_some() {
            "max-instances"
        } else {
            "min-instances"
        };
        return invalid(
            format!("{at}.{which}"),
            format!(
                "min-instances ({min}) exceeds max-instances ({max}); raise max-instances or lower min-instances"
            ),
        );
    }
    Ok(())
}

fn runtime(settings: &GcpRuntimeSettings, at: &str) -> Check {
    scaling(settings.min_instances, settings.max_instances, at)?;
    let ranges = [
        (
            "vcpus",
            settings.vcpus,
            1,
            8,
            "Cloud Run allows 1 to 8 vCPUs",
        ),
        (
            "gcp-concurrency",
            settings.gcp_concurrency,
            1,
            1000,
            "Cloud Run allows 1 to 1000 concurrent requests per instance",
        ),
        (
            "worker-concurrency",
            settings.worker_concurrency,
            1,
            u32::MAX,
            "at least one worker must serve requests",
        ),
        (
            "worker-threads",
            settings.worker_threads,
            1,
            u32::MAX,
            "a worker needs at least one thread",
        ),
    ];
    for (key, value, lo, hi, why) in ranges {
        if let Some(v) = value.filter(|v| !(lo..=hi).contains(v)) {
            return invalid(format!("{at}.{key}"), format!("{v} is out of range: {why}"));
        }
    }
    Ok(())
}

fn check_openwhisk(openwhisk: &OpenWhiskConfig) -> Check {
    if openwhisk
        .wsk_exec
        .as_ref()
        .is_some_and(|e| e.trim().is_empty())
    {
        return invalid(
            "deployment.openwhisk.wskExec",
            "empty; set it to the `wsk` executable (e.g. \"wsk\") or remove the key",
        );
    }
    if let Some(host) = &openwhisk.apihost
        && !host.starts_with("http://")
        && !host.starts_with("https://")
    {
        return invalid(
            "deployment.openwhisk.apihost",
            format!(
                "`{host}` is not an http(s) URL: give the API host with its scheme, e.g. \"https://10.0.0.5:31001\" or \"http://127.0.0.1:3233\""
            ),
        );
    }
    if openwhisk
        .docker_image
        .as_ref()
        .is_some_and(|i| i.trim().is_empty())
    {
        return invalid(
            "deployment.openwhisk.docker_image",
            "empty; name an image (e.g. \"me/sebs-{benchmark}:py311\") or remove the key to use the platform's python/nodejs kinds",
        );
    }
    Ok(())
}

fn check_knative(knative: &KnativeConfig) -> Check {
    let at = "deployment.knative";
    if let Some(ns) = &knative.namespace
        && !dns_label(ns)
    {
        return invalid(
            format!("{at}.namespace"),
            format!(
                "`{ns}` is not a Kubernetes namespace name: use at most 63 lowercase letters, digits and dashes, starting and ending with a letter or digit"
            ),
        );
    }
    if let Some(ingress) = &knative.ingress {
        let rest = ingress
            .strip_prefix("http://")
            .or_else(|| ingress.strip_prefix("https://"));
        if rest.is_none_or(|host| host.is_empty()) {
            return invalid(
                format!("{at}.ingress"),
                format!(
                    "`{ingress}` is not an http(s) URL: give the gateway's address, e.g. \"http://192.168.49.2:31080\""
                ),
            );
        }
    }
    if let Some(domain) = &knative.domain
        && (domain.is_empty() || domain.contains("://") || domain.contains('/'))
    {
        return invalid(
            format!("{at}.domain"),
            format!("`{domain}` is not a domain name: give the bare domain, e.g. \"example.com\""),
        );
    }
    if let Some(exec) = &knative.knative_exec
        && exec.trim().is_empty()
    {
        return invalid(
            format!("{at}.knativeExec"),
            "empty; set it to the CLI to deploy with (e.g. \"func\") or remove the key",
        );
    }
    if knative.image.as_ref().is_some_and(|i| i.trim().is_empty()) {
        return invalid(
            format!("{at}.image"),
            "empty; name the function image, e.g. \"registry.example.com/sebs-{benchmark}-{language}-{version}:latest\"",
        );
    }
    if let (Some(min), Some(max)) = (knative.min_scale, knative.max_scale)
        && max > 0
        && min > max
    {
        return invalid(
            format!("{at}.min_scale"),
            format!("{min} is above max_scale ({max}): lower min_scale or raise max_scale"),
        );
    }
    Ok(())
}

/// An RFC 1123 label, what Kubernetes requires of namespace names.
fn dns_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| ok(c) || c == '-')
        && s.starts_with(ok)
        && s.ends_with(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(dns_label("default") && dns_label("sebs-1"));
        assert!(!dns_label("") && !dns_label("-a") && !dns_label("a-") && !dns_label("Big"));
        assert!(!dns_label(&"a".repeat(64)) && dns_label(&"a".repeat(63)));
    }

    #[test]
    fn scaling_bounds_name_the_key_to_change() {
        let err = scaling(Some(5), Some(2), "x").unwrap_err();
        assert_eq!(err.json_path, "x.max-instances");
        // Only min given: it is min that conflicts with SeBS's default maximum.
        let err = scaling(Some(30), None, "x").unwrap_err();
        assert_eq!(err.json_path, "x.min-instances");
        assert!(err.message.contains("(20)"), "{}", err.message);
        assert!(scaling(Some(0), Some(0), "x").is_err());
        assert!(scaling(None, None, "x").is_ok());
    }
}
