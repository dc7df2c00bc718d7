//! The embedded queue against boto3's SQS client (an independent implementation of the SQS API
//! and of SigV4): the actions, long polling, visibility, dead-lettering, wrong credentials, and
//! messages surviving a restart.

use std::process::Command;

use sebs_storage::{Credentials, QueueServer};

/// Run a boto3 `script` with `sqs` bound to a client of `server`; returns (success, output).
fn boto3(server: &QueueServer, credentials: &Credentials, script: &str) -> (bool, String) {
    let prelude = r#"
import os, boto3, botocore.config
sqs = boto3.client("sqs", endpoint_url=os.environ["QUEUE_URL"], region_name="us-east-1",
    aws_access_key_id=os.environ["QUEUE_KEY"], aws_secret_access_key=os.environ["QUEUE_SECRET"],
    config=botocore.config.Config(retries={"max_attempts": 1}))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .env("QUEUE_URL", format!("http://{}", server.addr()))
        .env("QUEUE_KEY", &credentials.access_key)
        .env("QUEUE_SECRET", &credentials.secret_key)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn start(dir: &std::path::Path, credentials: &Credentials) -> QueueServer {
    QueueServer::start(dir, 0, credentials, "us-east-1")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_actions_visibility_and_long_polling() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Credentials::generate();
    let server = start(dir.path(), &keys).await;
    let script = r#"
import threading, time
url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
assert url.endswith("/000000000000/jobs"), url
assert sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "5"})["QueueUrl"] == url
assert sqs.get_queue_url(QueueName="jobs")["QueueUrl"] == url
try:
    sqs.get_queue_url(QueueName="nope"); raise SystemExit("missing queue found")
except sqs.exceptions.QueueDoesNotExist:
    pass
r = sqs.send_message(QueueUrl=url, MessageBody="one", MessageAttributes={
    "kind": {"DataType": "String", "StringValue": "k"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
b = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m%d" % i} for i in range(5)])
assert len(b["Successful"]) == 5 and not b.get("Failed"), b
got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                          AttributeNames=["All"])["Messages"]
assert [m["Body"] for m in got] == ["one", "m0", "m1", "m2", "m3", "m4"], got
assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "k"
assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
# All in flight: nothing to receive, and the counts say so.
assert "Messages" not in sqs.receive_message(QueueUrl=url) or not sqs.receive_message(QueueUrl=url)["Messages"]
a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
assert a["ApproximateNumberOfMessagesNotVisible"] == "6" and a["ApproximateNumberOfMessages"] == "0", a
assert a["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:jobs", a
sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
d = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[1:4])])
assert len(d["Successful"]) == 3, d
# m3 back at once; m4's visibility lapses after 1 s.
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[4]["ReceiptHandle"], VisibilityTimeout=0)
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[5]["ReceiptHandle"], VisibilityTimeout=1)
again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])["Messages"]
assert [m["Body"] for m in again] == ["m3"] and again[0]["Attributes"]["ApproximateReceiveCount"] == "2", again
late = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
assert [m["Body"] for m in late] == ["m4"], late
# Long polling: a receive waiting 10 s returns soon after a send from another thread.
def later():
    time.sleep(1)
    sqs.send_message(QueueUrl=url, MessageBody="late")
threading.Thread(target=later).start()
t = time.time()
m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
assert [x["Body"] for x in m] == ["late"] and time.time() - t < 5, (m, time.time() - t)
sqs.create_queue(QueueName="other")
assert sorted(sqs.list_queues()["QueueUrls"]) == sorted([url, url.replace("jobs", "other")])
assert sqs.list_queues(QueueNamePrefix="oth")["QueueUrls"] == [url.replace("jobs", "other")]
sqs.purge_queue(QueueUrl=url)
assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"
sqs.delete_queue(QueueUrl=url)
assert sqs.list_queues()["QueueUrls"] == [url.replace("jobs", "other")]
try:
    sqs.send_message(QueueUrl=url, MessageBody="x"); raise SystemExit("sent to a deleted queue")
except sqs.exceptions.QueueDoesNotExist:
    pass
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, script);
    assert!(ok, "{out}");

    // A wrong secret and an unknown access key are refused.
    for wrong in [
        Credentials {
            access_key: keys.access_key.clone(),
            secret_key: "x".repeat(40),
        },
        Credentials::generate(),
    ] {
        let (ok, out) = boto3(&server, &wrong, "sqs.list_queues()");
        assert!(!ok, "{out}");
        assert!(
            out.contains("SignatureDoesNotMatch") || out.contains("InvalidClientTokenId"),
            "{out}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_moves_messages_after_max_receives() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Credentials::generate();
    let server = start(dir.path(), &keys).await;
    let script = r#"
import json
dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
url = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": json.dumps(
    {"deadLetterTargetArn": arn, "maxReceiveCount": "2"})})["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="poison")
for n in (1, 2):
    m = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"])["Messages"]
    assert m[0]["Attributes"]["ApproximateReceiveCount"] == str(n), m
assert not sqs.receive_message(QueueUrl=url).get("Messages"), "received a third time"
m = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
assert [x["Body"] for x in m] == ["poison"] and m[0]["Attributes"]["ApproximateReceiveCount"] == "1", m
try:
    sqs.create_queue(QueueName="bad", Attributes={"RedrivePolicy": "{}"}); raise SystemExit("accepted")
except sqs.exceptions.ClientError as e:
    assert "deadLetterTargetArn" in str(e), e
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, script);
    assert!(ok, "{out}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Credentials::generate();
    let server = start(dir.path(), &keys).await;
    let send = r#"
url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
for b in range(10):
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "%d" % (b * 10 + i)} for i in range(10)])
# Ten of them in flight (received, not deleted) when the server stops.
assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 10
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, send);
    assert!(ok, "{out}");
    server.shutdown().await;

    let server = start(dir.path(), &keys).await;
    let drain = r#"
url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
seen = set()
while len(seen) < 100:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=3).get("Messages", [])
    assert got, "only %d of 100 messages came back" % len(seen)
    for m in got:
        seen.add(int(m["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
assert seen == set(range(100))
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, drain);
    assert!(ok, "{out}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_events_once_per_upload_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Credentials::generate();
    let queue = start(&dir.path().join("queues"), &keys).await;
    let objects = sebs_storage::ObjectServer::start_with_events(
        &dir.path().join("objects"),
        0,
        &keys,
        Some(queue.queues()),
    )
    .await
    .unwrap();
    let script = format!(
        r#"
import json, concurrent.futures, urllib.parse
s3 = boto3.client("s3", endpoint_url="http://{}", region_name="us-east-1",
    aws_access_key_id=os.environ["QUEUE_KEY"], aws_secret_access_key=os.environ["QUEUE_SECRET"])
s3.create_bucket(Bucket="uploads")
url = sqs.create_queue(QueueName="events")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
config = {{"QueueConfigurations": [
    {{"Id": "created", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
     "Filter": {{"Key": {{"FilterRules": [{{"Name": "prefix", "Value": "in/"}}]}}}}}},
    {{"Id": "removed", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}}]}}
s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=config)
got = s3.get_bucket_notification_configuration(Bucket="uploads")["QueueConfigurations"]
assert [c["Id"] for c in got] == ["created", "removed"] and got[0]["Filter"]["Key"]["FilterRules"][0]["Value"] == "in/", got
try:
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={{"QueueConfigurations": [
        {{"QueueArn": arn.replace("events", "missing"), "Events": ["s3:ObjectCreated:*"]}}]}})
    raise SystemExit("a missing queue was accepted")
except s3.exceptions.ClientError as e:
    assert "does not exist" in str(e), e
keys = ["in/file %d.bin" % i for i in range(40)]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda k: s3.put_object(Bucket="uploads", Key=k, Body=b"x" * 7), keys))
s3.put_object(Bucket="uploads", Key="elsewhere.bin", Body=b"ignored by the prefix filter")
s3.delete_object(Bucket="uploads", Key="in/file 0.bin")
records = []
while True:
    m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    if not m:
        break
    for x in m:
        records += json.loads(x["Body"])["Records"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=x["ReceiptHandle"])
created = sorted(urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in records if r["eventName"] == "ObjectCreated:Put")
assert created == sorted(keys), created
removed = [r for r in records if r["eventName"].startswith("ObjectRemoved")]
assert len(removed) == 1 and removed[0]["s3"]["object"]["key"] == "in/file+0.bin", removed
r = records[0]
assert r["eventSource"] == "aws:s3" and r["eventVersion"] == "2.1" and r["s3"]["bucket"]["name"] == "uploads", r
assert all(x["s3"]["object"]["size"] == 7 for x in records if x["eventName"] == "ObjectCreated:Put")
assert len(records) == 41, len(records)
print("ok")
"#,
        objects.addr()
    );
    let (ok, out) = boto3(&queue, &keys, &script);
    assert!(ok, "{out}");
    objects.shutdown().await;
    queue.shutdown().await;
}

/// An invoker that records the bodies of its events and fails some of them.
struct Recorder {
    seen: std::sync::Mutex<Vec<Vec<String>>>,
}

#[async_trait::async_trait]
impl sebs_storage::mapping::Invoker for Recorder {
    async fn invoke(&self, event: serde_json::Value) -> Result<serde_json::Value, String> {
        let records = event["Records"].as_array().cloned().unwrap_or_default();
        let bodies: Vec<String> = records
            .iter()
            .map(|r| r["body"].as_str().unwrap_or("").to_owned())
            .collect();
        let first_time = {
            let mut seen = self.seen.lock().unwrap();
            let before = seen
                .iter()
                .flatten()
                .filter(|b| b.as_str() == "flaky")
                .count();
            seen.push(bodies.clone());
            before == 0
        };
        if bodies.iter().any(|b| b == "poison") {
            return Err("the function raised".into());
        }
        // `flaky` fails its first delivery through a partial batch response.
        let failures: Vec<serde_json::Value> = records
            .iter()
            .filter(|r| r["body"] == "flaky" && first_time)
            .map(|r| serde_json::json!({"itemIdentifier": r["messageId"]}))
            .collect();
        Ok(serde_json::json!({"batchItemFailures": failures}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_batches_retries_and_dead_letters() {
    use sebs_storage::mapping::{EventSourceMapping, MappingConfig, Source};
    let dir = tempfile::tempdir().unwrap();
    let keys = Credentials::generate();
    let server = start(dir.path(), &keys).await;
    let setup = r#"
import json
dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sqs.create_queue(QueueName="in", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})})
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, setup);
    assert!(ok, "{out}");
    let recorder = std::sync::Arc::new(Recorder {
        seen: Default::default(),
    });
    let mapping = EventSourceMapping::start(
        server.queues(),
        MappingConfig {
            queue: "in".into(),
            source: Source::Sqs,
            batch_size: 4,
            batching_window: std::time::Duration::from_millis(800),
            visibility_timeout_s: 2,
            report_batch_item_failures: true,
        },
        recorder.clone(),
    );
    // Four ordinary messages arrive within the window: one invocation with all four. Then the
    // flaky one (retried once) and the poison one (retried, then dead-lettered).
    let send = r#"
url = sqs.get_queue_url(QueueName="in")["QueueUrl"]
sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "ok%d" % i} for i in range(4)])
import time; time.sleep(2.5)
sqs.send_message(QueueUrl=url, MessageBody="flaky")
time.sleep(2.5)
sqs.send_message(QueueUrl=url, MessageBody="poison")
dlq = sqs.get_queue_url(QueueName="dlq")["QueueUrl"]
got = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=20).get("Messages", [])
assert [m["Body"] for m in got] == ["poison"], got
a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
assert a["ApproximateNumberOfMessages"] == "0" and a["ApproximateNumberOfMessagesNotVisible"] == "0", a
print("ok")
"#;
    let (ok, out) = boto3(&server, &keys, send);
    mapping.stop().await;
    assert!(ok, "{out}");
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen[0], vec!["ok0", "ok1", "ok2", "ok3"], "{seen:?}");
    let count = |body: &str| seen.iter().flatten().filter(|b| b.as_str() == body).count();
    assert_eq!(count("flaky"), 2, "{seen:?}");
    assert_eq!(count("poison"), 3, "{seen:?}");
    assert_eq!(count("ok0"), 1, "{seen:?}");
    server.shutdown().await;
}
