//! S3 event notifications from the embedded object store: a bucket's notification configuration
//! (`PutBucketNotificationConfiguration`, queue destinations in the embedded queue) and one
//! message per created or removed object, in S3's event notification JSON (version 2.1).
//!
//! Functions are reached through queues, as on AWS when S3 notifies SQS and an event source
//! mapping polls it: Lambda and SNS destinations are refused with a message saying so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use s3s::dto;
use s3s::{S3Result, s3_error};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::queue::Queues;

/// The file, in the object data directory, holding every bucket's notification configuration.
pub const CONFIG_FILE: &str = ".sebs-notifications.json";

/// One queue destination of a bucket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rule {
    /// The configuration id (`configurationId` in events).
    pub id: String,
    /// `arn:aws:sqs:REGION:ACCOUNT:NAME`.
    pub queue_arn: String,
    /// Event types (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, ...).
    pub events: Vec<String>,
    /// Key prefix filter (empty: any).
    pub prefix: String,
    /// Key suffix filter (empty: any).
    pub suffix: String,
}

impl Rule {
    /// Whether `event` (`ObjectCreated:Put`) on `key` matches.
    fn matches(&self, event: &str, key: &str) -> bool {
        let (class, _) = event.split_once(':').unwrap_or((event, ""));
        let wanted = self.events.iter().any(|e| {
            let e = e.strip_prefix("s3:").unwrap_or(e);
            e == event || e.strip_suffix(":*") == Some(class)
        });
        wanted && key.starts_with(&self.prefix) && key.ends_with(&self.suffix)
    }

    fn queue(&self) -> &str {
        self.queue_arn.rsplit(':').next().unwrap_or("")
    }
}

/// What the object server knows of notifications.
pub struct Notifier {
    path: PathBuf,
    rules: Mutex<BTreeMap<String, Vec<Rule>>>,
    queues: Option<Queues>,
    region: String,
    sequencer: AtomicU64,
}

impl Notifier {
    /// Load the configurations kept in `data_dir`; `queues` is where events go (none: any
    /// configuration with a destination is refused).
    pub fn load(data_dir: &Path, queues: Option<Queues>, region: &str) -> Result<Self> {
        let path = data_dir.join(CONFIG_FILE);
        let rules = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "the notification configuration {} is not valid; remove it",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("failed to read {}", path.display())),
        };
        Ok(Notifier {
            path,
            rules: Mutex::new(rules),
            queues,
            region: region.to_owned(),
            sequencer: AtomicU64::new(chrono::Utc::now().timestamp_micros() as u64),
        })
    }

    fn save(&self, rules: &BTreeMap<String, Vec<Rule>>) -> S3Result<()> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(rules).expect("rules serialise");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                s3_error!(
                    InternalError,
                    "cannot save the notification configuration: {e}"
                )
            })
    }

    /// Replace `bucket`'s configuration.
    pub fn put(&self, bucket: &str, config: &dto::NotificationConfiguration) -> S3Result<()> {
        if config
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
            || config
                .topic_configurations
                .as_ref()
                .is_some_and(|t| !t.is_empty())
        {
            return Err(s3_error!(
                InvalidArgument,
                "the embedded object store notifies queues only: use QueueConfigurations with an embedded queue's ARN (functions subscribe to the queue)"
            ));
        }
        let mut rules = Vec::new();
        for (i, q) in config.queue_configurations.iter().flatten().enumerate() {
            rules.push(self.rule(i, q)?);
        }
        let mut all = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if rules.is_empty() {
            all.remove(bucket);
        } else {
            all.insert(bucket.to_owned(), rules);
        }
        self.save(&all)
    }

    fn rule(&self, i: usize, q: &dto::QueueConfiguration) -> S3Result<Rule> {
        let name = q.queue_arn.rsplit(':').next().unwrap_or("");
        if !self.queues.as_ref().is_some_and(|qs| qs.exists(name)) {
            return Err(s3_error!(
                InvalidArgument,
                "Unable to validate the following destination configurations: the queue `{}` does not exist in the embedded queue server (create it first)",
                q.queue_arn
            ));
        }
        let events: Vec<String> = q.events.iter().map(|e| e.as_ref().to_owned()).collect();
        if let Some(bad) = events
            .iter()
            .find(|e| !(e.starts_with("s3:ObjectCreated:") || e.starts_with("s3:ObjectRemoved:")))
        {
            return Err(s3_error!(
                InvalidArgument,
                "the event `{bad}` is not supported: use s3:ObjectCreated:* or s3:ObjectRemoved:* (or one of their types)"
            ));
        }
        let (mut prefix, mut suffix) = (String::new(), String::new());
        let filters = q.filter.as_ref().and_then(|f| f.key.as_ref());
        for f in filters
            .and_then(|k| k.filter_rules.as_ref())
            .into_iter()
            .flatten()
        {
            let value = f.value.clone().unwrap_or_default();
            match f.name.as_ref().map(|n| n.as_str().to_ascii_lowercase()) {
                Some(n) if n == "prefix" => prefix = value,
                Some(n) if n == "suffix" => suffix = value,
                _ => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "filter rule names are `prefix` or `suffix`"
                    ));
                }
            }
        }
        Ok(Rule {
            id: q.id.clone().unwrap_or_else(|| format!("notification-{i}")),
            queue_arn: q.queue_arn.clone(),
            events,
            prefix,
            suffix,
        })
    }

    /// Add (or replace, by id) one queue destination of `bucket`.
    pub fn add(&self, bucket: &str, rule: Rule) -> S3Result<()> {
        if !self
            .queues
            .as_ref()
            .is_some_and(|qs| qs.exists(rule.queue()))
        {
            return Err(s3_error!(
                InvalidArgument,
                "the queue `{}` does not exist",
                rule.queue_arn
            ));
        }
        let mut all = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let rules = all.entry(bucket.to_owned()).or_default();
        rules.retain(|r| r.id != rule.id);
        rules.push(rule);
        self.save(&all)
    }

    /// `bucket`'s configuration as S3 returns it.
    pub fn get(&self, bucket: &str) -> dto::GetBucketNotificationConfigurationOutput {
        let all = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let queues: Vec<dto::QueueConfiguration> = all
            .get(bucket)
            .into_iter()
            .flatten()
            .map(|r| dto::QueueConfiguration {
                events: r.events.iter().cloned().map(dto::Event::from).collect(),
                filter: filter_of(r),
                id: Some(r.id.clone()),
                queue_arn: r.queue_arn.clone(),
            })
            .collect();
        dto::GetBucketNotificationConfigurationOutput {
            queue_configurations: (!queues.is_empty()).then_some(queues),
            ..Default::default()
        }
    }

    /// Drop a deleted bucket's configuration.
    pub fn forget(&self, bucket: &str) {
        let mut all = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if all.remove(bucket).is_some()
            && let Err(e) = self.save(&all)
        {
            tracing::warn!("object storage: {e:?}");
        }
    }

    /// Send one event (`ObjectCreated:Put`, ...) for `key` to every matching destination.
    pub fn emit(&self, bucket: &str, key: &str, event: &str, size: u64, etag: &str) {
        let rules: Vec<Rule> = {
            let all = self.rules.lock().unwrap_or_else(|e| e.into_inner());
            let Some(rules) = all.get(bucket) else { return };
            rules
                .iter()
                .filter(|r| r.matches(event, key))
                .cloned()
                .collect()
        };
        let Some(queues) = &self.queues else { return };
        for rule in rules {
            let sequencer = self.sequencer.fetch_add(1, Ordering::Relaxed);
            let record = record(
                &self.region,
                &rule.id,
                bucket,
                key,
                event,
                size,
                etag,
                sequencer,
            );
            let body = json!({"Records": [record]}).to_string();
            if let Err(e) = queues.send(rule.queue(), &body) {
                tracing::warn!(
                    "object storage: could not notify {} of {event} {bucket}/{key}: {}",
                    rule.queue_arn,
                    e.message
                );
            }
        }
    }
}

fn filter_of(r: &Rule) -> Option<dto::NotificationConfigurationFilter> {
    let mut rules = Vec::new();
    for (name, value) in [("prefix", &r.prefix), ("suffix", &r.suffix)] {
        if !value.is_empty() {
            rules.push(dto::FilterRule {
                name: Some(dto::FilterRuleName::from_static(name)),
                value: Some(value.clone()),
            });
        }
    }
    (!rules.is_empty()).then_some(dto::NotificationConfigurationFilter {
        key: Some(dto::S3KeyFilter {
            filter_rules: Some(rules),
        }),
    })
}

/// S3's key encoding in events: form-URL encoding (space as `+`).
fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One record of S3's event notification JSON.
#[allow(clippy::too_many_arguments)]
fn record(
    region: &str,
    id: &str,
    bucket: &str,
    key: &str,
    event: &str,
    size: u64,
    etag: &str,
    sequencer: u64,
) -> Value {
    let request_id = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    let mut object = json!({"key": encode_key(key), "sequencer": format!("{sequencer:016X}")});
    if event.starts_with("ObjectCreated") {
        object["size"] = json!(size);
        object["eTag"] = json!(etag.trim_matches('"'));
    }
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "eventName": event,
        "userIdentity": {"principalId": "sebs"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": &request_id[..16], "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "sebs"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": object,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_wildcards_types_and_filters() {
        let rule = Rule {
            id: "r".into(),
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            events: vec![
                "s3:ObjectCreated:*".into(),
                "s3:ObjectRemoved:Delete".into(),
            ],
            prefix: "in/".into(),
            suffix: ".jpg".into(),
        };
        assert!(rule.matches("ObjectCreated:Put", "in/a.jpg"));
        assert!(rule.matches("ObjectCreated:CompleteMultipartUpload", "in/a.jpg"));
        assert!(rule.matches("ObjectRemoved:Delete", "in/a.jpg"));
        assert!(!rule.matches("ObjectCreated:Put", "out/a.jpg"));
        assert!(!rule.matches("ObjectCreated:Put", "in/a.png"));
        assert_eq!(rule.queue(), "q");
        assert_eq!(encode_key("a b/ü+c"), "a+b/%C3%BC%2Bc");
    }
}
