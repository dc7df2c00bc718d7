/**
 * HTTP server runtime of a sebs Node.js package in a Knative (or any container) image.
 *
 * Serves `POST` on any path at `$PORT` (8080 by default): the body is the benchmark input,
 * passed to the SeBS wrapper `handler.handler` as an HTTP-trigger event (a `traceparent` header
 * reaches the profiler); the SeBS response JSON is the response body. A failing function answers
 * 500 with `errorType`, `errorMessage` and `stackTrace`. `GET` answers 200 (readiness). The
 * request id is the `x-request-id` header when the ingress sets one, else a fresh one.
 *
 * The package's files are in `$SEBS_FUNCTION_DIR`, by default this file's directory.
 */
'use strict';

const http = require('http');
const path = require('path');
const crypto = require('crypto');

const dir = process.env.SEBS_FUNCTION_DIR || __dirname;
const handler = require(path.join(dir, 'handler.js'));

function send(res, status, body) {
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length });
  res.end(data);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    send(res, 200, '{"status": "ready"}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const event = { body: raw, headers: req.headers, requestContext: { http: { method: 'POST' } } };
    const requestId = req.headers['x-request-id'] || crypto.randomUUID().replace(/-/g, '');
    try {
      const response = await handler.handler(event, { awsRequestId: requestId });
      const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      send(res, 200, body);
    } catch (e) {
      send(res, 500, JSON.stringify({
        errorType: (e && e.name) || 'Error',
        errorMessage: String((e && e.message) || e),
        stackTrace: String((e && e.stack) || '').split('\n'),
      }));
    }
  });
});

server.listen(Number(process.env.PORT || 8080), process.env.SEBS_BIND || '0.0.0.0');
