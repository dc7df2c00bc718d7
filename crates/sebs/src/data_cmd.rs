//! `sebs data generate`: the deterministic benchmarks-data tree.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

/// `sebs data ...`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Generate a benchmarks-data-shaped tree (images for 210, acmart-master for 311, the objects
    /// 120 fetches). The same seed gives byte-identical files. `benchmark invoke` does this on
    /// first use in `<cache>/benchmarks-data`; pass `--data-dir DIR` to use another tree.
    #[command(after_help = "Docs: docs/data.md")]
    Generate(GenerateArgs),
}

/// `sebs data generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the tree (the default is where `benchmark invoke` looks with the default
    /// `--cache`).
    #[arg(long, value_name = "DIR", default_value = "cache/benchmarks-data")]
    pub dir: PathBuf,
    /// Seed of the generator.
    #[arg(long, default_value_t = sebs_data::DEFAULT_SEED)]
    pub seed: u64,
}

/// Run a `sebs data` command.
pub async fn run(command: DataCommand) -> Result<i32> {
    match command {
        DataCommand::Generate(args) => {
            let started = std::time::Instant::now();
            let dir = args.dir.clone();
            let summary = tokio::task::spawn_blocking(move || sebs_data::generate(&dir, args.seed))
                .await?
                .with_context(|| {
                    format!(
                        "failed to generate benchmark data in {}",
                        args.dir.display()
                    )
                })?;
            tracing::info!(
                "generated {} files in {:.1} s",
                summary.files,
                started.elapsed().as_secs_f64()
            );
            println!(
                "{}\t{} files\t{}",
                args.dir.display(),
                summary.files,
                sebs_core::fsutil::human_size(summary.bytes)
            );
            Ok(0)
        }
    }
}
