//! The command-line interface (clap derive). Doc comments are the help text.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use sebs_core::config::{ColdStartMode, Language};
use sebs_experiments::ExperimentKind;
use sebs_platforms::TriggerKind;
use sebs_report::OutputFormat;

const AFTER_HELP: &str = "Documentation: docs/ in the sebs repository (one page per command).\n\nExit status: 0 success, 1 error, 2 invalid arguments (the usage error is printed); commands that run invocations document more in their --help.";

/// sebs: the Serverless Benchmark Suite. Build, deploy and invoke representative FaaS
/// benchmarks on the embedded local platform, and turn the measurements into statistics.
#[derive(Debug, Parser)]
#[command(name = "sebs", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// More logging on stderr: -v for debug, -vv for trace (RUST_LOG overrides).
    #[arg(short, long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Less logging on stderr: only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to use colours on stderr.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Record every run in this results store (a SQLite file or a postgres:// URL; also
    /// SEBS_STORE or the config's `store` key). Docs: docs/db.md
    #[arg(long, value_name = "URL", global = true)]
    pub store: Option<String>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command is a background service (`local serve`, `storage serve`), whose
    /// log is a file read later.
    pub fn is_daemon(&self) -> bool {
        matches!(
            self.command,
            Command::Local(LocalCommand::Serve(_))
                | Command::Storage(crate::storage_cmd::StorageCommand::Serve(_))
        )
    }
}

/// Colour choice.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colours when stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, deploy, invoke and analyse single benchmarks.
    #[command(subcommand)]
    Benchmark(BenchmarkCommand),
    /// Run the local FaaS platform as a daemon.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Run object storage and NoSQL as a background service.
    #[command(subcommand)]
    Storage(crate::storage_cmd::StorageCommand),
    /// Benchmark input data.
    #[command(subcommand)]
    Data(crate::data_cmd::DataCommand),
    /// Run experiments (perf-cost, invocation-overhead, network-ping-pong, eviction-model) and
    /// process their results.
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// List and delete what sebs created on a platform (functions, URLs, roles, buckets,
    /// tables, log groups).
    #[command(subcommand)]
    Resources(crate::resources_cmd::ResourcesCommand),
    /// Write a self-contained HTML report (tables, plots, configuration, failures) of results.
    #[command(after_help = "Docs: docs/report.md")]
    Report(crate::report_cmd::ReportArgs),
    /// Compare two runs: median ratio with a bootstrap interval and a Mann-Whitney U test.
    #[command(
        after_help = "Docs: docs/compare.md\n\nExit status: 0 no significant regression (or no --fail-on-regression), 1 error, 2 invalid arguments, 4 a significant slowdown beyond --fail-on-regression."
    )]
    Compare(crate::report_cmd::CompareArgs),
    /// The results store: import results directories, query them with SQL, migrate the schema.
    #[command(subcommand)]
    Db(crate::db_cmd::DbCommand),
    /// Stability studies: a suite run every interval for days, resumably, in the store.
    #[command(subcommand)]
    Stability(crate::stability_cmd::StabilityCommand),
}

/// A value parser for one of a library's enums: the values, their names and their order are the
/// library's (`all`, `name`); only the help text of each (`help`) is the command line's.
fn choice<T>(
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static,
{
    PossibleValuesParser::new(
        all.iter()
            .map(move |&value| PossibleValue::new(name(value)).help(help(value))),
    )
    .map(move |chosen| {
        *all.iter()
            .find(|&&value| name(value) == chosen)
            .expect("the parser accepts only these names")
    })
}

/// The experiments, with their help text.
fn experiments() -> impl TypedValueParser<Value = ExperimentKind> {
    choice(
        &ExperimentKind::ALL,
        ExperimentKind::as_str,
        |kind| match kind {
            ExperimentKind::PerfCost => {
                "Performance and cost: cold, warm, burst and sequential invocations over memory sizes"
            }
            ExperimentKind::InvocationOverhead => {
                "Invocation overhead: UDP clock synchronisation with the function over payload and code-package size sweeps, warm and cold"
            }
            ExperimentKind::NetworkPingPong => {
                "UDP round trips between the driver and concurrent function instances"
            }
            ExperimentKind::EvictionModel => {
                "When idle instances are evicted, as a function of idle time"
            }
            ExperimentKind::Scaling => {
                "Open-loop load (constant, Poisson, step, ramp, burst, sinusoid, Azure trace replay): throughput, latency, cold starts and instances over time"
            }
            ExperimentKind::TriggerLatency => {
                "Send-to-entry latency per trigger (http, library, storage, queue), clock-offset corrected, sequential and in bursts"
            }
        },
    )
}

/// How to invoke the function: the triggers, with their help text.
fn triggers() -> impl TypedValueParser<Value = TriggerKind> {
    choice(&TriggerKind::ALL, TriggerKind::as_str, |kind| match kind {
        TriggerKind::Http => "An HTTP POST to the function's URL",
        TriggerKind::Library => "The provider's invoke API (AWS Lambda Invoke)",
        TriggerKind::Storage => {
            "An object upload whose notification starts the function (local, aws)"
        }
        TriggerKind::Queue => "A queue message an event source delivers (local, aws)",
    })
}

/// Output format for listings and statistics, with the help text of each.
fn output_formats() -> impl TypedValueParser<Value = OutputFormat> {
    choice(
        &OutputFormat::ALL,
        OutputFormat::as_str,
        |format| match format {
            OutputFormat::Text => "A table for people",
            OutputFormat::Json => "JSON for programs",
        },
    )
}

/// `sebs experiment ...`
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Run an experiment; every completed invocation is journaled as it finishes.
    #[command(
        after_help = "Docs: docs/experiments.md\n\nExit status: 0 done, 1 error, 2 invalid arguments, 130 interrupted by Ctrl-C, 143 stopped by SIGTERM (completed samples are kept either way; continue with --resume)."
    )]
    Invoke(Box<ExperimentInvokeArgs>),
    /// Process an experiment's results into processed JSON and CSV files.
    #[command(after_help = "Docs: docs/experiments.md")]
    Process(ExperimentProcessArgs),
    /// Statistics of processed results in a directory.
    #[command(after_help = "Docs: docs/experiments.md")]
    Statistics(ExperimentStatisticsArgs),
}

/// `sebs experiment invoke`.
#[derive(Debug, Args)]
pub struct ExperimentInvokeArgs {
    /// The experiment.
    #[arg(value_parser = experiments())]
    pub experiment: ExperimentKind,
    /// Continue an interrupted run in the same --output-dir up to the requested sample counts.
    /// Refused when the settings that decide what a sample measures (benchmark, input size,
    /// memory sizes, types, language, deployment, ...) differ from the journal's.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: continue even though the settings changed, mixing samples of both
    /// settings in one run (the changed keys are recorded in journal.meta.json).
    #[arg(long, requires = "resume")]
    pub force: bool,
    /// Storage to use (the JSON `sebs storage start --output-json` writes); repeatable.
    #[arg(long, value_name = "FILE")]
    pub storage_configuration: Vec<PathBuf>,
    /// Local platform options.
    #[command(flatten)]
    pub local: LocalPlatformArgs,
    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sebs experiment process`.
#[derive(Debug, Args)]
pub struct ExperimentProcessArgs {
    /// The experiment.
    #[arg(value_parser = experiments())]
    pub experiment: ExperimentKind,
    /// The directory the experiment wrote into (its --output-dir).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// Cache directory of the run (for the platform's metrics log).
    #[arg(long, value_name = "DIR", default_value = "cache")]
    pub cache: PathBuf,
    /// Widen the metrics time window by this many minutes (SeBS's option; accepted and
    /// ignored with a warning: every platform here matches records by request id).
    #[arg(long, value_name = "MINUTES", allow_negative_numbers = true)]
    pub extend_time_interval: Option<i64>,
    /// SeBS user config: its `deployment` section tells processing how to reach the platform.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `sebs experiment statistics`.
#[derive(Debug, Args)]
pub struct ExperimentStatisticsArgs {
    /// A directory with processed results (`*processed*.json`), e.g. out/perf-cost.
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, visible_alias = "format", value_parser = crate::report_cmd::export_formats(), default_value = "text")]
    pub output_format: sebs_report::ExportFormat,
}

/// `sebs local ...`
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Build and deploy a benchmark on a local platform in the background, and write OUTPUT
    /// (SeBS's JSON: `functions[].url`, `inputs`, `storage`).
    #[command(after_help = "Docs: docs/local.md")]
    Start(Box<LocalStartArgs>),
    /// Stop a platform started with `sebs local start`, and everything it started; writes the
    /// memory statistics when measured.
    #[command(after_help = "Docs: docs/local.md")]
    Stop(LocalStopArgs),
    /// Like `start`, in the foreground (Ctrl-C stops it).
    #[command(after_help = "Docs: docs/local.md")]
    Serve(Box<LocalStartArgs>),
    /// A minimal HTTP server that answers every request with its body: the floor the
    /// benchmark script compares the gateway against.
    #[command(hide = true)]
    Echo {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

/// `sebs local start` / `serve`.
#[derive(Debug, Args)]
pub struct LocalStartArgs {
    /// Benchmark id.
    pub benchmark: String,
    /// Input size: test, small or large.
    pub size: String,
    /// Where to write the deployment JSON.
    pub output: PathBuf,
    /// Number of functions to deploy (each its own name).
    #[arg(long, default_value_t = 1, value_parser = parse_deployments)]
    pub deployments: usize,
    /// Sample the instances' memory every MS milliseconds (-1: off).
    #[arg(long, value_name = "MS", default_value_t = -1, allow_negative_numbers = true)]
    pub measure_interval: i64,
    /// Gateway port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Storage to use (the JSON `sebs storage start --output-json` writes); repeatable.
    #[arg(long, value_name = "FILE")]
    pub storage_configuration: Vec<PathBuf>,
    /// Function memory in MB (overrides the benchmark's config.json).
    #[arg(long, value_name = "MB", value_parser = sebs_core::limits::parse_memory_mb)]
    pub memory: Option<u64>,
    /// Function timeout in seconds (overrides the benchmark's config.json).
    #[arg(long, value_name = "SECONDS", value_parser = sebs_core::limits::parse_timeout_s)]
    pub timeout: Option<u64>,
    /// Local platform options.
    #[command(flatten)]
    pub local: LocalPlatformArgs,
    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sebs local stop`.
#[derive(Debug, Args)]
pub struct LocalStopArgs {
    /// The JSON `sebs local start` wrote.
    pub input: PathBuf,
    /// Where to write memory statistics (when `--measure-interval` was given).
    #[arg(default_value = "memory_stats.json")]
    pub output: PathBuf,
}

/// `sebs benchmark ...`
#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Generate the input, build and deploy the function, invoke it N times, and write
    /// `<output-dir>/experiments.json`.
    #[command(
        after_help = "Docs: docs/benchmark-invoke.md\n\nExit status: 0 all invocations succeeded, 1 error, 2 invalid arguments, 3 some invocations failed or did not validate, 130 interrupted by Ctrl-C, 143 stopped by SIGTERM (results so far are written either way)."
    )]
    Invoke(Box<InvokeArgs>),
    /// Build a benchmark's code package without deploying it; prints its path and size.
    #[command(after_help = "Docs: docs/benchmark-package.md")]
    Package(PackageArgs),
    /// Fill provider times, billing and memory used from the platform's records:
    /// `<output-dir>/experiments.json` → `<output-dir>/results.json`.
    #[command(after_help = "Docs: docs/benchmark-process.md")]
    Process(ProcessArgs),
    /// List the benchmarks of the catalogue.
    #[command(after_help = "Docs: docs/benchmark-list.md")]
    List(ListArgs),
    /// Cold vs warm statistics (mean, median, std, CV) of a result file.
    #[command(after_help = "Docs: docs/benchmark-statistics.md")]
    Statistics(StatisticsArgs),
    /// Run every benchmark x language of the catalogue (each config.json's `languages`) with
    /// validation, print a pass/fail table and write one JSON per test.
    #[command(
        after_help = "Docs: docs/benchmark-regression.md\n\nExit status: 0 every test passed, 1 a test failed (or an error), 2 invalid arguments."
    )]
    Regression(Box<RegressionArgs>),
    /// Write the traces of profiled invocations (`@fp.profile()`) as OpenTelemetry OTLP JSON
    /// files, one per application request.
    #[command(after_help = "Docs: docs/profiling.md")]
    Traces(TracesArgs),
}

/// `sebs benchmark traces`.
#[derive(Debug, Args)]
pub struct TracesArgs {
    /// A results directory (`--output-dir` of `benchmark invoke`) or a result file.
    pub input: PathBuf,
    /// Where to write `<trace id>.otlp.json` files (default: `traces/` next to the results).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// `sebs benchmark regression`.
#[derive(Debug, Args)]
pub struct RegressionArgs {
    /// Input size every test uses: test, small or large (SeBS always uses `test`; sebs uses
    /// the size given).
    pub size: String,

    /// Run only benchmarks whose id contains this text (e.g. `graph`, `210.thumbnailer`).
    #[arg(long, value_name = "TEXT")]
    pub benchmark_name: Option<String>,

    /// Tests run at the same time.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub jobs: u64,

    /// Invocations per test; every one must succeed and validate.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub repetitions: u64,

    /// Trigger to invoke through.
    #[arg(long, value_parser = triggers(), default_value = "http")]
    pub trigger: TriggerKind,

    /// Storage to use (the JSON `sebs storage start --output-json` writes); repeatable. Without
    /// it, `deployment.local.storage` or embedded servers shared by all tests.
    #[arg(long, value_name = "FILE")]
    pub storage_configuration: Vec<PathBuf>,

    /// Local platform options.
    #[command(flatten)]
    pub local: LocalPlatformArgs,

    /// Common options (`--cache` defaults to ./regression-cache when left at its default;
    /// `--language` restricts the matrix to one language).
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options shared by commands that build or deploy (SeBS's "common" options).
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// SeBS user config JSON (optional: without it, deployment `local`, language `python` and
    /// the host's Python version are used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for results (created).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,

    /// Cache directory for code packages and deployments.
    #[arg(long, value_name = "DIR", default_value = "cache")]
    pub cache: PathBuf,

    /// Benchmark language (overrides `experiments.runtime.language`).
    #[arg(long, value_parser = parse_language)]
    pub language: Option<Language>,

    /// Language version, e.g. 3.11 (overrides `experiments.runtime.version`).
    #[arg(long, value_name = "VERSION")]
    pub language_version: Option<String>,

    /// Platform to deploy to (overrides `deployment.name`): `local`, and `aws`, `openwhisk`,
    /// `knative` in builds with the feature of that name; SeBS's other names (azure, gcp) are
    /// recognised and refused with an explanation.
    #[arg(long, value_name = "NAME")]
    pub deployment: Option<String>,

    /// Send every AWS request to this endpoint (an emulator: `sebs local start`, moto), as the
    /// AWS CLI's option (overrides `deployment.aws.endpoint-url`; `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_<SERVICE>` also work).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Rebuild the code package even if the cached one is current.
    #[arg(long)]
    pub update_code: bool,

    /// Benchmark catalogue directory (overrides `experiments.benchmarks_dir`; default
    /// ./benchmarks, else the catalogue sebs was built with).
    #[arg(long, value_name = "DIR")]
    pub benchmarks_dir: Option<PathBuf>,

    /// Upload benchmark inputs to object storage even when they are already there.
    #[arg(long)]
    pub update_storage: bool,

    /// A benchmarks-data checkout (or a tree from `sebs data generate --dir`) instead of the
    /// data sebs generates in `<cache>/benchmarks-data` on first use.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn parse_language(s: &str) -> Result<Language, String> {
    s.parse()
}

/// `sebs benchmark invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Benchmark id, e.g. 110.dynamic-html (or its name or number alone).
    pub benchmark: String,
    /// Input size: test, small or large.
    pub size: String,

    /// Number of invocations.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub repetitions: u64,

    /// Trigger to invoke through.
    #[arg(long, value_parser = triggers(), default_value = "http")]
    pub trigger: TriggerKind,

    /// Function memory in MB (overrides the benchmark's config.json).
    #[arg(long, value_name = "MB", value_parser = sebs_core::limits::parse_memory_mb)]
    pub memory: Option<u64>,

    /// Function timeout in seconds (overrides the benchmark's config.json).
    #[arg(long, value_name = "SECONDS", value_parser = sebs_core::limits::parse_timeout_s)]
    pub timeout: Option<u64>,

    /// Function name (default: sebs-local-<benchmark>-<language>-<version>).
    #[arg(long)]
    pub function_name: Option<String>,

    /// Check every successful invocation with the benchmark's validate_output().
    #[arg(long)]
    pub validate: bool,

    /// Local platform options.
    #[command(flatten)]
    pub local: LocalPlatformArgs,
    /// Storage to use (the JSON `sebs storage start --output-json` writes); repeatable, later
    /// files add the sections earlier ones lack. Without it, `deployment.local.storage` or
    /// embedded servers started for this run.
    #[arg(long, value_name = "FILE")]
    pub storage_configuration: Vec<PathBuf>,

    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of the local platform (override `deployment.local`).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Local platform")]
pub struct LocalPlatformArgs {
    /// How cold starts create instances: `exec` a fresh interpreter (what a cloud cold start
    /// is) or `fork` from a zygote that has imported the function.
    #[arg(long, value_name = "MODE", value_parser = parse_cold_start)]
    pub cold_start: Option<ColdStartMode>,

    /// Seconds an idle instance is kept for reuse (0: never reuse).
    #[arg(long, value_name = "SECONDS")]
    pub keep_alive: Option<f64>,

    /// Maximum concurrent executions per function.
    #[arg(long, value_name = "N")]
    pub concurrency_limit: Option<usize>,

    /// Give instances a CPU share proportional to memory (1 vCPU at 1769 MB), as Lambda does.
    #[arg(long)]
    pub cpu_share: bool,

    /// Isolate instances in mount (private /tmp) and network namespaces where the host allows.
    #[arg(long)]
    pub namespaces: bool,

    /// Microseconds the gateway and instances busy-poll for the next message before sleeping,
    /// while at most half of the CPUs are busy with invocations (default 200; 0: never).
    #[arg(long, value_name = "MICROSECONDS")]
    pub busy_poll_us: Option<u64>,
}

fn parse_deployments(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of deployments between 1 and 100"
        )),
    }
}

fn parse_cold_start(s: &str) -> Result<ColdStartMode, String> {
    s.parse()
}

/// `sebs benchmark process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Directory holding experiments.json (results.json is written next to it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// Cache directory of the run (for its metrics log, if the results do not name it).
    #[arg(long, value_name = "DIR", default_value = "cache")]
    pub cache: PathBuf,
    /// SeBS user config: its `deployment` section tells processing how to reach the platform.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `sebs benchmark package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Benchmark id.
    pub benchmark: String,
    /// Common options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sebs benchmark list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Benchmark catalogue directory.
    #[arg(long, value_name = "DIR")]
    pub benchmarks_dir: Option<PathBuf>,
    /// SeBS user config (for `experiments.benchmarks_dir`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_parser = output_formats(), default_value = "text")]
    pub output_format: OutputFormat,
}

/// `sebs benchmark statistics`.
#[derive(Debug, Args)]
pub struct StatisticsArgs {
    /// A result file (experiments.json or results.json).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, visible_alias = "format", value_parser = crate::report_cmd::export_formats(), default_value = "text")]
    pub output_format: sebs_report::ExportFormat,
}

impl CommonArgs {
    /// The library's options: these flags, and the local platform's flags if the command has
    /// them.
    pub fn options(&self, local: Option<&LocalPlatformArgs>) -> sebs_platforms::RunOptions {
        sebs_platforms::RunOptions {
            config: self.config.clone(),
            output_dir: self.output_dir.clone(),
            cache_dir: self.cache.clone(),
            language: self.language,
            language_version: self.language_version.clone(),
            deployment: self.deployment.clone(),
            endpoint_url: self.endpoint_url.clone(),
            update_code: self.update_code,
            benchmarks_dir: self.benchmarks_dir.clone(),
            update_storage: self.update_storage,
            data_dir: self.data_dir.clone(),
            local: local.map(LocalPlatformArgs::overrides).unwrap_or_default(),
        }
    }
}

impl LocalPlatformArgs {
    /// The flags as overrides of `deployment.local`.
    pub fn overrides(&self) -> sebs_platforms::local::LocalOverrides {
        sebs_platforms::local::LocalOverrides {
            cold_start: self.cold_start,
            keep_alive: self.keep_alive,
            concurrency_limit: self.concurrency_limit,
            cpu_share: self.cpu_share,
            namespaces: self.namespaces,
            busy_poll_us: self.busy_poll_us,
        }
    }
}
