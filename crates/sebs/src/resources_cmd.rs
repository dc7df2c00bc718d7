//! `sebs resources list|remove|cleanup`: what sebs created on a platform (on AWS: functions
//! and their URLs, HTTP APIs, the role, buckets, tables, log groups), and deleting it.

use anyhow::Result;
use clap::{Args, Subcommand};
use sebs_platforms::resources::{Removal, Selection};

use crate::cli::CommonArgs;

/// `sebs resources ...`
#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// List the resources sebs created under the deployment's resource id.
    List(ListArgs),
    /// Delete resources of one kind (all of it, or the names given, or those with a prefix).
    Remove(RemoveArgs),
    /// Delete everything sebs created under the deployment's resource id.
    Cleanup(CleanupArgs),
}

/// `sebs resources list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this kind (function, http-api, iam-role, bucket, table, log-group).
    #[arg(long)]
    pub kind: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Config, deployment and cache options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sebs resources remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The kind to delete (function, http-api, iam-role, bucket, table, log-group).
    pub kind: String,
    /// Names to delete (default: every resource of the kind).
    pub names: Vec<String>,
    /// Only names starting with this.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Config, deployment and cache options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sebs resources cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Config, deployment and cache options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Run a `resources` command; the exit status is 1 if a deletion failed.
pub async fn run(command: ResourcesCommand) -> Result<i32> {
    match command {
        ResourcesCommand::List(args) => {
            let selection = Selection {
                kind: args.kind,
                ..Default::default()
            };
            let (platform, found) =
                sebs_platforms::resources::list(&args.common.options(None), &selection).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else if found.is_empty() {
                println!("no resources of sebs on {platform}");
            } else {
                for r in &found {
                    println!("{:<10} {}", r.kind, r.name);
                }
            }
            Ok(0)
        }
        ResourcesCommand::Remove(args) => {
            let selection = Selection {
                kind: Some(args.kind),
                names: args.names,
                prefix: args.prefix,
            };
            removal(&args.common, &selection, args.dry_run).await
        }
        ResourcesCommand::Cleanup(args) => {
            removal(&args.common, &Selection::default(), args.dry_run).await
        }
    }
}

async fn removal(common: &CommonArgs, selection: &Selection, dry_run: bool) -> Result<i32> {
    let (platform, removals) =
        sebs_platforms::resources::remove(&common.options(None), selection, dry_run).await?;
    if removals.is_empty() {
        println!("nothing to delete on {platform}");
        return Ok(0);
    }
    let mut failed = 0;
    for Removal { resource, error } in &removals {
        match error {
            None if dry_run => println!("would delete {} {}", resource.kind, resource.name),
            None => println!("deleted {} {}", resource.kind, resource.name),
            Some(e) => {
                failed += 1;
                println!("FAILED {} {}: {e}", resource.kind, resource.name);
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
