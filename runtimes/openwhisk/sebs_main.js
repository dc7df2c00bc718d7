/**
 * Apache OpenWhisk entry point of a sebs Node.js package: `main(args)` runs `handler.handler`
 * (the package's package.json names this file as `main`).
 *
 * sebs sends the function's environment (storage endpoints and credentials, `cold_start`) as the
 * action's final parameter `__sebs_env`: it is moved into `process.env` before the SeBS wrapper is
 * loaded. Web-action fields (`__ow_*`) are dropped from the payload; a `traceparent` header is
 * kept. The request id is the activation id (`__OW_ACTIVATION_ID`).
 */
'use strict';

const ENV_PARAM = '__sebs_env';

exports.main = async function main(args) {
  const env = args[ENV_PARAM];
  delete args[ENV_PARAM];
  if (env && typeof env === 'object') {
    for (const [key, value] of Object.entries(env)) {
      process.env[key] = String(value);
    }
  }
  const headers = args.__ow_headers || {};
  const payload = {};
  for (const [key, value] of Object.entries(args)) {
    if (!key.startsWith('__ow_')) {
      payload[key] = value;
    }
  }
  if (headers.traceparent !== undefined && payload.traceparent === undefined) {
    payload.traceparent = headers.traceparent;
  }
  const handler = require('./handler');
  const response = await handler.handler(payload, {
    awsRequestId: process.env.__OW_ACTIVATION_ID || '',
  });
  if (response && typeof response.body === 'string') {
    return JSON.parse(response.body);
  }
  return response;
};
