//! The benchmark catalogue: SeBS's directory layout (`GROUP/ID/config.json`, `input.py`,
//! `<language>/function.*`), lookup with suggestions, and input generation and output validation
//! through the benchmark's `input.py`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Language;
use crate::error::CatalogueError;
use crate::python::PythonInterpreter;

/// The harness-side Python driver that runs `input.py` (shipped inside the binary).
pub const INPUT_DRIVER: &str = include_str!("../python/input_driver.py");

/// SeBS's input sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Smallest input, for tests.
    Test,
    /// Medium input.
    Small,
    /// Largest input.
    Large,
}

impl Size {
    /// The name used on the command line and by `input.py`.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Test => "test",
            Size::Small => "small",
            Size::Large => "large",
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Size {
    type Err = CatalogueError;
    fn from_str(s: &str) -> Result<Self, CatalogueError> {
        match s {
            "test" => Ok(Size::Test),
            "small" => Ok(Size::Small),
            "large" => Ok(Size::Large),
            other => Err(CatalogueError::UnknownSize(other.to_owned())),
        }
    }
}

/// One entry of `config.json`'s `languages`: a name, or `{"language": .., "variants": [..]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LanguageEntry {
    /// Just the language name.
    Name(String),
    /// A language with variants.
    WithVariants {
        /// The language name.
        language: String,
        /// Variant names.
        #[serde(default)]
        variants: Vec<String>,
    },
}

impl LanguageEntry {
    /// The language name.
    pub fn name(&self) -> &str {
        match self {
            LanguageEntry::Name(n) => n,
            LanguageEntry::WithVariants { language, .. } => language,
        }
    }
}

/// A benchmark's `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchmarkConfig {
    /// Function timeout in seconds.
    pub timeout: u64,
    /// Function memory in MB.
    pub memory: u64,
    /// Languages the benchmark is written in.
    pub languages: Vec<LanguageEntry>,
    /// Platform modules it needs: `storage`, `nosql`.
    #[serde(default)]
    pub modules: Vec<String>,
    /// C++ dependencies (SeBS; unused by sebs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpp_dependencies: Vec<String>,
}

/// A benchmark in the catalogue.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// Its id, e.g. `110.dynamic-html`.
    pub id: String,
    /// Its group directory, e.g. `100.webapps`.
    pub group: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its parsed `config.json`.
    pub config: BenchmarkConfig,
}

impl Benchmark {
    /// Read a benchmark directory.
    pub fn load(dir: &Path) -> Result<Benchmark, CatalogueError> {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let group = dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dir.join("config.json");
        let bad = |message: String| CatalogueError::BadConfig {
            id: id.clone(),
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let config: BenchmarkConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            if at == "." {
                bad(inner.to_string())
            } else {
                bad(format!("`{at}`: {inner}"))
            }
        })?;
        if let Err(message) = crate::limits::check_memory_mb(config.memory) {
            return Err(bad(format!("`memory`: {message}")));
        }
        if let Err(message) = crate::limits::check_timeout_s(config.timeout) {
            return Err(bad(format!("`timeout`: {message}")));
        }
        if !dir.join("input.py").is_file() {
            return Err(bad(
                "the benchmark has no input.py next to config.json; add one with generate_input() and validate_output()"
                    .into(),
            ));
        }
        Ok(Benchmark {
            id,
            group,
            dir: dir.to_owned(),
            config,
        })
    }

    /// Language names, in config order.
    pub fn languages(&self) -> Vec<&str> {
        self.config.languages.iter().map(|l| l.name()).collect()
    }

    /// The source directory for `language`, or an error naming the languages it has.
    pub fn language_dir(&self, language: Language) -> Result<PathBuf, CatalogueError> {
        let dir = self.dir.join(language.as_str());
        let listed = self.languages().contains(&language.as_str());
        if listed && dir.is_dir() {
            Ok(dir)
        } else if listed {
            Err(CatalogueError::MissingSources {
                id: self.id.clone(),
                language: language.to_string(),
                dir,
            })
        } else {
            Err(CatalogueError::NoLanguage {
                id: self.id.clone(),
                language: language.to_string(),
                available: self.languages().join(", "),
            })
        }
    }

    /// Whether the benchmark needs a platform module (`storage`, `nosql`).
    pub fn uses_module(&self, module: &str) -> bool {
        self.config.modules.iter().any(|m| m == module)
    }
}

/// A benchmark catalogue directory.
#[derive(Debug, Clone)]
pub struct Catalogue {
    root: PathBuf,
    /// `(id, dir)` of every benchmark found, sorted by id.
    entries: Vec<(String, PathBuf)>,
}

impl Catalogue {
    /// Scan `root` for `GROUP/ID/config.json`.
    pub fn open(root: &Path) -> Result<Catalogue, CatalogueError> {
        if !root.is_dir() {
            return Err(CatalogueError::MissingRoot(root.to_owned()));
        }
        // Absolute, so benchmark directories stay valid whatever the current directory.
        let root =
            &std::path::absolute(root).map_err(|_| CatalogueError::MissingRoot(root.to_owned()))?;
        let mut entries = Vec::new();
        let mut groups: Vec<_> = std::fs::read_dir(root)
            .map_err(|_| CatalogueError::MissingRoot(root.to_owned()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        groups.sort();
        for group in groups {
            let Ok(children) = std::fs::read_dir(&group) else {
                continue;
            };
            for child in children.flatten() {
                let dir = child.path();
                if dir.join("config.json").is_file() {
                    let id = child.file_name().to_string_lossy().into_owned();
                    entries.push((id, dir));
                }
            }
        }
        entries.sort();
        Ok(Catalogue {
            root: root.to_owned(),
            entries,
        })
    }

    /// The catalogue directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Ids and directories of all benchmarks.
    pub fn entries(&self) -> &[(String, PathBuf)] {
        &self.entries
    }

    /// Find a benchmark by id (`110.dynamic-html`), by name without its number (`dynamic-html`)
    /// or by number (`110`); on failure suggest the closest ids.
    pub fn find(&self, name: &str) -> Result<Benchmark, CatalogueError> {
        let name_part = |id: &str| id.split_once('.').map(|(_, n)| n.to_owned());
        let number_part = |id: &str| id.split_once('.').map(|(n, _)| n.to_owned());
        let exact = self.entries.iter().find(|(id, _)| id == name);
        let by_name: Vec<_> = self
            .entries
            .iter()
            .filter(|(id, _)| {
                name_part(id).as_deref() == Some(name) || number_part(id).as_deref() == Some(name)
            })
            .collect();
        let hit = exact.or(if by_name.len() == 1 {
            by_name.first().copied()
        } else {
            None
        });
        if let Some((_, dir)) = hit {
            return Benchmark::load(dir);
        }
        Err(CatalogueError::Unknown {
            name: name.to_owned(),
            suggestions: self.suggestions(name),
        })
    }

    fn suggestions(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        let mut scored: Vec<(f64, &String)> = self
            .entries
            .iter()
            .map(|(id, _)| {
                let short = id.split_once('.').map(|(_, n)| n).unwrap_or(id);
                let score = strsim::jaro_winkler(&lower, id)
                    .max(strsim::jaro_winkler(&lower, short))
                    .max(if id.contains(&lower) && !lower.is_empty() {
                        0.95
                    } else {
                        0.0
                    });
                (score, id)
            })
            .filter(|(score, _)| *score >= 0.75)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .take(3)
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// The catalogue directory to use when none is configured: `./benchmarks` if it exists, else the
/// catalogue of the source tree sebs was built from.
pub fn default_root() -> PathBuf {
    let local = PathBuf::from("benchmarks");
    if local.join("100.webapps").is_dir() || local.join("000.microbenchmarks").is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks")
}

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

/// Runs `input.py` functions through the embedded driver.
#[derive(Debug, Clone)]
pub struct InputScript<'a> {
    /// The benchmark.
    pub benchmark: &'a Benchmark,
    /// The interpreter to run input.py with.
    pub python: &'a PythonInterpreter,
    /// The benchmarks-data directory, if any.
    pub data_dir: Option<&'a Path>,
}

impl InputScript<'_> {
    fn run(&self, step: &str, request: Value) -> Result<Value, CatalogueError> {
        let fail = |message: String| CatalogueError::InputScript {
            id: self.benchmark.id.clone(),
            step: step.to_owned(),
            message,
        };
        let mut child = Command::new(&self.python.path)
            .args(["-c", INPUT_DRIVER])
            .current_dir(&self.benchmark.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", self.python.path.display())))?;
        let body = serde_json::to_vec(&request).expect("request serializes");
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
            return Err(fail(format!(
                "{}: {}\n{}",
                exc["type"].as_str().unwrap_or("Exception"),
                exc["message"].as_str().unwrap_or(""),
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

    /// Call `validate_output`; `Ok(None)` if the output is valid, `Ok(Some(reason))` if not.
    pub fn validate(
        &self,
        input: &Value,
        output: &Value,
        language: Language,
    ) -> Result<Option<String>, CatalogueError> {
        self.validate_with_storage(input, output, language, None)
    }

    /// `validate`, with a `storage` object for `validate_output` to download results with.
    pub fn validate_with_storage(
        &self,
        input: &Value,
        output: &Value,
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
                "output": output,
                "language": language.as_str(),
                "storage": storage_request(storage),
            }),
        )?;
        Ok(reply["error"].as_str().map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_bench(root: &Path, group: &str, id: &str, config: &str) -> PathBuf {
        let dir = root.join(group).join(id);
        std::fs::create_dir_all(dir.join("python")).unwrap();
        std::fs::write(dir.join("config.json"), config).unwrap();
        std::fs::write(
            dir.join("input.py"),
            "def buckets_count():\n    return (1, 2)\n\
             def generate_input(data_dir, size, bucket, inp, out, upload, nosql):\n    \
             print('noise on stdout')\n    upload(0, 'k', __file__)\n    return {'size': size, 'out': out}\n\
             def validate_output(data_dir, input_config, output, language, storage):\n    \
             return None if output == 1 else 'wanted 1'\n",
        )
        .unwrap();
        dir
    }

    const CONFIG: &str = r#"{"timeout": 10, "memory": 128, "languages": ["python", {"language": "nodejs", "variants": ["bun"]}], "modules": []}"#;

    #[test]
    fn finds_by_id_name_number_and_suggests() {
        let tmp = tempfile::tempdir().unwrap();
        write_bench(tmp.path(), "100.webapps", "110.dynamic-html", CONFIG);
        write_bench(tmp.path(), "100.webapps", "120.uploader", CONFIG);
        let cat = Catalogue::open(tmp.path()).unwrap();
        assert_eq!(cat.find("110.dynamic-html").unwrap().id, "110.dynamic-html");
        assert_eq!(cat.find("dynamic-html").unwrap().id, "110.dynamic-html");
        assert_eq!(cat.find("120").unwrap().id, "120.uploader");
        let b = cat.find("110.dynamic-html").unwrap();
        assert_eq!(b.languages(), vec!["python", "nodejs"]);
        match cat.find("110.dynamic-htm").unwrap_err() {
            CatalogueError::Unknown { suggestions, .. } => {
                assert_eq!(suggestions[0], "110.dynamic-html")
            }
            other => panic!("{other}"),
        }
        let text = cat.find("upload").unwrap_err().to_string();
        assert!(text.contains("`120.uploader`"), "{text}");
    }

    #[test]
    fn bad_config_names_the_field() {
        let tmp = tempfile::tempdir().unwrap();
        write_bench(
            tmp.path(),
            "g",
            "1.x",
            r#"{"timeout": "ten", "memory": 1, "languages": []}"#,
        );
        let err = Catalogue::open(tmp.path())
            .unwrap()
            .find("1.x")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`timeout`"), "{text}");
    }

    /// A benchmark's memory and timeout are range-checked like `--memory` and `--timeout`.
    #[test]
    fn memory_and_timeout_out_of_the_flag_ranges_are_rejected_with_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        for (config, key, shown) in [
            (
                r#"{"timeout": 10, "memory": 0, "languages": []}"#,
                "`memory`",
                "0 MB",
            ),
            (
                r#"{"timeout": 10, "memory": 999999, "languages": []}"#,
                "`memory`",
                "999999 MB",
            ),
            (
                r#"{"timeout": 0, "memory": 128, "languages": []}"#,
                "`timeout`",
                "0 s",
            ),
            (
                r#"{"timeout": 999999, "memory": 128, "languages": []}"#,
                "`timeout`",
                "999999 s",
            ),
        ] {
            write_bench(tmp.path(), "g", "1.x", config);
            let text = Catalogue::open(tmp.path())
                .unwrap()
                .find("1.x")
                .unwrap_err()
                .to_string();
            assert!(
                text.contains("config.json")
                    && text.contains(&format!("{key}: {shown} is out of range")),
                "{text}"
            );
        }
        write_bench(
            tmp.path(),
            "g",
            "1.x",
            r#"{"timeout": 900, "memory": 10240, "languages": []}"#,
        );
        assert!(Catalogue::open(tmp.path()).unwrap().find("1.x").is_ok());
    }

    #[test]
    fn runs_input_script() {
        let tmp = tempfile::tempdir().unwrap();
        write_bench(tmp.path(), "g", "1.x", CONFIG);
        let bench = Catalogue::open(tmp.path()).unwrap().find("1.x").unwrap();
        let python = crate::python::find(None).unwrap();
        let script = InputScript {
            benchmark: &bench,
            python: &python,
            data_dir: None,
        };
        let generated = script.generate(Size::Small, Some("bucket")).unwrap();
        assert_eq!(generated.input["size"], "small");
        assert_eq!(generated.buckets_count, (1, 2));
        assert_eq!(generated.output_paths, vec!["1.x-0-output", "1.x-1-output"]);
        assert_eq!(generated.uploads.len(), 1);
        assert_eq!(
            script
                .validate(&Value::Null, &1.into(), Language::Python)
                .unwrap(),
            None
        );
        assert_eq!(
            script
                .validate(&Value::Null, &2.into(), Language::Python)
                .unwrap(),
            Some("wanted 1".into())
        );
    }

    #[test]
    fn input_script_exception_carries_traceback() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_bench(tmp.path(), "g", "1.x", CONFIG);
        std::fs::write(
            dir.join("input.py"),
            "def generate_input(*a):\n    raise KeyError('nope')\n",
        )
        .unwrap();
        let bench = Catalogue::open(tmp.path()).unwrap().find("1.x").unwrap();
        let python = crate::python::find(None).unwrap();
        let err = InputScript {
            benchmark: &bench,
            python: &python,
            data_dir: None,
        }
        .generate(Size::Test, None)
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("KeyError") && err.contains("Traceback"),
            "{err}"
        );
    }
}
