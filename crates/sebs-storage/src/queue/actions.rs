//! The SQS actions of the JSON protocol (`x-amz-target: AmazonSQS.<Action>`), over [`Store`].

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::Queues;
use super::sigv4::hex;
use super::store::{Message, QResult, QueueError, system_attributes, with_defaults};

fn invalid(message: impl Into<String>) -> QueueError {
    QueueError::new("InvalidParameterValue", message)
}

fn string<'a>(body: &'a Value, field: &str) -> QResult<&'a str> {
    body[field].as_str().ok_or_else(|| {
        QueueError::new(
            "MissingParameter",
            format!("the request must include the string parameter `{field}`"),
        )
    })
}

fn int(body: &Value, field: &str, range: std::ops::RangeInclusive<i64>) -> QResult<Option<i64>> {
    let Some(value) = body.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let n = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| invalid(format!("`{field}` must be an integer")))?;
    if !range.contains(&n) {
        return Err(invalid(format!(
            "`{field}` is {n}; it must lie in {}..={}",
            range.start(),
            range.end()
        )));
    }
    Ok(Some(n))
}

/// A queue name is 1-80 characters of letters, digits, `-` and `_`.
fn check_name(name: &str) -> QResult<()> {
    if name.ends_with(".fifo") {
        return Err(invalid(
            "FIFO queues are not supported by the embedded queue; use a standard queue name",
        ));
    }
    if name.is_empty()
        || name.len() > 80
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(format!(
            "`{name}` is not a queue name: use 1-80 letters, digits, `-` or `_`"
        )));
    }
    Ok(())
}

/// The queue name a `QueueUrl` names (its last path segment).
fn queue_of(body: &Value) -> QResult<String> {
    let url = string(body, "QueueUrl")?;
    let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    check_name(name).map_err(|_| {
        QueueError::new(
            "QueueDoesNotExist",
            format!(
                "`{url}` is not a queue URL: use the QueueUrl CreateQueue or GetQueueUrl returned"
            ),
        )
    })?;
    Ok(name.to_owned())
}

fn attribute_map(value: &Value) -> QResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            let v = v
                .as_str()
                .ok_or_else(|| invalid(format!("the attribute `{k}` must be a string")))?;
            out.insert(k.clone(), v.to_owned());
        }
    }
    if out.contains_key("FifoQueue") {
        return Err(invalid(
            "FIFO queues are not supported by the embedded queue; drop the FifoQueue attribute",
        ));
    }
    Ok(out)
}

/// SQS's MD5 of message attributes: names sorted; each name, type and value length-prefixed,
/// with a transport byte (1 string, 2 binary) before the value.
pub fn md5_of_attributes(attributes: &Value) -> QResult<Option<String>> {
    let Some(map) = attributes.as_object().filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    let mut bytes = Vec::new();
    fn field(bytes: &mut Vec<u8>, b: &[u8]) {
        bytes.extend_from_slice(&(b.len() as u32).to_be_bytes());
        bytes.extend_from_slice(b);
    }
    for name in names {
        let a = &map[name];
        field(&mut bytes, name.as_bytes());
        field(&mut bytes, string(a, "DataType")?.as_bytes());
        if let Some(s) = a["StringValue"].as_str() {
            bytes.push(1);
            field(&mut bytes, s.as_bytes());
        } else if let Some(b) = a["BinaryValue"].as_str() {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|_| invalid(format!("the attribute `{name}` has invalid base64")))?;
            bytes.push(2);
            field(&mut bytes, &raw);
        } else {
            return Err(invalid(format!(
                "the attribute `{name}` needs a StringValue or BinaryValue"
            )));
        }
    }
    Ok(Some(hex(&Md5::digest(&bytes))))
}

/// Run `action` with the request `body`.
pub async fn dispatch(queues: &Queues, action: &str, body: &Value) -> QResult<Value> {
    match action {
        "CreateQueue" => create_queue(queues, body),
        "GetQueueUrl" => {
            let name = string(body, "QueueName")?;
            queues.store.attributes(name)?;
            Ok(json!({"QueueUrl": queues.url(name)}))
        }
        "ListQueues" => {
            let prefix = body["QueueNamePrefix"].as_str().unwrap_or("");
            let urls: Vec<String> = queues
                .store
                .list(prefix)?
                .iter()
                .map(|n| queues.url(n))
                .collect();
            Ok(json!({"QueueUrls": urls}))
        }
        "DeleteQueue" => queues.store.delete(&queue_of(body)?).map(|_| json!({})),
        "PurgeQueue" => queues.store.purge(&queue_of(body)?).map(|_| json!({})),
        "GetQueueAttributes" => get_attributes(queues, body),
        "SetQueueAttributes" => {
            let attrs = attribute_map(&body["Attributes"])?;
            queues.store.set_attributes(&queue_of(body)?, &attrs)?;
            Ok(json!({}))
        }
        "SendMessage" => send(queues, &queue_of(body)?, body).map(|(id, md5, md5a)| {
            let mut out = json!({"MessageId": id, "MD5OfMessageBody": md5});
            if let Some(m) = md5a {
                out["MD5OfMessageAttributes"] = json!(m);
            }
            out
        }),
        "SendMessageBatch" => send_batch(queues, body),
        "ReceiveMessage" => receive(queues, body).await,
        "DeleteMessage" => {
            let queue = queue_of(body)?;
            queues
                .store
                .delete_message(&queue, string(body, "ReceiptHandle")?)?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => batch(body, |entry| {
            queues
                .store
                .delete_message(&queue_of(body)?, string(entry, "ReceiptHandle")?)
        }),
        "ChangeMessageVisibility" => {
            let timeout = int(body, "VisibilityTimeout", 0..=43200)?.unwrap_or(0);
            queues.store.change_visibility(
                &queue_of(body)?,
                string(body, "ReceiptHandle")?,
                timeout,
            )?;
            Ok(json!({}))
        }
        "ChangeMessageVisibilityBatch" => batch(body, |entry| {
            let timeout = int(entry, "VisibilityTimeout", 0..=43200)?.unwrap_or(0);
            queues.store.change_visibility(
                &queue_of(body)?,
                string(entry, "ReceiptHandle")?,
                timeout,
            )
        }),
        other => Err(QueueError::new(
            "InvalidAction",
            format!("the embedded queue does not support the action `{other}`"),
        )),
    }
}

fn create_queue(queues: &Queues, body: &Value) -> QResult<Value> {
    let name = string(body, "QueueName")?;
    check_name(name)?;
    let attrs = attribute_map(&body["Attributes"])?;
    queues.store.create(name, &attrs)?;
    Ok(json!({"QueueUrl": queues.url(name)}))
}

fn get_attributes(queues: &Queues, body: &Value) -> QResult<Value> {
    let name = queue_of(body)?;
    let mut all = with_defaults(&queues.store.attributes(&name)?);
    let (visible, in_flight, delayed) = queues.store.counts(&name)?;
    let (created, modified) = queues.store.times(&name)?;
    for (k, v) in [
        ("ApproximateNumberOfMessages", visible),
        ("ApproximateNumberOfMessagesNotVisible", in_flight),
        ("ApproximateNumberOfMessagesDelayed", delayed),
        ("CreatedTimestamp", created),
        ("LastModifiedTimestamp", modified),
    ] {
        all.insert(k.into(), v.to_string());
    }
    all.insert("QueueArn".into(), queues.arn(&name));
    let wanted: Vec<&str> = body["AttributeNames"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !wanted.contains(&"All") {
        all.retain(|k, _| wanted.contains(&k.as_str()));
    }
    Ok(json!({"Attributes": all}))
}

/// Store one message; its id, body MD5 and attributes MD5.
fn send(queues: &Queues, queue: &str, entry: &Value) -> QResult<(String, String, Option<String>)> {
    let body = string(entry, "MessageBody")?;
    let attributes = entry
        .get("MessageAttributes")
        .cloned()
        .unwrap_or(Value::Null);
    let md5a = md5_of_attributes(&attributes)?;
    let delay = int(entry, "DelaySeconds", 0..=900)?;
    let id = queues.store.send(queue, body, &attributes, delay)?;
    queues.notify.notify_waiters();
    Ok((id, hex(&Md5::digest(body.as_bytes())), md5a))
}

fn send_batch(queues: &Queues, body: &Value) -> QResult<Value> {
    let queue = queue_of(body)?;
    let entries = batch_entries(body)?;
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for entry in entries {
        let id = string(entry, "Id")?;
        match send(queues, &queue, entry) {
            Ok((mid, md5, md5a)) => {
                let mut e = json!({"Id": id, "MessageId": mid, "MD5OfMessageBody": md5});
                if let Some(m) = md5a {
                    e["MD5OfMessageAttributes"] = json!(m);
                }
                ok.push(e);
            }
            Err(e) => failed.push(failure(id, &e)),
        }
    }
    Ok(json!({"Successful": ok, "Failed": failed}))
}

fn failure(id: &str, e: &QueueError) -> Value {
    json!({"Id": id, "Code": e.code, "Message": e.message, "SenderFault": true})
}

fn batch_entries(body: &Value) -> QResult<&Vec<Value>> {
    let entries = body["Entries"].as_array().ok_or_else(|| {
        QueueError::new(
            "EmptyBatchRequest",
            "the batch needs at least one entry in `Entries`",
        )
    })?;
    if entries.is_empty() || entries.len() > 10 {
        return Err(QueueError::new(
            "TooManyEntriesInBatchRequest",
            format!("a batch holds 1 to 10 entries, not {}", entries.len()),
        ));
    }
    Ok(entries)
}

/// A batch of per-entry operations: `Successful` ids and `Failed` entries.
fn batch(body: &Value, mut op: impl FnMut(&Value) -> QResult<()>) -> QResult<Value> {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for entry in batch_entries(body)? {
        let id = string(entry, "Id")?;
        match op(entry) {
            Ok(()) => ok.push(json!({"Id": id})),
            Err(e) => failed.push(failure(id, &e)),
        }
    }
    Ok(json!({"Successful": ok, "Failed": failed}))
}

async fn receive(queues: &Queues, body: &Value) -> QResult<Value> {
    let queue = queue_of(body)?;
    let defaults = with_defaults(&queues.store.attributes(&queue)?);
    let max = int(body, "MaxNumberOfMessages", 1..=10)?.unwrap_or(1) as usize;
    let visibility = match int(body, "VisibilityTimeout", 0..=43200)? {
        Some(v) => v,
        None => defaults["VisibilityTimeout"].parse().unwrap_or(30),
    };
    let wait = match int(body, "WaitTimeSeconds", 0..=20)? {
        Some(v) => v,
        None => defaults["ReceiveMessageWaitTimeSeconds"]
            .parse()
            .unwrap_or(0),
    };
    let messages = queues
        .receive(&queue, max, visibility, Duration::from_secs(wait as u64))
        .await?;
    let wanted = wanted_system_attributes(body);
    let out: Vec<Value> = messages
        .iter()
        .map(|m| message_json(m, &wanted))
        .collect::<QResult<_>>()?;
    Ok(json!({"Messages": out}))
}

fn wanted_system_attributes(body: &Value) -> Vec<String> {
    ["AttributeNames", "MessageSystemAttributeNames"]
        .iter()
        .filter_map(|f| body[*f].as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn message_json(m: &Message, wanted: &[String]) -> QResult<Value> {
    let mut out = json!({
        "MessageId": m.id,
        "ReceiptHandle": m.receipt,
        "MD5OfBody": hex(&Md5::digest(m.body.as_bytes())),
        "Body": m.body,
    });
    if !wanted.is_empty() {
        let mut attrs = system_attributes(m);
        if !wanted.iter().any(|w| w == "All") {
            attrs
                .as_object_mut()
                .unwrap()
                .retain(|k, _| wanted.contains(k));
        }
        out["Attributes"] = attrs;
    }
    if let Some(md5a) = md5_of_attributes(&m.attributes)? {
        out["MessageAttributes"] = m.attributes.clone();
        out["MD5OfMessageAttributes"] = json!(md5a);
    }
    Ok(out)
}
