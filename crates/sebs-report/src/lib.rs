//! Reports of `sebs` results: provider metrics filled into result files ([`process`]),
//! statistics tables ([`statistics`]), invocation summaries ([`summary`]), JSON and CSV exports
//! ([`files`], [`csv`]), plots ([`plot`]), traces of profiled invocations ([`trace`]: OTLP JSON
//! and per-request timelines) and the stability view of scheduled runs ([`stability`]).
//!
//! Everything here works on the result model of `sebs-core` and files on disk; nothing depends
//! on a platform or an experiment, so every command and experiment shares one implementation.
#![warn(missing_docs, rust_2018_idioms)]

pub mod chart;
pub mod compare;
pub mod csv;
pub mod dataset;
pub mod export;
pub mod files;
pub mod html;
pub mod plot;
pub mod process;
pub mod rundir;
pub mod significance;
pub mod stability;
pub mod statistics;
pub mod summary;
pub mod synthetic;
pub mod table;
pub mod trace;
pub mod workflows;

pub use export::ExportFormat;
pub use files::{result_files, write_json};
pub use plot::{bin_counts, histogram_png};
pub use process::{fill, request_ids, strip_payloads};
pub use statistics::{benchmark_statistics, client_statistics, experiment_statistics};
pub use summary::{format_us, invocation_summary};

/// How a statistics report is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned tables for a terminal.
    #[default]
    Text,
    /// One pretty-printed JSON object.
    Json,
}

impl OutputFormat {
    /// Every format.
    pub const ALL: [OutputFormat; 2] = [OutputFormat::Text, OutputFormat::Json];

    /// The format's name (`text`, `json`), as `--output-format` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
        }
    }
}
