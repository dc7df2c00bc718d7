// One instance of the fake Functions host's Node.js worker: loads sebs_http/index.js of the app in
// the current directory and calls it with (context, req) for each request line on stdin; answers
// one marked JSON line per request on stdout (console output goes to stderr).
'use strict';
const path = require('path');
const readline = require('readline');

const MARKER = '\x1esebs-azure-worker ';
const write = process.stdout.write.bind(process.stdout);
console.log = console.error;
const entry = require(path.resolve('sebs_http', 'index.js'));
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const req = JSON.parse(line);
  let answer;
  try {
    const res = await entry({ invocationId: req.id }, { method: 'POST', url: req.url, headers: req.headers, body: req.body, rawBody: req.body });
    answer = { status: res.status || 200, body: typeof res.body === 'string' ? res.body : JSON.stringify(res.body) };
  } catch (err) {
    answer = { status: 500, body: '', error: String(err && err.stack) };
  }
  write(MARKER + JSON.stringify(answer) + '\n');
});
