"""Plays Lambda's part behind a storage or queue trigger for the tests, where moto runs no
function code: it polls a queue (as an event source mapping does) or watches a bucket (as S3's
notifications to Lambda do), builds the event Lambda would deliver, and calls the real SeBS
wrapper (`handler.handler`) of a built package, which reads the trigger object and sends the
result to the trigger's result queue itself.

usage: lambda_poller.py queue|storage QUEUE_URL|BUCKET PACKAGE_DIR COUNT
"""
import os
import sys
import time
import uuid
from urllib.parse import quote_plus

import boto3

mode, target, package, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, package)
import handler  # noqa: E402 - the package's wrapper


class Context:
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())


def sqs_records(sqs):
    out = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + target.rsplit("/", 1)[-1],
            "awsRegion": "us-east-1",
        }
        for m in out.get("Messages", [])
    ]
    return records


def s3_records(s3, seen):
    records = []
    for obj in s3.list_objects_v2(Bucket=target).get("Contents", []):
        if obj["Key"] in seen:
            continue
        seen.add(obj["Key"])
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": target, "arn": "arn:aws:s3:::" + target},
                    "object": {"key": quote_plus(obj["Key"]), "size": obj["Size"]},
                },
            }
        )
    return records


def main():
    sqs = boto3.client("sqs")
    s3 = boto3.client("s3")
    seen, handled, deadline = set(), 0, time.time() + 120
    while handled < count and time.time() < deadline:
        records = sqs_records(sqs) if mode == "queue" else s3_records(s3, seen)
        if not records:
            time.sleep(0.1)
            continue
        # S3 invokes once per record; an event source mapping batches.
        batches = [records] if mode == "queue" else [[r] for r in records]
        for batch in batches:
            response = handler.handler({"Records": batch}, Context())
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for record in batch:
                if mode == "queue" and record["messageId"] not in failed:
                    sqs.delete_message(QueueUrl=target, ReceiptHandle=record["receiptHandle"])
            handled += len(batch) - len(failed)
    print("handled", handled, flush=True)
    sys.exit(0 if handled >= count else 1)


main()
