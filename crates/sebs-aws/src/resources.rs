//! Everything sebs created under a resource id, found on AWS itself, and its deletion:
//! state machines, functions (their URLs go with them), HTTP APIs, the roles, buckets, tables
//! and log groups.
//! A service that cannot be listed (an emulator without IAM, a missing permission) is
//! reported and skipped; the others are still listed.

use anyhow::{Context, Result, bail};
use sebs_platforms::Resource;

use crate::clients::Clients;

/// Kinds, in the order `cleanup` deletes them (functions before the role they use, buckets
/// emptied first).
pub const KINDS: [&str; 8] = [
    "state-machine",
    "http-api",
    "function",
    "queue",
    "log-group",
    "table",
    "bucket",
    "iam-role",
];

fn resource(kind: &str, name: impl Into<String>) -> Resource {
    Resource {
        kind: kind.into(),
        name: name.into(),
    }
}

/// List the resources of resource id `id`.
pub async fn list(clients: &Clients, id: &str) -> Result<Vec<Resource>> {
    let prefix = format!("sebs-{id}-");
    let mut out = Vec::new();
    let warn = |what: &str, e: anyhow::Error| {
        tracing::warn!("could not list {what}: {e:#}");
    };
    match list_functions(clients, &prefix).await {
        Ok(names) => out.extend(names.into_iter().map(|n| resource("function", n))),
        Err(e) => warn("Lambda functions", e),
    }
    match crate::endpoints::list_apis(clients).await {
        Ok(apis) => out.extend(
            apis.into_iter()
                .filter(|(name, _, _)| name.starts_with(&prefix))
                .map(|(name, _, _)| resource("http-api", name)),
        ),
        Err(e) => warn("HTTP APIs", e),
    }
    match crate::event_sources::queues(clients, &prefix).await {
        Ok(urls) => out.extend(
            urls.iter()
                .filter_map(|u| u.rsplit('/').next())
                .map(|n| resource("queue", n)),
        ),
        Err(e) => warn("SQS queues", e),
    }
    match crate::stepfunctions::list(clients, id).await {
        Ok(machines) => out.extend(
            machines
                .into_iter()
                .map(|(n, _)| resource("state-machine", n)),
        ),
        Err(e) => warn("Step Functions state machines", e),
    }
    for role in [
        crate::iam::role_name(id),
        crate::stepfunctions::role_name(id),
    ] {
        match clients.iam.get_role().role_name(&role).send().await {
            Ok(_) => out.push(resource("iam-role", role)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) => {}
            Err(e) => warn("the IAM role", crate::sdk_error(e)),
        }
    }
    match clients.s3.list_buckets().send().await {
        Ok(buckets) => out.extend(
            buckets
                .buckets()
                .iter()
                .filter_map(|b| b.name())
                .filter(|n| is_ours(n, id))
                .map(|n| resource("bucket", n)),
        ),
        Err(e) => warn("S3 buckets", crate::sdk_error(e)),
    }
    match list_tables(clients, &format!("sebs-benchmarks-{id}-")).await {
        Ok(tables) => out.extend(tables.into_iter().map(|n| resource("table", n))),
        Err(e) => warn("DynamoDB tables", e),
    }
    match list_log_groups(clients, &format!("/aws/lambda/{prefix}")).await {
        Ok(groups) => out.extend(groups.into_iter().map(|n| resource("log-group", n))),
        Err(e) => warn("CloudWatch log groups", e),
    }
    out.sort_by_key(|r| {
        (
            KINDS
                .iter()
                .position(|k| *k == r.kind)
                .unwrap_or(KINDS.len()),
            r.name.clone(),
        )
    });
    Ok(out)
}

/// Buckets of resource id `id`: `sebs-benchmarks-<id>` and SeBS's per-purpose
/// `sebs-<purpose>-<id>` names.
fn is_ours(bucket: &str, id: &str) -> bool {
    bucket.starts_with("sebs-")
        && (bucket.ends_with(&format!("-{id}")) || bucket.starts_with(&format!("sebs-{id}-")))
}

async fn list_functions(clients: &Clients, prefix: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = clients
            .lambda
            .list_functions()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        names.extend(
            out.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_owned),
        );
        match out.next_marker() {
            Some(next) if !next.is_empty() && Some(next) != marker.as_deref() => {
                marker = Some(next.to_owned())
            }
            _ => break,
        }
    }
    Ok(names)
}

async fn list_tables(clients: &Clients, prefix: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = clients
            .dynamodb
            .list_tables()
            .set_exclusive_start_table_name(start.clone())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        names.extend(
            out.table_names()
                .iter()
                .filter(|n| n.starts_with(prefix))
                .cloned(),
        );
        match out.last_evaluated_table_name() {
            Some(last) if Some(last) != start.as_deref() => start = Some(last.to_owned()),
            _ => break,
        }
    }
    Ok(names)
}

async fn list_log_groups(clients: &Clients, prefix: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        names.extend(
            out.log_groups()
                .iter()
                .filter_map(|g| g.log_group_name())
                .map(str::to_owned),
        );
        match out.next_token() {
            Some(next) if Some(next) != token.as_deref() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(names)
}

/// Delete one resource.
pub async fn delete(clients: &Clients, r: &Resource) -> Result<()> {
    match r.kind.as_str() {
        "function" => {
            // Its event source mappings first (a queue trigger's). A Lambda API that cannot
            // list them (an emulator without event sources) has none: the function still goes.
            let mappings = match crate::event_sources::mappings(clients, &r.name).await {
                Ok(uuids) => uuids,
                Err(e) => {
                    let unsupported = format!("{e:#}").contains("UnknownOperation");
                    if unsupported {
                        tracing::debug!("no event source mappings to list for {}: {e:#}", r.name);
                    } else {
                        tracing::warn!(
                            "could not list the event source mappings of {}: {e:#}; deleting the function anyway",
                            r.name
                        );
                    }
                    Vec::new()
                }
            };
            for uuid in mappings {
                clients
                    .lambda
                    .delete_event_source_mapping()
                    .uuid(uuid)
                    .send()
                    .await
                    .map_err(crate::sdk_error)?;
            }
            clients
                .lambda
                .delete_function()
                .function_name(&r.name)
                .send()
                .await
                .map_err(crate::sdk_error)?;
            // Its storage and queue triggers' queues and bucket go with it. Where SQS or S3
            // cannot be reached (an emulator without them), `cleanup` still lists what is left.
            if let Err(e) = crate::event_sources::remove_queues_and_bucket(clients, &r.name).await {
                tracing::warn!(
                    "could not remove the trigger queues or bucket of {}: {e:#}; `sebs resources list` shows what is left",
                    r.name
                );
            }
        }
        "http-api" => {
            let Some((id, _)) = crate::endpoints::find_api(clients, &r.name).await? else {
                return Ok(());
            };
            clients
                .apigw
                .delete_api()
                .api_id(id)
                .send()
                .await
                .map_err(crate::sdk_error)?;
        }
        "iam-role" => crate::iam::delete_role(clients, &r.name).await?,
        "queue" => {
            for url in crate::event_sources::queues(clients, &r.name).await? {
                if url.rsplit('/').next() == Some(r.name.as_str()) {
                    clients
                        .sqs
                        .delete_queue()
                        .queue_url(url)
                        .send()
                        .await
                        .map_err(crate::sdk_error)?;
                }
            }
        }
        "state-machine" => {
            let machines = crate::stepfunctions::list_all(clients).await?;
            if let Some((_, arn)) = machines.iter().find(|(n, _)| *n == r.name) {
                crate::stepfunctions::delete(clients, arn).await?;
            }
        }
        "bucket" => delete_bucket(clients, &r.name).await?,
        "table" => {
            clients
                .dynamodb
                .delete_table()
                .table_name(&r.name)
                .send()
                .await
                .map_err(crate::sdk_error)?;
        }
        "log-group" => {
            clients
                .logs
                .delete_log_group()
                .log_group_name(&r.name)
                .send()
                .await
                .map_err(crate::sdk_error)?;
        }
        other => bail!(
            "unknown AWS resource kind `{other}`: expected one of {}",
            KINDS.join(", ")
        ),
    }
    Ok(())
}

/// Empty a bucket (every object, in pages of 1,000) and delete it.
/// A bucket that is already gone (a function's trigger bucket goes with the function) is done.
pub(crate) async fn delete_bucket(clients: &Clients, bucket: &str) -> Result<()> {
    loop {
        let page = match clients.s3.list_objects_v2().bucket(bucket).send().await {
            Ok(page) => page,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {
                return Ok(());
            }
            Err(e) => {
                return Err(crate::sdk_error(e))
                    .with_context(|| format!("failed to list the objects of {bucket}"));
            }
        };
        let keys: Vec<_> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter_map(|k| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(k)
                    .build()
                    .ok()
            })
            .collect();
        if keys.is_empty() {
            break;
        }
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(keys))
            .quiet(true)
            .build()?;
        clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(crate::sdk_error)
            .with_context(|| format!("failed to delete objects of {bucket}"))?;
    }
    clients
        .s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_of_an_id() {
        assert!(is_ours("sebs-benchmarks-ab12", "ab12"));
        assert!(is_ours("sebs-experiments-ab12", "ab12"));
        assert!(!is_ours("sebs-benchmarks-ab123", "ab12"));
        assert!(!is_ours("mybucket-ab12", "ab12"));
    }
}
