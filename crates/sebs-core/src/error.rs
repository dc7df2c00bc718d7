//! Typed errors of the core crate. Each variant carries the offending value and says how to fix it.

use std::path::PathBuf;

/// Errors loading a user config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("config file {} is not valid JSON: {message} at line {line}, column {column}", path.display())]
    Syntax {
        /// The config path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A value has the wrong type or is not allowed.
    #[error("config file {}: `{json_path}`: {message}", path.display())]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// Where in the document, e.g. `experiments.runtime.language`.
        json_path: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// Errors finding or reading benchmarks.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The catalogue directory does not exist.
    #[error("benchmark directory {} does not exist; pass --benchmarks-dir DIR pointing at a SeBS-style catalogue (GROUP/ID/config.json)", .0.display())]
    MissingRoot(PathBuf),
    /// No benchmark has this name.
    #[error("unknown benchmark `{name}`{}; run `sebs benchmark list` to see all", suggest(.suggestions))]
    Unknown {
        /// What the user asked for.
        name: String,
        /// The closest names.
        suggestions: Vec<String>,
    },
    /// A benchmark's config.json is broken.
    #[error("benchmark {id}: {} is invalid: {message}", path.display())]
    BadConfig {
        /// Benchmark id.
        id: String,
        /// The config.json path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A size other than test/small/large.
    #[error("unknown input size `{0}`: expected one of test, small, large")]
    UnknownSize(String),
    /// The benchmark is not written in the requested language.
    #[error("benchmark {id} has no {language} implementation (it has: {available}); pass --language {first}", first = .available.split(", ").next().unwrap_or("python"))]
    NoLanguage {
        /// Benchmark id.
        id: String,
        /// Requested language.
        language: String,
        /// Languages it has.
        available: String,
    },
    /// config.json lists the language but its source directory is missing.
    #[error("benchmark {id} lists {language} in config.json but has no {language} sources: add {} (with function.*) or remove {language} from `languages`", .dir.display())]
    MissingSources {
        /// Benchmark id.
        id: String,
        /// The language.
        language: String,
        /// The missing directory.
        dir: PathBuf,
    },
    /// Running input.py failed.
    #[error("input.py of {id} failed in {step}: {message}")]
    InputScript {
        /// Benchmark id.
        id: String,
        /// `generate_input`, `validate_output`, ...
        step: String,
        /// The Python exception or driver failure, with traceback.
        message: String,
    },
}

fn suggest(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(
            " (did you mean one of {}?)",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Errors finding a Python interpreter.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// No `python3` at all.
    #[error("no Python 3 interpreter found on PATH; install Python >= 3.9 with pip")]
    NoneFound,
    /// The requested version is not installed.
    #[error("Python {requested} is not installed on this machine (found: {}); install it or pass --language-version {}", found_list(.found), .suggested.as_deref().unwrap_or("X.Y"))]
    VersionNotFound {
        /// The requested `X.Y`.
        requested: String,
        /// Installed versions and paths, newest first.
        found: Vec<(String, PathBuf)>,
        /// The version to suggest (the host default, else the newest).
        suggested: Option<String>,
    },
    /// The version string is malformed.
    #[error("invalid Python version `{0}`: expected MAJOR.MINOR, e.g. 3.11")]
    BadVersion(String),
}

/// Errors finding a Node.js interpreter.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No `node` at all.
    #[error(
        "no Node.js found on PATH; install Node.js 20 (with npm) to build and run Node.js benchmarks, or pass --language python"
    )]
    NoneFound,
    /// The requested version is not installed.
    #[error("Node.js {requested} is not installed on this machine (found: {}); install it or pass --language-version {}", found_node(.found), .suggested.as_deref().unwrap_or("MAJOR"))]
    VersionNotFound {
        /// The requested version, as given.
        requested: String,
        /// Installed versions (`MAJOR.MINOR.PATCH`) and paths, newest first.
        found: Vec<(String, PathBuf)>,
        /// The major version to suggest (the `node` on PATH, else the newest).
        suggested: Option<String>,
    },
    /// The version string is malformed.
    #[error("invalid Node.js version `{0}`: expected a major version, e.g. 20")]
    BadVersion(String),
}

fn found_node(found: &[(String, PathBuf)]) -> String {
    if found.is_empty() {
        return "none".into();
    }
    found
        .iter()
        .map(|(v, p)| format!("{v} at {}", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn found_list(found: &[(String, PathBuf)]) -> String {
    if found.is_empty() {
        return "none".into();
    }
    found
        .iter()
        .map(|(v, _)| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
