/**
 * Azure Functions entry point of a sebs Node.js package (`sebs_http/index.js` in the app).
 *
 * The HTTP trigger runs the SeBS wrapper `handler.handler` of the package root: the request body
 * is the payload, a `traceparent` header reaches the profiler, and the invocation id is the
 * request id, so results and Application Insights' `requests` records match. The response is the
 * SeBS JSON; an exception answers HTTP 500 with Lambda's error fields (errorType, errorMessage,
 * stackTrace).
 */
'use strict';

const path = require('path');

module.exports = async function sebsHttp(context, req) {
  let payload = req.body;
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    try {
      payload = JSON.parse(payload.toString());
    } catch (err) {
      payload = {};
    }
  }
  if (payload === undefined || payload === null) {
    payload = {};
  }
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    payload = { payload };
  }
  const headers = req.headers || {};
  if (headers.traceparent !== undefined && payload.traceparent === undefined) {
    payload.traceparent = headers.traceparent;
  }
  const handler = require(path.join(__dirname, '..', 'handler'));
  const json = { 'Content-Type': 'application/json' };
  try {
    const response = await handler.handler(payload, { awsRequestId: context.invocationId });
    if (response && typeof response.body === 'string') {
      return { status: response.statusCode || 200, body: response.body, headers: json };
    }
    return { status: 200, body: JSON.stringify(response), headers: json };
  } catch (err) {
    const error = {
      errorType: (err && err.name) || 'Error',
      errorMessage: String((err && err.message) || err),
      stackTrace: String((err && err.stack) || '').split('\n'),
      request_id: context.invocationId,
    };
    return { status: 500, body: JSON.stringify(error), headers: json };
  }
};
