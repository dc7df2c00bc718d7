//! Storage and queue triggers' wiring on AWS: an S3 bucket notification that invokes the
//! function (with the permission S3 needs), and an SQS queue (with a dead-letter queue) polled
//! by a Lambda event source mapping; a result queue per function, to which the wrapper sends each
//! record's result; and the role policy that lets functions poll their queues, send results and
//! read their trigger bucket. Created by the backend's first storage or queue trigger of a
//! function, removed with the function by [`remove`] and by `cleanup` (queues and buckets carry
//! the function's `sebs-<id>-` prefix).

use anyhow::{Context, Result};
use aws_sdk_lambda::types::FunctionResponseType;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::clients::Clients;

/// The statement id of the permission that lets S3 invoke the function.
pub const S3_PERMISSION: &str = "sebs-storage-trigger";
/// The role policy that lets functions poll their queues, send results and read trigger objects.
pub const TRIGGER_POLICY: &str = "sebs-event-triggers";

/// How a queue trigger's event source mapping delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Most messages per invocation.
    pub batch_size: i32,
    /// Seconds to gather a batch.
    pub batching_window_s: i32,
    /// Deliveries before dead-lettering.
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            batch_size: 10,
            batching_window_s: 0,
            max_receive_count: 3,
        }
    }
}

/// The queue of `function`'s queue trigger (its dead-letter queue adds `-dlq`).
pub fn queue_name(function: &str) -> String {
    let mut name: String = function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(70);
    format!("{name}-queue")
}

/// Notify `function_arn` of every object created in `bucket` under `prefix` (without one: of
/// every `.json` object) (S3 → Lambda),
/// first granting S3 the permission to invoke it.
pub async fn storage_trigger(
    clients: &Clients,
    function: &str,
    function_arn: &str,
    bucket: &str,
    prefix: &str,
) -> Result<()> {
    let add = clients
        .lambda
        .add_permission()
        .function_name(function)
        .statement_id(S3_PERMISSION)
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn(format!("arn:aws:s3:::{bucket}"))
        .send()
        .await;
    if let Err(e) = add
        && !e
            .as_service_error()
            .is_some_and(|s| s.is_resource_conflict_exception())
    {
        return Err(crate::sdk_error(e)).context("cannot let S3 invoke the function");
    }
    // The inputs sebs uploads are `<request>.json`; an empty prefix rule is invalid.
    let rule = if prefix.is_empty() {
        FilterRule::builder()
            .name(FilterRuleName::Suffix)
            .value(".json")
            .build()
    } else {
        FilterRule::builder()
            .name(FilterRuleName::Prefix)
            .value(prefix)
            .build()
    };
    let config = LambdaFunctionConfiguration::builder()
        .id(S3_PERMISSION)
        .lambda_function_arn(function_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().filter_rules(rule).build())
                .build(),
        )
        .build()
        .context("the notification configuration is incomplete")?;
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(config)
                .build(),
        )
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("cannot configure the notifications of bucket `{bucket}`"))?;
    Ok(())
}

async fn create_queue(clients: &Clients, name: &str, redrive: Option<String>) -> Result<String> {
    let mut request = clients.sqs.create_queue().queue_name(name);
    if let Some(policy) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let url = request
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("cannot create the queue `{name}`"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .with_context(|| format!("the queue `{name}` has no ARN"))
}

/// The queue a trigger of `function` receives results on (under the function's queue prefix).
pub fn results_queue_name(function: &str) -> String {
    format!("{}-results", queue_name(function))
}

/// The bucket of `function`'s storage trigger: lower case, at most 63 characters, with the
/// function's `sebs-<id>-` prefix (so `cleanup` finds it) and a hash of the whole name.
pub fn trigger_bucket(function: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across builds and platforms
    for byte in function.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut stem: String = function
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    stem.truncate(40);
    format!("{}-{:08x}-trigger", stem.trim_end_matches('-'), hash as u32)
}

/// Let `role` (a role name) poll and send to the queues of resource id `id` and read the objects
/// of its buckets: what the wrapper needs behind storage and queue triggers. One policy for all
/// the role's functions (a role is shared), removed with the role.
pub async fn grant(clients: &Clients, role: &str, id: &str) -> Result<()> {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                           "sqs:ChangeMessageVisibility", "sqs:SendMessage"],
                "Resource": format!("arn:aws:sqs:*:*:sebs-{id}-*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": format!("arn:aws:s3:::sebs-{id}-*/*"),
            },
        ],
    });
    clients
        .iam
        .put_role_policy()
        .role_name(role)
        .policy_name(TRIGGER_POLICY)
        .policy_document(policy.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(crate::sdk_error)
        .with_context(|| {
            format!(
                "cannot let the role `{role}` use the trigger queues and bucket (it needs sqs:ReceiveMessage/DeleteMessage/GetQueueAttributes/ChangeMessageVisibility/SendMessage on sebs-{id}-* queues and s3:GetObject on sebs-{id}-* buckets; the caller needs iam:PutRolePolicy)"
            )
        })
}

/// Create the queue `name` (idempotent) and return its URL.
pub async fn ensure_queue(clients: &Clients, name: &str) -> Result<String> {
    let out = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("cannot create the queue `{name}`"))?;
    Ok(out.queue_url().unwrap_or_default().to_owned())
}

/// Create `function`'s queue and dead-letter queue and map the queue to the function (partial
/// batch responses on); the role must be allowed to poll it ([`grant`]). Returns the queue's
/// ARN and the mapping's UUID.
pub async fn queue_trigger(
    clients: &Clients,
    function: &str,
    settings: QueueSettings,
) -> Result<(String, String)> {
    let name = queue_name(function);
    let dead = create_queue(clients, &format!("{name}-dlq"), None).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead,
        "maxReceiveCount": settings.max_receive_count.to_string(),
    });
    let arn = create_queue(clients, &name, Some(redrive.to_string())).await?;
    // A later run finds the mapping an earlier one made (a second one for the same queue and
    // function is refused): it takes this run's settings instead.
    if let Some(uuid) = mappings(clients, function).await?.into_iter().next() {
        clients
            .lambda
            .update_event_source_mapping()
            .uuid(&uuid)
            .batch_size(settings.batch_size)
            .maximum_batching_window_in_seconds(settings.batching_window_s)
            .enabled(true)
            .send()
            .await
            .map_err(crate::sdk_error)
            .context("cannot update the event source mapping")?;
        return Ok((arn, uuid));
    }
    let mapping = clients
        .lambda
        .create_event_source_mapping()
        .event_source_arn(&arn)
        .function_name(function)
        .batch_size(settings.batch_size)
        .maximum_batching_window_in_seconds(settings.batching_window_s)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .enabled(true)
        .send()
        .await
        .map_err(crate::sdk_error)
        .context("cannot create the event source mapping")?;
    Ok((arn, mapping.uuid().unwrap_or_default().to_owned()))
}

/// The URL of the existing queue `name`.
pub async fn queue_url(clients: &Clients, name: &str) -> Result<String> {
    let out = clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(crate::sdk_error)
        .with_context(|| format!("cannot find the queue `{name}`"))?;
    Ok(out.queue_url().unwrap_or_default().to_owned())
}

/// The UUIDs of the event source mappings of `function`.
pub async fn mappings(clients: &Clients, function: &str) -> Result<Vec<String>> {
    let out = clients
        .lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    Ok(out
        .event_source_mappings()
        .iter()
        .filter_map(|m| m.uuid().map(str::to_owned))
        .collect())
}

/// The URLs of the queues whose names start with `prefix`.
pub async fn queues(clients: &Clients, prefix: &str) -> Result<Vec<String>> {
    let out = clients
        .sqs
        .list_queues()
        .queue_name_prefix(prefix)
        .send()
        .await
        .map_err(crate::sdk_error)?;
    Ok(out.queue_urls().to_vec())
}

/// Remove what the triggers of `function` made: its event source mappings, its queues (source,
/// dead-letter and results), its trigger bucket with its objects, and the S3 permission (each
/// only if present).
pub async fn remove(clients: &Clients, function: &str) -> Result<()> {
    for uuid in mappings(clients, function).await? {
        clients
            .lambda
            .delete_event_source_mapping()
            .uuid(&uuid)
            .send()
            .await
            .map_err(crate::sdk_error)?;
    }
    remove_queues_and_bucket(clients, function).await?;
    let _ = clients
        .lambda
        .remove_permission()
        .function_name(function)
        .statement_id(S3_PERMISSION)
        .send()
        .await;
    Ok(())
}

/// Delete `function`'s trigger queues and its trigger bucket (emptied first), where they exist.
pub async fn remove_queues_and_bucket(clients: &Clients, function: &str) -> Result<()> {
    for url in queues(clients, &queue_name(function)).await? {
        clients
            .sqs
            .delete_queue()
            .queue_url(&url)
            .send()
            .await
            .map_err(crate::sdk_error)?;
    }
    let bucket = trigger_bucket(function);
    match clients.s3.head_bucket().bucket(&bucket).send().await {
        Ok(_) => crate::resources::delete_bucket(clients, &bucket).await,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(()),
        Err(e) => Err(crate::sdk_error(e))
            .with_context(|| format!("cannot check the trigger bucket `{bucket}`")),
    }
}
