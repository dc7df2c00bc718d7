'use strict';
/**
 * Runtime client for Node.js functions on the sebs local platform (plain Node, no dependencies).
 *
 * It does what AWS Lambda's managed Node.js runtime does: load the handler named by `_HANDLER`
 * from `LAMBDA_TASK_ROOT`, then serve invocations one at a time. Handlers may be async (return a
 * promise), sync, or take a callback as third argument. Two ways to reach the platform:
 *
 * - a private channel (`SEBS_CHANNEL_FD`): length-prefixed frames on an inherited socket, the same
 *   frames as runtimes/python/bootstrap.py: `[u32 length LE][u8 kind][u8 id length][id][body]`;
 *   platform to instance `INVOKE` with `body = u64 deadline-ms LE + u32 busy-poll-us LE + payload`
 *   (the busy-poll budget is not used: node waits for input in its event loop); instance to
 *   platform `READY`, `RESPONSE`, `ERROR` (Lambda error JSON), `INIT_ERROR`, and `TOO_LARGE` (body:
 *   the size in ASCII decimal) in place of a reply over `MAX_RESPONSE` bytes, Lambda's limit;
 * - the Lambda Runtime API over HTTP (`AWS_LAMBDA_RUNTIME_API` = `host:port[/base]`), the protocol
 *   any Lambda runtime speaks.
 *
 * A handler that throws or rejects, and an exception or rejection nobody catches while an
 * invocation runs, fail that invocation with an error; the instance serves the next one.
 */
const path = require('path');

const INVOKE = 1;
const READY = 2;
const RESPONSE = 3;
const ERROR = 4;
const INIT_ERROR = 5;
const TOO_LARGE = 7;
/** Lambda's limit on a synchronous response (sebs_local::MAX_PAYLOAD). */
const MAX_RESPONSE = 6291456;

/** Lambda's error JSON for `err`. */
function errorBody(err, fallbackType) {
  let type = fallbackType || 'Error';
  let message = String(err);
  let stack = [];
  if (err instanceof Error) {
    type = err.name || (err.constructor && err.constructor.name) || type;
    message = err.message;
    stack = String(err.stack || '')
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter((line) => line.length > 0);
    // Like Lambda's runtime: the function's frames, without the runtime's own below them.
    const own = stack.findIndex((line) => line.includes(__filename));
    if (own > 0) {
      stack = stack.slice(0, own);
    }
  } else if (err && typeof err === 'object') {
    try {
      message = JSON.stringify(err);
    } catch (_) {
      message = String(err);
    }
  }
  return Buffer.from(JSON.stringify({ errorType: type, errorMessage: message, stackTrace: stack }));
}

/** The subset of Lambda's context object that functions use. */
function makeContext(requestId, deadlineMs, arn) {
  const env = process.env;
  const name = env.AWS_LAMBDA_FUNCTION_NAME || '';
  return {
    awsRequestId: requestId,
    functionName: name,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST',
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || '',
    invokedFunctionArn: arn || 'arn:aws:lambda:local:000000000000:function:' + name,
    logGroupName: '/aws/lambda/' + name,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME || '',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis() {
      return Math.max(0, deadlineMs - Date.now());
    },
  };
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const spec = process.env._HANDLER || 'handler.handler';
  const dot = spec.lastIndexOf('.');
  const moduleName = spec.slice(0, dot);
  const functionName = spec.slice(dot + 1);
  const base = path.resolve(root, moduleName);
  let mod;
  if (require('fs').existsSync(base + '.mjs')) {
    mod = await import(require('url').pathToFileURL(base + '.mjs').href);
  } else {
    try {
      mod = require(base);
    } catch (err) {
      if (err && err.code === 'ERR_REQUIRE_ESM') {
        mod = await import(require('url').pathToFileURL(require.resolve(base)).href);
      } else {
        if (err && err.code === 'MODULE_NOT_FOUND') {
          err.name = 'Runtime.ImportModuleError';
        }
        throw err;
      }
    }
  }
  const handler = mod[functionName];
  if (typeof handler !== 'function') {
    const err = new Error(moduleName + '.' + functionName + ' is undefined or not exported');
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  return handler;
}

/**
 * Invocation state shared by both protocols: the one in-flight invocation can be failed by an
 * uncaught exception or an unhandled rejection.
 */
let current = null;

function settleCurrent(err) {
  if (current !== null) {
    const settle = current;
    current = null;
    settle.fail(err);
    return true;
  }
  return false;
}

process.on('uncaughtException', (err) => {
  if (!settleCurrent(err)) {
    process.stderr.write('Uncaught exception outside an invocation: ' + ((err && err.stack) || err) + '\n');
  }
});
process.on('unhandledRejection', (reason) => {
  if (!settleCurrent(reason)) {
    process.stderr.write('Unhandled rejection outside an invocation: ' + ((reason && reason.stack) || reason) + '\n');
  }
});

/** Run `handler` once; resolves to [ok, Buffer] (the JSON result, or Lambda's error JSON). */
function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok, value) => {
      if (done) {
        return;
      }
      done = true;
      if (current !== null && current.token === token) {
        current = null;
      }
      if (ok) {
        let json;
        try {
          json = JSON.stringify(value === undefined ? null : value);
        } catch (err) {
          resolve([false, errorBody(err, 'Runtime.SerializationError')]);
          return;
        }
        resolve([true, Buffer.from(json)]);
      } else {
        resolve([false, errorBody(value)]);
      }
    };
    const token = {};
    current = { token, fail: (err) => finish(false, err) };
    try {
      const callback = (err, result) => (err ? finish(false, err) : finish(true, result));
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (value) => finish(true, value),
          (err) => finish(false, err),
        );
      } else if (handler.length < 3) {
        finish(true, returned);
      }
    } catch (err) {
      finish(false, err);
    }
  });
}

// --- framed channel ---------------------------------------------------------------------------

function frame(kind, id, body) {
  const idBytes = Buffer.from(id || '');
  const bodyBytes = body || Buffer.alloc(0);
  const header = Buffer.alloc(6);
  header.writeUInt32LE(2 + idBytes.length + bodyBytes.length, 0);
  header.writeUInt8(kind, 4);
  header.writeUInt8(idBytes.length, 5);
  return Buffer.concat([header, idBytes, bodyBytes]);
}

async function channelMain(fd) {
  const net = require('net');
  const socket = new net.Socket({ fd, readable: true, writable: true });
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    socket.end(frame(INIT_ERROR, '', errorBody(err, 'Runtime.ImportModuleError')), () => process.exit(1));
    return;
  }
  socket.write(frame(READY));

  let buffered = Buffer.alloc(0);
  const queue = [];
  let busy = false;

  async function drain() {
    if (busy) {
      return;
    }
    busy = true;
    while (queue.length > 0) {
      const [kind, id, body] = queue.shift();
      if (kind !== INVOKE) {
        continue;
      }
      const deadline = Number(body.readBigUInt64LE(0));
      const raw = body.subarray(12);
      let event = {};
      let outcome;
      try {
        event = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {};
        outcome = await runHandler(handler, event, makeContext(id, deadline));
      } catch (err) {
        outcome = [false, errorBody(err)];
      }
      if (outcome[1].length > MAX_RESPONSE) {
        // Measured before framing: only the size goes to the platform.
        socket.write(frame(TOO_LARGE, id, Buffer.from(String(outcome[1].length))));
      } else {
        socket.write(frame(outcome[0] ? RESPONSE : ERROR, id, outcome[1]));
      }
    }
    busy = false;
  }

  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const length = buffered.readUInt32LE(0);
      if (buffered.length < 4 + length) {
        break;
      }
      const kind = buffered[4];
      const idLength = buffered[5];
      const id = buffered.toString('utf8', 6, 6 + idLength);
      const body = Buffer.from(buffered.subarray(6 + idLength, 4 + length));
      buffered = buffered.subarray(4 + length);
      queue.push([kind, id, body]);
    }
    drain();
  });
  // The platform closed the channel: this instance is done.
  socket.on('end', () => process.exit(0));
  socket.on('error', () => process.exit(0));
}

// --- Lambda Runtime API (HTTP) ----------------------------------------------------------------

function runtimeApiMain() {
  const http = require('http');
  const address = process.env.AWS_LAMBDA_RUNTIME_API;
  const slash = address.indexOf('/');
  const hostPort = slash < 0 ? address : address.slice(0, slash);
  const base = slash < 0 ? '' : '/' + address.slice(slash + 1);
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon);
  const port = Number(hostPort.slice(colon + 1));
  const prefix = base + '/2018-06-01/runtime';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  function request(method, route, body, headers) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host, port, method, path: prefix + route, agent, headers: headers || {} },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve([res, Buffer.concat(chunks)]));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async function send(method, route, body, headers) {
    try {
      return await request(method, route, body, headers);
    } catch (_) {
      // The gateway closed a kept-alive connection: once more on a fresh one.
      return request(method, route, body, headers);
    }
  }

  (async () => {
    let handler;
    try {
      handler = await loadHandler();
    } catch (err) {
      await send('POST', '/init/error', errorBody(err, 'Runtime.ImportModuleError'), {
        'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError',
      });
      process.exit(1);
    }
    for (;;) {
      const [res, body] = await send('GET', '/invocation/next');
      if (res.statusCode !== 200) {
        process.stderr.write('runtime API refused /next: ' + res.statusCode + ' ' + body + '\n');
        process.exit(1);
      }
      const requestId = res.headers['lambda-runtime-aws-request-id'];
      const deadline = Number(res.headers['lambda-runtime-deadline-ms'] || 0);
      const arn = res.headers['lambda-runtime-invoked-function-arn'] || '';
      let outcome;
      try {
        const event = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
        outcome = await runHandler(handler, event, makeContext(requestId, deadline, arn));
      } catch (err) {
        outcome = [false, errorBody(err)];
      }
      const headers = { 'Content-Type': 'application/json' };
      let route = '/invocation/' + requestId + '/response';
      if (!outcome[0]) {
        route = '/invocation/' + requestId + '/error';
        headers['Lambda-Runtime-Function-Error-Type'] = 'Unhandled';
      }
      await send('POST', route, outcome[1], headers);
    }
  })().catch((err) => {
    process.stderr.write('runtime client failed: ' + ((err && err.stack) || err) + '\n');
    process.exit(1);
  });
}

if (process.env.SEBS_CHANNEL_FD) {
  const fd = Number(process.env.SEBS_CHANNEL_FD);
  delete process.env.SEBS_CHANNEL_FD;
  channelMain(fd);
} else {
  runtimeApiMain();
}
