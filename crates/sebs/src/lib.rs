//! The `sebs` command-line tool as a library: argument definitions and one `run` entry point, so
//! commands can be tested in-process. Each command converts its arguments, calls one library
//! function (`sebs-platforms`, `sebs-experiments`, `sebs-report`) and prints what it returns;
//! `main.rs` only parses, sets up logging and dispatches.
#![warn(missing_docs, rust_2018_idioms)]

pub mod cli;
pub mod data_cmd;
pub mod db_cmd;
pub mod list;
pub mod local_cmd;
pub mod report_cmd;
pub mod resources_cmd;
pub mod stability_cmd;
pub mod stability_report;
pub mod storage_cmd;

use anyhow::Result;
use sebs_experiments::RunRequest;
use sebs_experiments::benchmark::InvokeRequest;
use sebs_experiments::process::ProcessContext;
use sebs_experiments::regression::RegressionRequest;

use cli::{
    BenchmarkCommand, Cli, Command, ExperimentCommand, ExperimentInvokeArgs, ExperimentProcessArgs,
    InvokeArgs, LocalCommand, ProcessArgs, RegressionArgs,
};

/// Exit status when some invocations failed or did not validate.
pub const EXIT_FAILED_INVOCATIONS: i32 = 3;

/// Run a parsed command line; returns the process exit status.
pub async fn run(cli: Cli) -> Result<i32> {
    register_backends();
    db_cmd::set_store_flag(cli.store.clone());
    match cli.command {
        Command::Benchmark(command) => match command {
            BenchmarkCommand::Invoke(args) => invoke(&args).await,
            BenchmarkCommand::Package(args) => {
                let options = args.common.options(None);
                let (package, zip) = tokio::task::spawn_blocking(move || {
                    sebs_platforms::pipeline::package_for_upload(&options, &args.benchmark)
                })
                .await??;
                println!(
                    "{}\t{}",
                    package.dir.display(),
                    sebs_core::fsutil::human_size(package.size)
                );
                // Platforms that upload code get the zip they upload (Lambda's layout).
                if let Some(zip) = zip {
                    println!(
                        "{}\t{}\tsha256 {}",
                        zip.path.display(),
                        sebs_core::fsutil::human_size(zip.size),
                        zip.sha256_base64
                    );
                }
                Ok(0)
            }
            BenchmarkCommand::Process(args) => process(&args).await,
            BenchmarkCommand::List(args) => list::list(&args),
            BenchmarkCommand::Statistics(args) => {
                print!(
                    "{}",
                    sebs_report::benchmark_statistics(&args.file, args.output_format)?
                );
                Ok(0)
            }
            BenchmarkCommand::Regression(args) => regression(&args).await,
            BenchmarkCommand::Traces(args) => report_cmd::traces(&args),
        },
        Command::Local(command) => match command {
            LocalCommand::Start(args) => tokio::task::block_in_place(|| local_cmd::start(&args)),
            LocalCommand::Serve(args) => local_cmd::serve(&args).await,
            LocalCommand::Stop(args) => tokio::task::block_in_place(|| local_cmd::stop(&args)),
            LocalCommand::Echo { port } => local_cmd::echo(port).await,
        },
        Command::Storage(command) => storage_cmd::run(command).await,
        Command::Data(command) => data_cmd::run(command).await,
        Command::Resources(command) => resources_cmd::run(command).await,
        Command::Experiment(command) => match command {
            ExperimentCommand::Invoke(args) => experiment_invoke(&args).await,
            ExperimentCommand::Process(args) => experiment_process(&args).await,
            ExperimentCommand::Statistics(args) => {
                print!(
                    "{}",
                    sebs_report::experiment_statistics(&args.dir, args.output_format)?
                );
                Ok(0)
            }
        },
        Command::Report(args) => tokio::task::block_in_place(|| report_cmd::report(&args)),
        Command::Compare(args) => tokio::task::block_in_place(|| report_cmd::compare(&args)),
        Command::Db(command) => db_cmd::run(command),
        Command::Stability(command) => stability_cmd::run(command).await,
    }
}

/// The backends in crates of their own, behind cargo features: one line each.
fn register_backends() {
    #[cfg(feature = "aws")]
    sebs_aws::register();
    #[cfg(feature = "openwhisk")]
    sebs_cluster::register_openwhisk();
    #[cfg(feature = "knative")]
    sebs_cluster::register_knative();
    #[cfg(feature = "azure")]
    sebs_azure::register();
    #[cfg(feature = "gcp")]
    sebs_gcp::register();
}

async fn invoke(args: &InvokeArgs) -> Result<i32> {
    let outcome = sebs_experiments::benchmark::invoke(&InvokeRequest {
        options: args.common.options(Some(&args.local)),
        benchmark: args.benchmark.clone(),
        size: args.size.clone(),
        repetitions: args.repetitions,
        trigger: args.trigger,
        memory: args.memory,
        timeout: args.timeout,
        function_name: args.function_name.clone(),
        validate: args.validate,
        storage_configuration: args.storage_configuration.clone(),
    })
    .await?;
    print!("{}", outcome.summary);
    println!("results: {}", outcome.path.display());
    db_cmd::record(args.common.config.as_deref(), &args.common.output_dir)?;
    if let Some(stop) = outcome.interrupted {
        tracing::warn!(
            "{}: the invocations completed so far are saved in {}",
            stop.describe(),
            outcome.path.display()
        );
        return Ok(stop.exit_code());
    }
    if outcome.failed > 0 {
        tracing::warn!(
            "{} of {} invocations failed; see `error` in {}",
            outcome.failed,
            args.repetitions,
            outcome.path.display()
        );
        return Ok(EXIT_FAILED_INVOCATIONS);
    }
    Ok(0)
}

fn warn_extend_time_interval(value: Option<i64>) {
    if let Some(minutes) = value {
        tracing::warn!(
            "--extend-time-interval {minutes} is ignored: provider records are matched by request id, so no time window is needed"
        );
    }
}

async fn process(args: &ProcessArgs) -> Result<i32> {
    let ctx = ProcessContext::new(&args.output_dir, &args.cache, args.config.as_deref())?;
    let (path, filled, missing) = sebs_experiments::process::process_benchmark(&ctx).await?;
    println!(
        "{} ({filled} invocations with provider metrics, {missing} without)",
        path.display()
    );
    Ok(0)
}

async fn regression(args: &RegressionArgs) -> Result<i32> {
    let report = sebs_experiments::regression::regression(&RegressionRequest {
        options: args.common.options(Some(&args.local)),
        size: args.size.clone(),
        benchmark_name: args.benchmark_name.clone(),
        jobs: args.jobs,
        repetitions: args.repetitions,
        trigger: args.trigger,
        storage_configuration: args.storage_configuration.clone(),
    })
    .await?;
    print!("{}", report.text);
    db_cmd::record(args.common.config.as_deref(), &args.common.output_dir)?;
    Ok(if report.failed > 0 { 1 } else { 0 })
}

async fn experiment_invoke(args: &ExperimentInvokeArgs) -> Result<i32> {
    let outcome = sebs_experiments::invoke(
        args.experiment,
        &RunRequest {
            options: args.common.options(Some(&args.local)),
            resume: args.resume,
            force: args.force,
            storage_configuration: args.storage_configuration.clone(),
        },
    )
    .await?;
    print!("{}", outcome.summary);
    if outcome.interrupted.is_none() {
        println!("results: {}", outcome.results.display());
        db_cmd::record(args.common.config.as_deref(), &args.common.output_dir)?;
    }
    Ok(outcome.exit_code())
}

async fn experiment_process(args: &ExperimentProcessArgs) -> Result<i32> {
    warn_extend_time_interval(args.extend_time_interval);
    let ctx = ProcessContext::new(&args.output_dir, &args.cache, args.config.as_deref())?;
    let processed = sebs_experiments::process(args.experiment, &ctx).await?;
    print!("{}", processed.summary);
    Ok(processed.exit_code)
}
