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

exports.handler = async function handler(event, context) {
  const incomeTimestamp = epochSeconds();
  event = payload(event);
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
  return { statusCode: 200, body: JSON.stringify(body) };
};
