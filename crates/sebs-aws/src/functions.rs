//! Creating and updating Lambda functions: code (zip, directly or through S3 above Lambda's
//! 50 MB limit) and configuration (memory, timeout, architecture, runtime, environment), each
//! only when it differs, with the SDK's waiters; retries while a new role is not yet
//! assumable.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture as LambdaArch, Environment, FunctionCode, FunctionConfiguration, Runtime,
};
use sebs_build::ZipArchive;
use sebs_core::config::{Architecture, Language};
use sebs_platforms::FunctionConfig;

use crate::clients::Clients;

/// How long the waiters wait for a function to become active or updated.
const WAIT: Duration = Duration::from_secs(300);

/// The environment variable SeBS changes to force cold starts.
pub const COLD_START_VAR: &str = "cold_start";

/// Lambda's runtime identifier (`python3.11`, `nodejs20.x`).
pub fn runtime(language: Language, version: &str) -> String {
    match language {
        Language::Python => format!("python{version}"),
        Language::Nodejs => format!("nodejs{}.x", version.split('.').next().unwrap_or(version)),
    }
}

/// Lambda's name for an architecture.
pub fn lambda_architecture(arch: Architecture) -> LambdaArch {
    match arch {
        Architecture::X64 => LambdaArch::X8664,
        Architecture::Arm64 => LambdaArch::Arm64,
    }
}

/// A function name in the characters Lambda allows (letters, digits, `-`, `_`; at most 64):
/// others become `-`, as SeBS does.
pub fn format_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(64);
    out
}

/// Where the code comes from: the zip's bytes, or an object uploaded to S3.
pub enum Code {
    /// Upload directly.
    Zip(Vec<u8>),
    /// A zip in S3.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// What the function should be.
pub struct Desired<'a> {
    /// From the pipeline.
    pub function: &'a FunctionConfig,
    /// The role's ARN.
    pub role: &'a str,
    /// The zip.
    pub zip: &'a ZipArchive,
}

impl Desired<'_> {
    fn runtime(&self) -> Runtime {
        Runtime::from(runtime(self.function.language, &self.function.language_version).as_str())
    }

    fn environment(&self, current: Option<&FunctionConfiguration>) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = self
            .function
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Keep the cold-start marker a forced cold start set: redeploying the same function
        // must not force another.
        if let Some(value) = current
            .and_then(|c| c.environment())
            .and_then(|e| e.variables())
            .and_then(|v| v.get(COLD_START_VAR))
        {
            env.insert(COLD_START_VAR.into(), value.clone());
        }
        env
    }
}

/// Create the function, or bring an existing one to `desired`. Returns its configuration.
pub async fn create_or_update(
    clients: &Clients,
    desired: &Desired<'_>,
    code: Code,
) -> Result<FunctionConfiguration> {
    let name = &desired.function.name;
    let current = match clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => Some(c),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => {
            return Err(crate::sdk_error(e))
                .with_context(|| format!("failed to look up the Lambda function {name}"));
        }
    };
    match current {
        None => create(clients, desired, code).await,
        Some(current) => update(clients, desired, current, code).await,
    }
}

fn to_configuration(
    out: aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> FunctionConfiguration {
    FunctionConfiguration::builder()
        .set_function_name(out.function_name)
        .set_function_arn(out.function_arn)
        .set_runtime(out.runtime)
        .set_role(out.role)
        .set_handler(out.handler)
        .set_code_size(Some(out.code_size))
        .set_code_sha256(out.code_sha256)
        .set_memory_size(out.memory_size)
        .set_timeout(out.timeout)
        .set_environment(out.environment)
        .set_architectures(out.architectures)
        .build()
}

async fn create(
    clients: &Clients,
    desired: &Desired<'_>,
    code: Code,
) -> Result<FunctionConfiguration> {
    let f = desired.function;
    let code = match code {
        Code::Zip(bytes) => FunctionCode::builder().zip_file(Blob::new(bytes)).build(),
        Code::S3 { bucket, key } => FunctionCode::builder()
            .s3_bucket(bucket)
            .s3_key(key)
            .build(),
    };
    tracing::info!("creating the Lambda function {}", f.name);
    let env = desired.environment(None);
    let mut delay = Duration::from_secs(2);
    let started = std::time::Instant::now();
    loop {
        let result = clients
            .lambda
            .create_function()
            .function_name(&f.name)
            .runtime(desired.runtime())
            .role(desired.role)
            .handler("handler.handler")
            .code(code.clone())
            .memory_size(f.memory_mb as i32)
            .timeout(f.timeout_s as i32)
            .architectures(lambda_architecture(f.architecture))
            .environment(
                Environment::builder()
                    .set_variables(Some(env.clone()))
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => break,
            // A role created seconds ago is not yet assumable by Lambda (IAM is eventually
            // consistent): retry for up to two minutes.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_invalid_parameter_value_exception() && s.to_string().contains("role")
                }) && started.elapsed() < Duration::from_secs(120) =>
            {
                tracing::info!("the role is not assumable by Lambda yet; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(16));
            }
            Err(e) => {
                return Err(crate::sdk_error(e))
                    .with_context(|| format!("failed to create the Lambda function {}", f.name));
            }
        }
    }
    wait_active(clients, &f.name).await?;
    configuration(clients, &f.name).await
}

async fn update(
    clients: &Clients,
    desired: &Desired<'_>,
    current: aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
    code: Code,
) -> Result<FunctionConfiguration> {
    let f = desired.function;
    let current = to_configuration(current);
    let arch = lambda_architecture(f.architecture);
    let code_changed = current.code_sha256() != Some(desired.zip.sha256_base64.as_str())
        || current.architectures().first() != Some(&arch);
    if code_changed {
        tracing::info!("updating the code of the Lambda function {}", f.name);
        let mut request = clients
            .lambda
            .update_function_code()
            .function_name(&f.name)
            .architectures(arch);
        request = match code {
            Code::Zip(bytes) => request.zip_file(Blob::new(bytes)),
            Code::S3 { bucket, key } => request.s3_bucket(bucket).s3_key(key),
        };
        request
            .send()
            .await
            .map_err(crate::sdk_error)
            .with_context(|| format!("failed to update the code of {}", f.name))?;
        wait_updated(clients, &f.name).await?;
    }
    let env = desired.environment(Some(&current));
    let current_env: HashMap<String, String> = current
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let config_changed = current.memory_size() != Some(f.memory_mb as i32)
        || current.timeout() != Some(f.timeout_s as i32)
        || current.runtime() != Some(&desired.runtime())
        || current.handler() != Some("handler.handler")
        || current.role() != Some(desired.role)
        || current_env != env;
    if config_changed {
        tracing::info!(
            "updating the configuration of the Lambda function {} ({} MB, {} s)",
            f.name,
            f.memory_mb,
            f.timeout_s
        );
        clients
            .lambda
            .update_function_configuration()
            .function_name(&f.name)
            .memory_size(f.memory_mb as i32)
            .timeout(f.timeout_s as i32)
            .runtime(desired.runtime())
            .handler("handler.handler")
            .role(desired.role)
            .environment(Environment::builder().set_variables(Some(env)).build())
            .send()
            .await
            .map_err(crate::sdk_error)
            .with_context(|| format!("failed to update the configuration of {}", f.name))?;
        wait_updated(clients, &f.name).await?;
    }
    if code_changed || config_changed {
        configuration(clients, &f.name).await
    } else {
        Ok(current)
    }
}

/// Set the cold-start variable to a new value: Lambda starts new instances for the changed
/// configuration, so the next invocation is cold (SeBS's method).
pub async fn force_cold_start(clients: &Clients, name: &str) -> Result<()> {
    let current = configuration(clients, name).await?;
    let mut env: HashMap<String, String> = current
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let next = env
        .get(COLD_START_VAR)
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(1, |n| n + 1);
    env.insert(COLD_START_VAR.into(), next.to_string());
    clients
        .lambda
        .update_function_configuration()
        .function_name(name)
        .environment(Environment::builder().set_variables(Some(env)).build())
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to force a cold start of {name}"))?;
    wait_updated(clients, name).await
}

/// The function's current configuration.
pub async fn configuration(clients: &Clients, name: &str) -> Result<FunctionConfiguration> {
    let out = clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("failed to read the configuration of {name}"))?;
    Ok(to_configuration(out))
}

async fn wait_active(clients: &Clients, name: &str) -> Result<()> {
    let waiter = clients
        .lambda
        .wait_until_function_active_v2()
        .function_name(name);
    waited(waiter.wait(WAIT).await, name, "did not become active")
}

async fn wait_updated(clients: &Clients, name: &str) -> Result<()> {
    let waiter = clients
        .lambda
        .wait_until_function_updated_v2()
        .function_name(name);
    waited(waiter.wait(WAIT).await, name, "was not updated")
}

/// A waiter's outcome as a result that says which function and what it waited for.
fn waited<T, E: std::error::Error + Send + Sync + 'static>(
    outcome: std::result::Result<T, E>,
    name: &str,
    what: &str,
) -> Result<()> {
    outcome
        .map(|_| ())
        .map_err(crate::sdk_error)
        .with_context(|| format!("the Lambda function {name} {what} within {WAIT:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_runtimes() {
        assert_eq!(
            format_name("sebs-ab12-110.dynamic-html-python-3.11"),
            "sebs-ab12-110-dynamic-html-python-3-11"
        );
        assert_eq!(format_name(&"x".repeat(80)).len(), 64);
        assert_eq!(runtime(Language::Python, "3.11"), "python3.11");
        assert_eq!(runtime(Language::Nodejs, "20"), "nodejs20.x");
        assert_eq!(lambda_architecture(Architecture::Arm64), LambdaArch::Arm64);
    }
}
