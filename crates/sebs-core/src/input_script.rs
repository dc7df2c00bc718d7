//! The benchmark's `input.py`, driven as SeBS drives it: `generate_input` (with uploads to object
//! storage and NoSQL writes) and `validate_output`, run by a Python driver in the host-side
//! environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::{Benchmark, Size};
use crate::config::Language;
use crate::error::CatalogueError;
use crate::python::PythonInterpreter;

/// The harness-side Python driver that runs `input.py` (shipped inside the binary).
pub const INPUT_DRIVER: &str = include_str!("../python/input_driver.py");

/// What `generate_input` produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratedInput {
    /// The function's input event.
    pub input: Value,
    /// `(input prefixes, output prefixes)`.
    pub buckets_count: (usize, usize),
    /// `<benchmark>-<i>-input` prefixes.
    pub input_paths: Vec<String>,
    /// `<benchmark>-<i>-output` prefixes.
    pub output_paths: Vec<String>,
    /// Files to upload into input prefixes.
    pub uploads: Vec<UploadTuple>,
    /// Tables the benchmark needs: logical name → key schema.
    pub nosql_tables: serde_json::Map<String, Value>,
    /// Items to write before invoking.
    pub nosql_writes: Vec<NosqlWriteRaw>,
    /// Files uploaded by the driver (with a storage context).
    #[serde(default)]
    pub uploaded: usize,
    /// Files already present and not uploaded again (no `--update-storage`).
    #[serde(default)]
    pub skipped: usize,
    /// Logical → physical NoSQL table names the driver created.
    #[serde(default)]
    pub nosql_table_names: std::collections::BTreeMap<String, String>,
}

/// Storage the input driver can reach: with it, `generate` uploads the inputs (skipping objects
/// already present unless `update_storage`), creates the NoSQL tables and writes the items, and
/// `validate` hands `validate_output` a working `storage` object. The driver uses the
/// `storage.py`/`nosql.py` shims from `shim_dir`, configured by `env` exactly as functions are.
#[derive(Clone)]
pub struct DriverStorage<'a> {
    /// Directory holding `storage.py`, `nosql.py` and `_sigv4.py`.
    pub shim_dir: &'a Path,
    /// Environment for the shims (endpoints and credentials: never logged).
    pub env: &'a std::collections::BTreeMap<String, String>,
    /// Upload inputs even when they are already present.
    pub update_storage: bool,
    /// Resource id in table names: `sebs-benchmarks-{resources_id}-{benchmark}-{table}`.
    pub resources_id: &'a str,
}

impl std::fmt::Debug for DriverStorage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverStorage")
            .field("shim_dir", &self.shim_dir)
            .field("update_storage", &self.update_storage)
            .field("resources_id", &self.resources_id)
            .finish_non_exhaustive()
    }
}

fn storage_request(storage: Option<&DriverStorage<'_>>) -> Value {
    match storage {
        None => Value::Null,
        Some(s) => serde_json::json!({
            "shim_dir": s.shim_dir,
            "env": s.env,
            "update_storage": s.update_storage,
            "resources_id": s.resources_id,
        }),
    }
}

/// `[prefix_index, key, path]` as the driver emits it.
pub type UploadTuple = (usize, String, PathBuf);

/// A NoSQL write as the driver emits it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NosqlWriteRaw {
    /// Logical table name.
    pub table: String,
    /// Item attributes.
    pub data: Value,
    /// `[name, value]`.
    pub primary_key: Vec<Value>,
    /// `[name, value]` or null.
    pub secondary_key: Option<Vec<Value>>,
}

/// Runs `input.py` functions through the embedded driver, as SeBS calls them.
#[derive(Debug, Clone)]
pub struct InputScript<'a> {
    /// The benchmark.
    pub benchmark: &'a Benchmark,
    /// The interpreter the input environment is built from.
    pub python: &'a PythonInterpreter,
    /// The benchmarks-data directory, if any.
    pub data_dir: Option<&'a Path>,
    /// The cache holding the input environment (SeBS's host-side packages, see
    /// [`crate::input_env`]); `None` runs input.py with `python` itself.
    pub cache_dir: Option<&'a Path>,
}

impl InputScript<'_> {
    fn run(&self, step: &str, mut request: Value) -> Result<Value, CatalogueError> {
        let fail = |message: String| CatalogueError::InputScript {
            id: self.benchmark.id.clone(),
            step: step.to_owned(),
            message,
        };
        let (python, host_env) = match self.cache_dir {
            Some(cache) => match crate::input_env::ready(cache, self.python) {
                Some(env) => (env, true),
                None => (self.python.path.clone(), false),
            },
            None => (self.python.path.clone(), true),
        };
        request["host_env"] = host_env.into();
        let mut reply = self.exec(&python, step, &request)?;
        if reply.get("needs_host_env").is_some() {
            let cache = self.cache_dir.expect("only asked without the environment");
            let env =
                crate::input_env::prepare(cache, self.python).map_err(|e| fail(e.to_string()))?;
            request["host_env"] = true.into();
            reply = self.exec(&env, step, &request)?;
        }
        if let Some(missing) = reply.get("missing_modules") {
            let modules: Vec<String> = serde_json::from_value(missing.clone()).unwrap_or_default();
            return Err(fail(crate::input_env::missing_modules_hint(&modules)));
        }
        Ok(reply)
    }

    fn exec(&self, python: &Path, step: &str, request: &Value) -> Result<Value, CatalogueError> {
        let fail = |message: String| CatalogueError::InputScript {
            id: self.benchmark.id.clone(),
            step: step.to_owned(),
            message,
        };
        let mut child = Command::new(python)
            .args(["-c", INPUT_DRIVER])
            .current_dir(&self.benchmark.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", python.display())))?;
        let body = serde_json::to_vec(request).expect("request serializes");
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&body)
                .map_err(|e| fail(format!("cannot send the request: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("the driver did not finish: {e}")))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.trim().is_empty() {
            tracing::debug!(benchmark = %self.benchmark.id, "input.py stderr:\n{}", stderr.trim_end());
        }
        let reply: Value = serde_json::from_slice(&out.stdout).map_err(|_| {
            fail(format!(
                "the driver exited with {} and no reply; stderr:\n{}",
                out.status,
                stderr.trim_end()
            ))
        })?;
        if let Some(exc) = reply.get("exception") {
            let kind = exc["type"].as_str().unwrap_or("Exception");
            let message = exc["message"].as_str().unwrap_or("");
            // A module imported in a way the driver's scan cannot see (importlib, exec).
            let hint = match message.strip_prefix("No module named '") {
                Some(rest) if kind == "ModuleNotFoundError" => {
                    let module = rest.split(['\'', '.']).next().unwrap_or(rest);
                    format!(
                        "\n{}",
                        crate::input_env::missing_modules_hint(&[module.to_owned()])
                    )
                }
                _ => String::new(),
            };
            return Err(fail(format!(
                "{kind}: {message}\n{}{hint}",
                exc["traceback"].as_str().unwrap_or("").trim_end()
            )));
        }
        Ok(reply)
    }

    /// Call `generate_input` for `size`, with `bucket` as the benchmarks bucket name.
    pub fn generate(
        &self,
        size: Size,
        bucket: Option<&str>,
    ) -> Result<GeneratedInput, CatalogueError> {
        self.generate_with_storage(size, bucket, None)
    }

    /// `generate`, with the driver uploading inputs and writing NoSQL items to `storage`.
    pub fn generate_with_storage(
        &self,
        size: Size,
        bucket: Option<&str>,
        storage: Option<&DriverStorage<'_>>,
    ) -> Result<GeneratedInput, CatalogueError> {
        let reply = self.run(
            "generate_input",
            serde_json::json!({
                "op": "generate",
                "benchmark": self.benchmark.id,
                "benchmark_dir": self.benchmark.dir,
                "data_dir": self.data_dir,
                "size": size.as_str(),
                "bucket": bucket,
                "storage": storage_request(storage),
            }),
        )?;
        serde_json::from_value(reply).map_err(|e| CatalogueError::InputScript {
            id: self.benchmark.id.clone(),
            step: "generate_input".into(),
            message: format!("unexpected reply from the driver: {e}"),
        })
    }

    /// Call `validate_output` on an invocation's wrapper `response`; `Ok(None)` if the output
    /// is valid, `Ok(Some(reason))` if not.
    ///
    /// As SeBS (`benchmark invoke --validate`, `benchmark regression`), `validate_output` gets
    /// `response["result"]`: the function's own return value, e.g. `{"result": "<html>…",
    /// "measurement": {…}}` for 110.dynamic-html. A response without `result` passes `None`.
    pub fn validate(
        &self,
        input: &Value,
        response: &Value,
        language: Language,
    ) -> Result<Option<String>, CatalogueError> {
        self.validate_with_storage(input, response, language, None)
    }

    /// `validate`, with a `storage` object for `validate_output` to download results with (SeBS
    /// passes one when the benchmark uses storage).
    pub fn validate_with_storage(
        &self,
        input: &Value,
        response: &Value,
        language: Language,
        storage: Option<&DriverStorage<'_>>,
    ) -> Result<Option<String>, CatalogueError> {
        let reply = self.run(
            "validate_output",
            serde_json::json!({
                "op": "validate",
                "benchmark_dir": self.benchmark.dir,
                "data_dir": self.data_dir,
                "input_config": input,
                "output": response.get("result").unwrap_or(&Value::Null),
                "language": language.as_str(),
                "architecture": host_architecture(),
                "storage": storage_request(storage),
            }),
        )?;
        Ok(reply["error"].as_str().map(str::to_owned))
    }
}

/// SeBS's name for the machine's architecture (`x64`, `arm64`), passed to `validate_output`.
fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x64",
    }
}
