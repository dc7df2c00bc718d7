//! `sebs benchmark list`.

use std::fmt::Write;

use anyhow::Result;
use sebs_core::catalogue::{Benchmark, Catalogue};
use serde_json::json;

use crate::cli::ListArgs;
use sebs_platforms::settings::load_config;
use sebs_report::OutputFormat;

/// Print id, languages, memory, timeout and modules of every benchmark (workflows marked).
pub fn list(args: &ListArgs) -> Result<i32> {
    let config = load_config(args.config.as_deref())?;
    let root = args
        .benchmarks_dir
        .clone()
        .or(config.experiments.benchmarks_dir)
        .unwrap_or_else(sebs_core::catalogue::default_root);
    let catalogue = Catalogue::open(&root)?;
    let mut benchmarks = Vec::new();
    for (id, dir) in catalogue.entries() {
        match Benchmark::load(dir) {
            Ok(b) => benchmarks.push(b),
            Err(e) => tracing::warn!("skipping {id}: {e}"),
        }
    }
    match args.output_format {
        OutputFormat::Json => {
            let rows: Vec<_> = benchmarks
                .iter()
                .map(|b| {
                    json!({
                        "id": b.id, "group": b.group, "languages": b.languages(),
                        "memory": b.config.memory, "timeout": b.config.timeout,
                        "modules": b.config.modules, "path": b.dir,
                        "type": if b.is_workflow() { "workflow" } else { "function" },
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Text => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{:<28} {:<16} {:>8} {:>9}  modules",
                "benchmark", "languages", "memory", "timeout"
            );
            for b in &benchmarks {
                let mut modules = if b.config.modules.is_empty() {
                    "-".to_owned()
                } else {
                    b.config.modules.join(",")
                };
                if b.is_workflow() {
                    modules.push_str("  (workflow)");
                }
                let _ = writeln!(
                    out,
                    "{:<28} {:<16} {:>5} MB {:>7} s  {modules}",
                    b.id,
                    b.languages().join(","),
                    b.config.memory,
                    b.config.timeout
                );
            }
            print!("{out}");
            tracing::debug!("catalogue: {}", catalogue.root().display());
        }
    }
    Ok(0)
}
