//! The `sebs` command-line tool as a library: argument definitions and one `run` entry point per
//! command, so commands can be tested in-process. `main.rs` only parses, sets up logging and
//! dispatches.
#![warn(missing_docs, rust_2018_idioms)]

pub mod cli;
pub mod data_cmd;
pub mod experiments;
pub mod invoke;
pub mod list;
pub mod local;
pub mod local_cmd;
pub mod process;
pub mod regression;
pub mod settings;
pub mod storage_cmd;
pub mod storage_setup;
pub mod summary;
pub mod trigger;

use anyhow::Result;

use cli::{BenchmarkCommand, Cli, Command, ExperimentCommand, LocalCommand};

/// Run a parsed command line; returns the process exit status.
pub async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Benchmark(command) => match command {
            BenchmarkCommand::Invoke(args) => invoke::invoke(&args).await,
            BenchmarkCommand::Package(args) => {
                tokio::task::spawn_blocking(move || invoke::package(&args)).await?
            }
            BenchmarkCommand::Process(args) => process::process(&args),
            BenchmarkCommand::List(args) => list::list(&args),
            BenchmarkCommand::Statistics(args) => summary::statistics(&args),
            BenchmarkCommand::Regression(args) => regression::regression(&args).await,
        },
        Command::Local(command) => match command {
            LocalCommand::Start(args) => tokio::task::block_in_place(|| local_cmd::start(&args)),
            LocalCommand::Serve(args) => local_cmd::serve(&args).await,
            LocalCommand::Stop(args) => tokio::task::block_in_place(|| local_cmd::stop(&args)),
            LocalCommand::Echo { port } => local_cmd::echo(port).await,
        },
        Command::Storage(command) => storage_cmd::run(command).await,
        Command::Data(command) => data_cmd::run(command).await,
        Command::Experiment(command) => match command {
            ExperimentCommand::Invoke(args) => experiments::invoke(&args).await,
            ExperimentCommand::Process(args) => experiments::process(&args),
            ExperimentCommand::Statistics(args) => experiments::statistics(&args),
        },
    }
}
