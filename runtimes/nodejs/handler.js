'use strict';
/**
 * SeBS-style function wrapper for Node.js.
 *
 * Entry point `handler.handler(event, context)`: the same code runs on AWS Lambda's managed Node.js
 * runtime and on the sebs local platform. It unwraps HTTP-trigger events, injects `request-id` and
 * `income-timestamp`, times the benchmark's `function/function.js` `handler(event)` (sync or
 * async), detects cold starts with a marker file in the instance's temporary directory, and returns
 * the standard SeBS response JSON, with `compute_time` (µs, measured with process.hrtime) as SeBS's
 * Node.js wrapper reports it. A profile recorded by `faas_profiler.js` (`fp.profile()(handler)`)
 * is returned under `profile`; the W3C `traceparent` header of an HTTP trigger reaches the
 * profiler in the payload.
 */
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

const fn = require('./function/function.js');

// Where faas_profiler.js leaves the last profile (one global lookup when profiling is unused).
const PROFILE_KEY = Symbol.for('sebs.profile');

// Resolved on first use and kept in memory: one process is one sandbox.
let containerState = null;

/** Seconds since the epoch with sub-millisecond resolution. */
function epochSeconds() {
  return (performance.timeOrigin + performance.now()) / 1000;
}

function payload(event) {
  // HTTP triggers (Lambda Function URLs, API Gateway, the local HTTP trigger) deliver the request
  // body as a string; library (SDK) invocations deliver the payload itself.
  if (event && typeof event === 'object' && typeof event.body === 'string') {
    let body = event.body;
    if ('requestContext' in event) {
      if (event.isBase64Encoded) {
        body = Buffer.from(body, 'base64').toString('utf8');
      }
      const parsed = body ? JSON.parse(body) : {};
      const headers = event.headers;
      if (parsed && typeof parsed === 'object' && headers && typeof headers.traceparent === 'string' && !('traceparent' in parsed)) {
        parsed.traceparent = headers.traceparent;
      }
      return parsed;
    }
    try {
      return JSON.parse(body);
    } catch (_) {
      return event;
    }
  }
  return event === undefined || event === null ? {} : event;
}

/**
 * [isCold, containerId] of this sandbox. The first invocation finds no marker file in the
 * temporary directory, creates one holding a fresh container id and reports a cold start.
 */
function container() {
  if (containerState !== null) {
    return [false, containerState];
  }
  const marker = path.join(process.env.TMPDIR || '/tmp', 'cold_run');
  let isCold;
  let containerId;
  try {
    containerId = fs.readFileSync(marker, 'utf8');
    isCold = false;
  } catch (_) {
    containerId = require('crypto').randomBytes(4).toString('hex');
    fs.writeFileSync(marker, containerId);
    isCold = true;
  }
  containerState = containerId;
  return [isCold, containerId];
}

/** The records of an event-source event (an SQS batch, an S3 notification), or null. */
function records(event) {
  if (!event || typeof event !== 'object' || !Array.isArray(event.Records) || event.Records.length === 0) {
    return null;
  }
  const first = event.Records[0];
  if (first && (first.eventSource === 'aws:sqs' || first.eventSource === 'aws:s3')) {
    return event.Records;
  }
  return null;
}

// The payload fields a trigger adds: its own id of the invocation, and the queue its result goes
// to (on AWS; the local platform reads results from the response instead).
const TRIGGER_REQUEST = 'sebs-trigger-request';
const RESULT_QUEUE = 'sebs-result-queue';

/** Credentials and endpoint for a trigger's S3 object: the local trigger store, else AWS. */
function objectStore(sigv4) {
  const endpoint = process.env.SEBS_TRIGGER_S3_ENDPOINT;
  if (endpoint) {
    const creds = new sigv4.Credentials(process.env.SEBS_TRIGGER_S3_ACCESS_KEY, process.env.SEBS_TRIGGER_S3_SECRET_KEY, 'us-east-1');
    return [creds, endpoint];
  }
  return sigv4.awsFromEnvironment('s3');
}

/** A signed request with a JSON (or empty) body; resolves to [status, body Buffer]. */
async function signedRequest(sigv4, creds, service, endpoint, method, path, headers, data) {
  const [scheme, host] = sigv4.splitAddress(endpoint, endpoint);
  const bare = host.split('/')[0];
  sigv4.signHeaders(creds, service, method, bare, path, [], headers, sigv4.sha256Hex(data || ''));
  const client = new sigv4.Client(scheme, bare);
  const response = await client.send(method, path, headers, () => (data ? Buffer.from(data) : null));
  const body = await sigv4.readAll(response);
  client.agent.destroy();
  return [response.statusCode, body];
}

/** The JSON object a storage trigger uploaded. */
async function readObject(bucket, key) {
  const sigv4 = require('./function/_sigv4.js');
  const [creds, endpoint] = objectStore(sigv4);
  const path = '/' + sigv4.quote(bucket) + '/' + sigv4.quote(key, '/~');
  const [status, body] = await signedRequest(sigv4, creds, 's3', endpoint, 'GET', path, {}, null);
  if (status !== 200) {
    throw new Error(`cannot read the trigger object ${bucket}/${key}: HTTP ${status}`);
  }
  return JSON.parse(body.toString('utf8'));
}

/** Send a record's SeBS response to the trigger's result queue (SQS's JSON protocol). */
async function postResult(queueUrl, request, body) {
  const sigv4 = require('./function/_sigv4.js');
  const [creds] = sigv4.awsFromEnvironment('sqs');
  const message = JSON.stringify({ [TRIGGER_REQUEST]: request, body });
  const data = JSON.stringify({ QueueUrl: queueUrl, MessageBody: message });
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.SendMessage' };
  const [status, answer] = await signedRequest(sigv4, creds, 'sqs', queueUrl, 'POST', '/', headers, data);
  if (status !== 200) {
    throw new Error(`cannot send the result to ${queueUrl}: HTTP ${status} ${answer.toString('utf8').slice(0, 200)}`);
  }
}

/** A record's payload: a queue message's body, or the object an S3 record names. */
async function recordPayload(record) {
  if (record.eventSource === 'aws:sqs') {
    let parsed;
    try {
      parsed = JSON.parse(record.body);
    } catch (_) {
      return { body: record.body };
    }
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : { body: parsed };
  }
  const obj = record.s3.object;
  const location = {
    bucket: record.s3.bucket.name,
    key: decodeURIComponent(String(obj.key).replace(/\+/g, ' ')),
    size: obj.size || 0,
    event: record.eventName || '',
    'event-time': record.eventTime || '',
  };
  const content = await readObject(location.bucket, location.key);
  if (content && typeof content === 'object' && !Array.isArray(content)) {
    content['trigger-object'] = location;
    return content;
  }
  return location;
}

/**
 * Run the benchmark once per record. SQS batches answer Lambda's partial batch response (failed
 * records retried by the event source); each result travels back under `results`.
 */
async function eventBatch(recs, context, incomeTimestamp) {
  const failures = [];
  const results = [];
  for (const record of recs) {
    const ident = record.messageId || (record.s3 && record.s3.object && record.s3.object.key) || '';
    try {
      const event = await recordPayload(record);
      const body = await run(event, context, incomeTimestamp);
      if (event[RESULT_QUEUE]) {
        await postResult(event[RESULT_QUEUE], event[TRIGGER_REQUEST] || '', body);
      }
      results.push({ itemIdentifier: ident, body });
    } catch (err) {
      if (record.eventSource !== 'aws:sqs') {
        throw err;
      }
      failures.push({ itemIdentifier: ident });
      results.push({ itemIdentifier: ident, error: `${err && err.name}: ${err && err.message}` });
    }
  }
  return { batchItemFailures: failures, results };
}

exports.handler = async function handler(event, context) {
  const incomeTimestamp = epochSeconds();
  const recs = records(event);
  if (recs !== null) {
    return eventBatch(recs, context, incomeTimestamp);
  }
  const body = await run(payload(event), context, incomeTimestamp);
  return { statusCode: 200, body: JSON.stringify(body) };
};

/** Time the benchmark on `event`; the SeBS response body. */
async function run(event, context, incomeTimestamp) {
  if (event && typeof event === 'object' && !Array.isArray(event)) {
    event['request-id'] = context.awsRequestId;
    event['income-timestamp'] = incomeTimestamp;
  }

  const begin = epochSeconds();
  const started = process.hrtime.bigint();
  const result = await fn.handler(event);
  const elapsed = process.hrtime.bigint() - started;
  const end = epochSeconds();

  const [isCold, containerId] = container();
  const body = {
    begin,
    end,
    compute_time: Number(elapsed) / 1000,
    results_time: 0,
    is_cold: isCold,
    result,
    request_id: context.awsRequestId,
    cold_start_var: process.env.cold_start || '',
    container_id: containerId,
  };
  const profile = globalThis[PROFILE_KEY];
  if (profile !== undefined) {
    globalThis[PROFILE_KEY] = undefined;
    body.profile = profile;
  }
  return body;
}
