//! The benchmark catalogue: SeBS's directory layout (`GROUP/ID/config.json`, `input.py`,
//! `<language>/function.*`), lookup with suggestions, and input generation and output validation
//! through the benchmark's `input.py`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Language;
use crate::error::CatalogueError;

pub use crate::input_script::{
    DriverStorage, GeneratedInput, INPUT_DRIVER, InputScript, NosqlWriteRaw,
};

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

/// What a benchmark is: one function (SeBS's benchmarks) or a workflow of several
/// (SeBS-Flow's, `"type": "workflow"` with a `definition.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchmarkKind {
    /// One function (`function.py` / `function.js`): the default.
    #[default]
    Function,
    /// A workflow: `definition.json` names the functions, `python/<func_name>.py` each.
    Workflow,
}

/// A benchmark's `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchmarkConfig {
    /// `"workflow"` for a SeBS-Flow workflow; absent (or `"function"`) for one function.
    #[serde(rename = "type", default, skip_serializing_if = "is_function")]
    pub kind: BenchmarkKind,
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

fn is_function(kind: &BenchmarkKind) -> bool {
    *kind == BenchmarkKind::Function
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
        if config.kind == BenchmarkKind::Workflow {
            check_workflow(dir, &config).map_err(bad)?;
        }
        Ok(Benchmark {
            id,
            group,
            dir: dir.to_owned(),
            config,
        })
    }

    /// Whether it is a workflow (`"type": "workflow"`).
    pub fn is_workflow(&self) -> bool {
        self.config.kind == BenchmarkKind::Workflow
    }

    /// A workflow's `definition.json`.
    pub fn definition_path(&self) -> PathBuf {
        self.dir.join("definition.json")
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

/// What a workflow benchmark needs beside config.json: its definition, Python only.
fn check_workflow(dir: &Path, config: &BenchmarkConfig) -> Result<(), String> {
    if !dir.join("definition.json").is_file() {
        return Err("a workflow (`\"type\": \"workflow\"`) needs a definition.json next to config.json (SeBS-Flow's format: {\"root\": ..., \"states\": {...}}; see docs/workflows.md)".into());
    }
    if let Some(other) = config
        .languages
        .iter()
        .map(|l| l.name())
        .find(|l| *l != "python")
    {
        return Err(format!(
            "`languages`: workflows run Python functions (`python/<func_name>.py`), not {other}; list only \"python\""
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::PythonInterpreter;
    use serde_json::Value;

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
    fn workflows_need_a_definition_and_python_only() {
        let tmp = tempfile::tempdir().unwrap();
        let wf = r#"{"type": "workflow", "timeout": 10, "memory": 128, "languages": ["python"]}"#;
        let dir = write_bench(tmp.path(), "600.workflows", "620.func-invo", wf);
        let err = Benchmark::load(&dir).unwrap_err().to_string();
        assert!(err.contains("needs a definition.json"), "{err}");
        std::fs::write(dir.join("definition.json"), "{}").unwrap();
        let bench = Benchmark::load(&dir).unwrap();
        assert!(bench.is_workflow());
        assert_eq!(bench.definition_path(), dir.join("definition.json"));
        let node = wf.replace(r#"["python"]"#, r#"["python", "nodejs"]"#);
        std::fs::write(dir.join("config.json"), node).unwrap();
        let err = Benchmark::load(&dir).unwrap_err().to_string();
        assert!(err.contains("workflows run Python functions"), "{err}");
        let plain = write_bench(tmp.path(), "000.x", "010.y", CONFIG);
        assert!(!Benchmark::load(&plain).unwrap().is_workflow());
        let bad = r#"{"type": "flow", "timeout": 10, "memory": 128, "languages": ["python"]}"#;
        let dir = write_bench(tmp.path(), "000.x", "020.z", bad);
        let err = Benchmark::load(&dir).unwrap_err().to_string();
        assert!(err.contains("`type`") && err.contains("workflow"), "{err}");
    }

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
            cache_dir: None,
        };
        let generated = script.generate(Size::Small, Some("bucket")).unwrap();
        assert_eq!(generated.input["size"], "small");
        assert_eq!(generated.buckets_count, (1, 2));
        assert_eq!(generated.output_paths, vec!["1.x-0-output", "1.x-1-output"]);
        assert_eq!(generated.uploads.len(), 1);
        // validate_output gets the wrapper response's `result`, as in SeBS.
        let response = |v: Value| serde_json::json!({"is_cold": true, "result": v});
        assert_eq!(
            script
                .validate(&Value::Null, &response(1.into()), Language::Python)
                .unwrap(),
            None
        );
        assert_eq!(
            script
                .validate(&Value::Null, &response(2.into()), Language::Python)
                .unwrap(),
            Some("wanted 1".into())
        );
    }

    fn script_for<'a>(
        bench: &'a Benchmark,
        python: &'a PythonInterpreter,
        cache_dir: Option<&'a Path>,
    ) -> InputScript<'a> {
        InputScript {
            benchmark: bench,
            python,
            data_dir: None,
            cache_dir,
        }
    }

    #[test]
    fn generate_input_gets_sebs_arguments() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_bench(tmp.path(), "g", "1.x", CONFIG);
        // Without buckets_count() and allocate_nosql(), SeBS passes no bucket, no prefixes and no
        // upload or NoSQL functions.
        std::fs::write(
            dir.join("input.py"),
            "def generate_input(data_dir, size, bucket, inp, out, upload, nosql):\n    \
             return {'bucket': bucket, 'inp': inp, 'out': out, 'upload': upload is None, 'nosql': nosql is None}\n",
        )
        .unwrap();
        let bench = Catalogue::open(tmp.path()).unwrap().find("1.x").unwrap();
        let python = crate::python::find(None).unwrap();
        let generated = script_for(&bench, &python, None)
            .generate(Size::Test, Some("bucket"))
            .unwrap();
        assert_eq!(
            generated.input,
            serde_json::json!({"bucket": null, "inp": [], "out": [], "upload": true, "nosql": true})
        );
    }

    #[test]
    fn validate_output_signatures_of_every_sebs_version() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_bench(tmp.path(), "g", "1.x", CONFIG);
        let bench = Catalogue::open(tmp.path()).unwrap().find("1.x").unwrap();
        let python = crate::python::find(None).unwrap();
        let response = serde_json::json!({"begin": "1", "end": "2", "is_cold": false,
            "result": {"result": 7, "measurement": {"compute_time": 3}}});
        let input = serde_json::json!({"want": 7});
        // Each signature SeBS has used; each checks it got the function's return value.
        for (signature, body) in [
            (
                "input_config, output",
                "return output['result'] == input_config['want']",
            ),
            (
                "input_config, output, storage=None",
                "return storage is None and output['result'] == 7",
            ),
            (
                "input_config, output, language, storage=None",
                "return None if language == 'python' and output['measurement'] else 'bad'",
            ),
            (
                "data_dir, input_config, output, language, architecture, storage=None",
                "return None if architecture in ('x64', 'arm64') and data_dir is None else 'bad'",
            ),
            (
                "data_dir, input_config, output, language, storage=None",
                "return None if output == {'result': 7, 'measurement': {'compute_time': 3}} else repr(output)",
            ),
        ] {
            std::fs::write(
                dir.join("input.py"),
                format!("def validate_output({signature}):\n    {body}\n"),
            )
            .unwrap();
            let verdict = script_for(&bench, &python, None)
                .validate(&input, &response, Language::Python)
                .unwrap();
            assert_eq!(verdict, None, "validate_output({signature})");
        }
        std::fs::write(
            dir.join("input.py"),
            "def validate_output(input_config, output):\n    return False\n",
        )
        .unwrap();
        let verdict = script_for(&bench, &python, None)
            .validate(&input, &response, Language::Python)
            .unwrap();
        assert_eq!(verdict.as_deref(), Some("validate_output returned False"));
        std::fs::write(
            dir.join("input.py"),
            "def validate_output(input_config, output, answer):\n    return None\n",
        )
        .unwrap();
        let err = script_for(&bench, &python, None)
            .validate(&input, &response, Language::Python)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("parameter 'answer'") && err.contains("input_config"),
            "{err}"
        );
    }

    #[test]
    fn third_party_import_missing_from_the_environment_names_the_package() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_bench(tmp.path(), "g", "1.x", CONFIG);
        // Imported inside a function, after an optional (guarded) import of another module
        // the environment lacks: only the required one is an error.
        std::fs::write(
            dir.join("input.py"),
            "import os, json\nimport helper\n\ndef validate_output(input_config, output):\n    \
             try:\n        import sebs_optional_module\n    except ImportError:\n        pass\n    \
             import sebs_no_such_module.sub\n",
        )
        .unwrap();
        std::fs::write(dir.join("helper.py"), "").unwrap();
        let bench = Catalogue::open(tmp.path()).unwrap().find("1.x").unwrap();
        let python = crate::python::find(None).unwrap();
        // A ready environment in the cache: the base interpreter, marked ready.
        let cache = tmp.path().join("cache");
        let env = crate::input_env::location(&cache, &python, &crate::input_env::requirements());
        std::fs::create_dir_all(env.join("bin")).unwrap();
        std::os::unix::fs::symlink(&python.path, env.join("bin/python")).unwrap();
        std::fs::write(env.join("sebs-input-env.json"), "{}").unwrap();
        assert!(crate::input_env::ready(&cache, &python).is_some());
        for cache_dir in [None, Some(cache.as_path())] {
            let err = script_for(&bench, &python, cache_dir)
                .validate(
                    &Value::Null,
                    &serde_json::json!({"result": 1}),
                    Language::Python,
                )
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("imports `sebs_no_such_module`,")
                    && err.contains("SEBS_INPUT_REQUIREMENTS=\"sebs_no_such_module\""),
                "{err}"
            );
            assert!(!err.contains("sebs_optional_module"), "{err}");
        }
        // Only the optional import left: it runs, and the guard decides.
        std::fs::write(
            dir.join("input.py"),
            "def validate_output(input_config, output):\n    try:\n        \
             from sebs_optional_module import x\n    except (ValueError, ImportError):\n        \
             return True\n",
        )
        .unwrap();
        let verdict = script_for(&bench, &python, Some(&cache))
            .validate(
                &Value::Null,
                &serde_json::json!({"result": 1}),
                Language::Python,
            )
            .unwrap();
        assert_eq!(verdict, None);
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
            cache_dir: None,
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
