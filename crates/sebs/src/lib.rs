//! The `sebs` command-line tool as a library: argument definitions and one `run` entry point per
//! command, so commands can be tested in-process. `main.rs` only parses, sets up logging and
//! dispatches.
#![warn(missing_docs, rust_2018_idioms)]

pub mod cli;
pub mod data_cmd;
pub mod invoke;
pub mod list;
pub mod settings;
pub mod storage_cmd;
pub mod storage_setup;
pub mod summary;
pub mod trigger;

use anyhow::Result;

use cli::{BenchmarkCommand, Cli, Command};

/// Run a parsed command line; returns the process exit status.
pub async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Benchmark(command) => match command {
            BenchmarkCommand::Invoke(args) => invoke::invoke(&args).await,
            BenchmarkCommand::Package(args) => {
                tokio::task::spawn_blocking(move || invoke::package(&args)).await?
            }
            BenchmarkCommand::List(args) => list::list(&args),
            BenchmarkCommand::Statistics(args) => summary::statistics(&args),
        },
        Command::Storage(command) => storage_cmd::run(command).await,
        Command::Data(command) => data_cmd::run(command).await,
    }
}
