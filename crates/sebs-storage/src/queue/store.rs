//! The queues' durable state: one SQLite file (WAL, synchronous commits), so messages survive a
//! restart of the server (and of the process) without loss.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

/// A queue error: the SQS error code and message.
#[derive(Debug, Clone)]
pub struct QueueError {
    /// SQS error code (`QueueDoesNotExist`, `InvalidParameterValue`, ...).
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl QueueError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        QueueError {
            code,
            message: message.into(),
        }
    }

    fn no_queue(name: &str) -> Self {
        Self::new(
            "QueueDoesNotExist",
            format!("the queue `{name}` does not exist: create it first (CreateQueue)"),
        )
    }
}

impl From<rusqlite::Error> for QueueError {
    fn from(e: rusqlite::Error) -> Self {
        QueueError::new("InternalError", format!("queue database error: {e}"))
    }
}

/// Result of a queue operation.
pub type QResult<T> = std::result::Result<T, QueueError>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A message as stored.
#[derive(Debug, Clone)]
pub struct Message {
    /// The message id (a UUID).
    pub id: String,
    /// The body.
    pub body: String,
    /// Message attributes as SQS's JSON shape (`{"name": {"DataType": ..., "StringValue": ...}}`).
    pub attributes: Value,
    /// When it was sent (ms).
    pub sent_ms: i64,
    /// How often it has been received (this receive included).
    pub receive_count: i64,
    /// The first receive (ms).
    pub first_receive_ms: i64,
    /// The receipt handle of the latest receive.
    pub receipt: String,
}

/// The SQLite-backed queues.
pub struct Store {
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    attributes TEXT NOT NULL,
    created_s INTEGER NOT NULL,
    modified_s INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    visible_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, visible_ms, seq);
";

/// Queue attributes with SQS's defaults filled in.
pub fn with_defaults(given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = [
        ("VisibilityTimeout", "30"),
        ("DelaySeconds", "0"),
        ("MessageRetentionPeriod", "345600"),
        ("MaximumMessageSize", "262144"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    all.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// The redrive policy of a queue: the dead-letter queue's name and the receive limit.
fn redrive(attributes: &BTreeMap<String, String>) -> QResult<Option<(String, i64)>> {
    let Some(policy) = attributes.get("RedrivePolicy") else {
        return Ok(None);
    };
    let bad = || {
        QueueError::new(
            "InvalidParameterValue",
            "RedrivePolicy must be JSON like {\"deadLetterTargetArn\": \"arn:aws:sqs:REGION:ACCOUNT:NAME\", \"maxReceiveCount\": 5}",
        )
    };
    let policy: Value = serde_json::from_str(policy).map_err(|_| bad())?;
    let arn = policy["deadLetterTargetArn"].as_str().ok_or_else(bad)?;
    let max = match &policy["maxReceiveCount"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|n| *n >= 1)
    .ok_or_else(bad)?;
    let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
    Ok(Some((name, max)))
}

impl Store {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Connection::open(path)
            .with_context(|| format!("failed to open the queue database {}", path.display()))?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA).with_context(|| {
            format!(
                "failed to initialise the queue database {}; remove it if it is corrupt",
                path.display()
            )
        })?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Create `name` with `attributes` (idempotent when the attributes agree).
    pub fn create(&self, name: &str, attributes: &BTreeMap<String, String>) -> QResult<()> {
        redrive(attributes)?;
        let db = self.lock();
        let existing: Option<String> = db
            .query_row(
                "SELECT attributes FROM queues WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(existing) = existing {
            let existing: BTreeMap<String, String> =
                serde_json::from_str(&existing).unwrap_or_default();
            if attributes.iter().any(|(k, v)| existing.get(k) != Some(v)) {
                return Err(QueueError::new(
                    "QueueAlreadyExists",
                    format!(
                        "the queue `{name}` exists with other attributes: delete it or use SetQueueAttributes"
                    ),
                ));
            }
            return Ok(());
        }
        let now = now_ms() / 1000;
        db.execute(
            "INSERT INTO queues (name, attributes, created_s, modified_s) VALUES (?1, ?2, ?3, ?3)",
            params![name, serde_json::to_string(attributes).unwrap(), now],
        )?;
        Ok(())
    }

    /// The attributes a queue was given (defaults not filled in), or `QueueDoesNotExist`.
    pub fn attributes(&self, name: &str) -> QResult<BTreeMap<String, String>> {
        let text: Option<String> = self
            .lock()
            .query_row(
                "SELECT attributes FROM queues WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or_else(|| QueueError::no_queue(name))?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }

    /// Merge `attributes` into the queue's.
    pub fn set_attributes(&self, name: &str, attributes: &BTreeMap<String, String>) -> QResult<()> {
        let mut all = self.attributes(name)?;
        all.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        redrive(&all)?;
        self.lock().execute(
            "UPDATE queues SET attributes = ?2, modified_s = ?3 WHERE name = ?1",
            params![name, serde_json::to_string(&all).unwrap(), now_ms() / 1000],
        )?;
        Ok(())
    }

    /// Delete a queue and its messages.
    pub fn delete(&self, name: &str) -> QResult<()> {
        self.attributes(name)?;
        let db = self.lock();
        db.execute("DELETE FROM messages WHERE queue = ?1", [name])?;
        db.execute("DELETE FROM queues WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Delete every message of a queue.
    pub fn purge(&self, name: &str) -> QResult<()> {
        self.attributes(name)?;
        self.lock()
            .execute("DELETE FROM messages WHERE queue = ?1", [name])?;
        Ok(())
    }

    /// The names of all queues starting with `prefix`.
    pub fn list(&self, prefix: &str) -> QResult<Vec<String>> {
        let db = self.lock();
        let mut stmt = db.prepare("SELECT name FROM queues ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(names
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .collect())
    }

    /// Store a message; returns its id. `delay_s` overrides the queue's `DelaySeconds`.
    pub fn send(
        &self,
        queue: &str,
        body: &str,
        attributes: &Value,
        delay_s: Option<i64>,
    ) -> QResult<String> {
        let all = with_defaults(&self.attributes(queue)?);
        let max: usize = all["MaximumMessageSize"].parse().unwrap_or(262144);
        if body.len() > max {
            return Err(QueueError::new(
                "InvalidParameterValue",
                format!(
                    "the message body is {} bytes, more than the queue's MaximumMessageSize {max}",
                    body.len()
                ),
            ));
        }
        if body.is_empty() {
            return Err(QueueError::new(
                "MissingParameter",
                "the message body must not be empty",
            ));
        }
        let delay = delay_s.unwrap_or_else(|| all["DelaySeconds"].parse().unwrap_or(0));
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        self.lock().execute(
            "INSERT INTO messages (id, queue, body, attributes, sent_ms, visible_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, queue, body, attributes.to_string(), now, now + delay * 1000],
        )?;
        Ok(id)
    }

    /// Receive up to `max` visible messages, hiding them for `visibility_s`; messages received
    /// `maxReceiveCount` times already move to the dead-letter queue instead.
    pub fn receive(&self, queue: &str, max: usize, visibility_s: i64) -> QResult<Vec<Message>> {
        let all = with_defaults(&self.attributes(queue)?);
        let policy = redrive(&all)?;
        let retention_ms = all["MessageRetentionPeriod"]
            .parse::<i64>()
            .unwrap_or(345600)
            * 1000;
        let now = now_ms();
        let mut db = self.lock();
        let tx = db.transaction()?;
        tx.execute(
            "DELETE FROM messages WHERE queue = ?1 AND sent_ms < ?2",
            params![queue, now - retention_ms],
        )?;
        let mut out = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT seq, id, body, attributes, sent_ms, receive_count, first_receive_ms FROM messages
                 WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![queue, now, (max * 4 + 16) as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        Message {
                            id: r.get(1)?,
                            body: r.get(2)?,
                            attributes: serde_json::from_str(&r.get::<_, String>(3)?)
                                .unwrap_or(Value::Null),
                            sent_ms: r.get(4)?,
                            receive_count: r.get(5)?,
                            first_receive_ms: r.get(6)?,
                            receipt: String::new(),
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (seq, mut message) in rows {
                if out.len() == max {
                    break;
                }
                if let Some((dlq, limit)) = &policy
                    && message.receive_count >= *limit
                {
                    // Moved with a fresh receive count, as SQS's redrive does.
                    tx.execute(
                        "UPDATE messages SET queue = ?2, receive_count = 0, first_receive_ms = 0, visible_ms = ?3, receipt = NULL WHERE seq = ?1",
                        params![seq, dlq, now],
                    )?;
                    continue;
                }
                message.receive_count += 1;
                if message.first_receive_ms == 0 {
                    message.first_receive_ms = now;
                }
                message.receipt = format!("{}#{}", message.id, uuid::Uuid::new_v4().simple());
                tx.execute(
                    "UPDATE messages SET receive_count = ?2, first_receive_ms = ?3, visible_ms = ?4, receipt = ?5 WHERE seq = ?1",
                    params![seq, message.receive_count, message.first_receive_ms, now + visibility_s * 1000, message.receipt],
                )?;
                out.push(message);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Delete the message last received with `receipt` (a stale handle deletes nothing).
    pub fn delete_message(&self, queue: &str, receipt: &str) -> QResult<()> {
        self.attributes(queue)?;
        check_receipt(receipt)?;
        self.lock().execute(
            "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2",
            params![queue, receipt],
        )?;
        Ok(())
    }

    /// Make the message received with `receipt` visible again after `visibility_s`.
    pub fn change_visibility(&self, queue: &str, receipt: &str, visibility_s: i64) -> QResult<()> {
        self.attributes(queue)?;
        check_receipt(receipt)?;
        let now = now_ms();
        let changed = self.lock().execute(
            "UPDATE messages SET visible_ms = ?3 WHERE queue = ?1 AND receipt = ?2 AND visible_ms > ?4",
            params![queue, receipt, now + visibility_s * 1000, now],
        )?;
        if changed == 0 {
            return Err(QueueError::new(
                "MessageNotInflight",
                "the message is not in flight under this receipt handle (it became visible again or was received anew)",
            ));
        }
        Ok(())
    }

    /// `(visible, in flight or delayed-not-yet-received, delayed)` message counts.
    pub fn counts(&self, queue: &str) -> QResult<(i64, i64, i64)> {
        self.attributes(queue)?;
        let now = now_ms();
        let db = self.lock();
        let count = |sql: &str| -> QResult<i64> {
            Ok(db.query_row(sql, params![queue, now], |r| r.get(0))?)
        };
        Ok((
            count("SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_ms <= ?2")?,
            count(
                "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_ms > ?2 AND receipt IS NOT NULL",
            )?,
            count(
                "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_ms > ?2 AND receipt IS NULL",
            )?,
        ))
    }

    /// Creation and modification times (s) of a queue.
    pub fn times(&self, queue: &str) -> QResult<(i64, i64)> {
        let times = self
            .lock()
            .query_row(
                "SELECT created_s, modified_s FROM queues WHERE name = ?1",
                [queue],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        times.ok_or_else(|| QueueError::no_queue(queue))
    }
}

fn check_receipt(receipt: &str) -> QResult<()> {
    if !receipt.contains('#') {
        return Err(QueueError::new(
            "ReceiptHandleIsInvalid",
            format!(
                "`{receipt}` is not a receipt handle: pass the ReceiptHandle ReceiveMessage returned"
            ),
        ));
    }
    Ok(())
}

/// The JSON a message's `Attributes` has when `All` system attributes are asked for.
pub fn system_attributes(message: &Message) -> Value {
    json!({
        "SenderId": "000000000000",
        "SentTimestamp": message.sent_ms.to_string(),
        "ApproximateReceiveCount": message.receive_count.to_string(),
        "ApproximateFirstReceiveTimestamp": message.first_receive_ms.to_string(),
    })
}
