use std::io::IsTerminal;

use clap::Parser;
use sebs::cli::{Cli, ColorChoice};
use tracing_subscriber::EnvFilter;

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // -v applies to our crates only; RUST_LOG, when set, wins.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,sebs={level},sebs_core={level},sebs_build={level},sebs_local={level},sebs_storage={level},sebs_data={level},sebs_platforms={level},sebs_experiments={level},sebs_report={level}"
        ))
    });
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(cli.verbose > 0);
    // Daemons write a log file read after the fact: their lines carry the time.
    if cli.is_daemon() {
        builder.init();
    } else {
        builder.without_time().init();
    }
}

/// Async worker threads: half the CPUs (at least one), or `TOKIO_WORKER_THREADS`.
///
/// The functions the local platform runs need CPUs more than the gateway does, and with fewer
/// workers than busy CPUs a request is not handed from one worker thread to another on its way
/// through the gateway (each hand-off is a cross-CPU wake-up, tens of µs on a VM).
fn worker_threads() -> usize {
    if let Some(n) = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus / 2).max(1)
}

fn main() {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(sebs::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("Error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            1
        }
    };
    drop(runtime);
    std::process::exit(code);
}
