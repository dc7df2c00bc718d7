// Google Cloud entry point of a sebs Node.js package: `exports.handler(req, res)` runs the SeBS
// wrapper (`handler.js`). Cloud Functions (1st and 2nd gen) and Cloud Run functions call it with
// the Express request; the JSON body is the benchmark's input, the request id the
// `Function-Execution-Id` header, else the trace id of `X-Cloud-Trace-Context`.
'use strict';
const crypto = require('crypto');
const sebs = require('./handler');

function requestId(req) {
  const id = req.get('Function-Execution-Id');
  if (id) return id;
  const trace = req.get('X-Cloud-Trace-Context');
  return trace ? trace.split('/')[0] : crypto.randomBytes(8).toString('hex');
}

exports.handler = async function handler(req, res) {
  const payload = req.body && typeof req.body === 'object' ? req.body : {};
  const traceparent = req.get('traceparent');
  if (traceparent && payload.traceparent === undefined) payload.traceparent = traceparent;
  try {
    const out = await sebs.handler(payload, { awsRequestId: requestId(req) });
    const body = typeof out.body === 'string' ? JSON.parse(out.body) : out.body;
    res.status(200).json(body);
  } catch (e) {
    res.status(500).json({ error: String(e && e.stack ? e.stack : e) });
  }
};
