'use strict';
/**
 * A profiler for serverless functions, shipped with every sebs Node.js package (the counterpart
 * of runtimes/python/faas_profiler_python.py, with the same profile format):
 *
 *     const fp = require('../faas_profiler');
 *     exports.handler = fp.profile()(async (event) => { ... });
 *
 * Per invocation: wall and CPU time (process.cpuUsage), CPU utilisation and RSS sampled over time
 * by a timer (it fires only while the event loop is free: code that never yields is measured at
 * its start and end), peak RSS (reset per invocation on Linux), block I/O (and, with
 * `ioCounters` / SEBS_PROFILE_IO=1, /proc's character and network-namespace counters), the instance's cold/warm state, storage and NoSQL operations through the sebs shims,
 * and invocations of other functions made with `invoke`, which carries the W3C `traceparent`.
 *
 * Configuration, by option or environment (an option wins): `interval` (seconds) /
 * SEBS_PROFILE_INTERVAL_MS (default 20 ms, 0: no sampling), `enabled` / SEBS_PROFILE,
 * `captures` / SEBS_PROFILE_CAPTURES, `ioCounters` / SEBS_PROFILE_IO. The SeBS wrapper (handler.js) returns the profile under
 * `profile` in its response.
 */
const fs = require('fs');
const { performance } = require('perf_hooks');

const PROFILE_KEY = Symbol.for('sebs.profile');
const VERSION = 1;
const PAGE = 4096;

const instance = { pid: process.pid, started: Date.now() / 1000, invocations: 0, warmSince: null };
let active = null;

function envFlag(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    return fallback;
  }
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

/**
 * `bytes` random bytes as hex. Math.random, as OpenTelemetry's own JavaScript id generator
 * uses: ids must be unique, not secret, and `crypto` costs milliseconds to load at a cold start.
 */
function newId(bytes) {
  let out = '';
  for (let i = 0; i < bytes; i++) {
    out += Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  }
  return /^0+$/.test(out) ? newId(bytes) : out;
}

function epoch() {
  return (performance.timeOrigin + performance.now()) / 1000;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** [trace id, parent span id, flags] of a W3C `traceparent`, or null if malformed. */
function parseTraceparent(value) {
  if (typeof value !== 'string') {
    return null;
  }
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) {
    return null;
  }
  return [m[2], m[3], m[4]];
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (_) {
    return null;
  }
}

function rss() {
  const statm = readText('/proc/self/statm');
  return statm ? Number(statm.split(' ')[1]) * PAGE : process.memoryUsage.rss();
}

function resetPeak() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch (_) {
    return false;
  }
}

function diskIo() {
  const text = readText('/proc/self/io');
  const out = {};
  if (text) {
    for (const line of text.split('\n')) {
      const [k, v] = line.split(':');
      if (['rchar', 'wchar', 'read_bytes', 'write_bytes', 'syscr', 'syscw'].includes(k)) {
        out[k] = Number(v);
      }
    }
  }
  return out;
}

function netIo() {
  const text = readText('/proc/self/net/dev');
  if (!text) {
    return {};
  }
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const values = (line.split(':')[1] || '').trim().split(/\s+/);
    if (values.length >= 9) {
      rx += Number(values[0]);
      tx += Number(values[8]);
    }
  }
  return { rx_bytes: rx, tx_bytes: tx };
}

function delta(end, start) {
  const out = {};
  for (const k of Object.keys(end)) {
    if (k in start) {
      out[k] = end[k] - start[k];
    }
  }
  return out;
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** One invocation's measurements. */
class Profile {
  constructor(name, event, interval, capturing, ioCounters) {
    this.ioCounters = ioCounters;
    this.function = process.env.AWS_LAMBDA_FUNCTION_NAME || name;
    this.requestId = event && typeof event === 'object' ? event['request-id'] || null : null;
    const parent = event && typeof event === 'object' ? parseTraceparent(event.traceparent) : null;
    [this.traceId, this.parentSpanId, this.flags] = parent || [newId(16), null, '01'];
    this.spanId = newId(8);
    this.interval = interval;
    this.capturing = capturing;
    this.captures = [];
    this.samples = [];
    this.error = null;
    this.overhead = 0;
  }

  begin() {
    const t0 = performance.now();
    this.peakReset = resetPeak();
    this.usageStart = process.resourceUsage();
    // Right after the reset the peak is the current RSS: no /proc read needed.
    this.rssStart = this.peakReset ? this.usageStart.maxRSS * 1024 : rss();
    if (this.ioCounters) {
      this.diskStart = diskIo();
      this.netStart = netIo();
    }
    this.start = epoch();
    this.cpuStart = cpuSeconds();
    this.tStart = performance.now();
    this.last = [this.tStart, this.cpuStart];
    this.overhead += (this.tStart - t0) / 1000;
    if (this.interval > 0) {
      this.timer = setInterval(() => this.sample(), this.interval * 1000);
      this.timer.unref();
    }
  }

  sample() {
    const now = performance.now();
    const cpu = cpuSeconds();
    const [lastT, lastCpu] = this.last;
    this.last = [now, cpu];
    const util = now > lastT ? (cpu - lastCpu) / ((now - lastT) / 1000) : 0;
    this.samples.push([round((now - this.tStart) / 1000, 6), round(util, 4), rss()]);
  }

  finish() {
    const tEnd = performance.now();
    const cpuEnd = cpuSeconds();
    this.end = epoch();
    if (this.timer) {
      clearInterval(this.timer);
    }
    this.wall = (tEnd - this.tStart) / 1000;
    this.cpu = cpuEnd - this.cpuStart;
    const usage = process.resourceUsage();
    this.rssEnd = process.memoryUsage.rss();
    this.peak = this.peakReset ? usage.maxRSS * 1024 : null;
    // Block I/O (what reached the disk), in the kernel's 512-byte units.
    this.disk = {
      read_bytes: (usage.fsRead - this.usageStart.fsRead) * 512,
      write_bytes: (usage.fsWrite - this.usageStart.fsWrite) * 512,
    };
    this.net = {};
    if (this.ioCounters) {
      Object.assign(this.disk, delta(diskIo(), this.diskStart));
      this.net = delta(netIo(), this.netStart);
    }
    this.overhead += (performance.now() - tEnd) / 1000;
  }

  /** Record one operation (a storage call, an invocation, ...); returns the entry. */
  capture(kind, operation, start, duration, fields = {}) {
    if (!this.capturing) {
      return null;
    }
    const entry = { kind, operation, start: round(start, 6), duration_s: round(duration, 6) };
    entry.span_id = fields.span_id || newId(8);
    Object.assign(entry, fields, { span_id: entry.span_id });
    this.captures.push(entry);
    return entry;
  }

  traceparent(spanId) {
    return '00-' + this.traceId + '-' + (spanId || this.spanId) + '-' + this.flags;
  }

  toJSON(cold) {
    const sampledPeak = this.samples.reduce((m, s) => Math.max(m, s[2] || 0), 0);
    const peaks = [this.peak, sampledPeak, this.rssStart, this.rssEnd].filter((p) => p);
    return {
      version: VERSION,
      function: this.function,
      request_id: this.requestId,
      trace_id: this.traceId,
      span_id: this.spanId,
      parent_span_id: this.parentSpanId,
      start: round(this.start, 6),
      end: round(this.end, 6),
      wall_s: round(this.wall, 6),
      cpu_s: round(this.cpu, 6),
      cpu_utilisation: this.wall > 0 ? round(this.cpu / this.wall, 4) : 0,
      memory: {
        rss_start_bytes: this.rssStart,
        rss_end_bytes: this.rssEnd,
        peak_bytes: peaks.length ? Math.max(...peaks) : null,
        peak_source: this.peak ? 'VmHWM' : 'samples',
      },
      interval_s: this.interval,
      samples: this.samples,
      disk_io: this.disk,
      network_io: this.net,
      instance: {
        pid: instance.pid,
        cold,
        invocation: instance.invocations,
        age_s: round(this.start - instance.started, 6),
        warm_for_s: instance.warmSince ? round(this.start - instance.warmSince, 6) : 0,
      },
      captures: this.captures,
      error: this.error,
      overhead_s: round(this.overhead, 6),
    };
  }
}

/** `profile(options)(handler)`: the handler, recording every call (sync or async). */
function profile(options = {}) {
  const interval =
    options.interval !== undefined ? options.interval : Number(process.env.SEBS_PROFILE_INTERVAL_MS || 20) / 1000;
  const enabled = options.enabled !== undefined ? options.enabled : envFlag('SEBS_PROFILE', true);
  const captures = options.captures !== undefined ? options.captures : envFlag('SEBS_PROFILE_CAPTURES', true);
  const ioCounters = options.ioCounters !== undefined ? options.ioCounters : envFlag('SEBS_PROFILE_IO', false);
  return (fn) => {
    if (!enabled) {
      return fn;
    }
    return async function profiled(...args) {
      if (active !== null) {
        return fn.apply(this, args);
      }
      globalThis[PROFILE_KEY] = undefined;
      const event = args.find((a) => a && typeof a === 'object') || {};
      const rec = new Profile(fn.name || 'handler', event, interval, captures, ioCounters);
      rec.begin();
      active = rec;
      try {
        return await fn.apply(this, args);
      } catch (err) {
        rec.error = (err && err.name ? err.name + ': ' : '') + (err && err.message ? err.message : String(err));
        throw err;
      } finally {
        rec.finish();
        active = null;
        const t1 = performance.now();
        const cold = instance.invocations === 0;
        instance.invocations += 1;
        const result = rec.toJSON(cold);
        if (instance.warmSince === null) {
          instance.warmSince = rec.end;
        }
        result.overhead_s = round(rec.overhead + (performance.now() - t1) / 1000, 6);
        globalThis[PROFILE_KEY] = result;
      }
    };
  };
}

/** The last finished profile (then forgotten), or undefined: what the wrapper returns. */
function take() {
  const value = globalThis[PROFILE_KEY];
  globalThis[PROFILE_KEY] = undefined;
  return value;
}

/** Record an operation in the active profile (no-op without one). Used by the sebs shims. */
function capture(kind, operation, start, duration, fields) {
  if (active !== null && active.capturing) {
    active.capture(kind, operation, start, duration, fields);
  }
}

/** The `traceparent` to pass to anything this invocation calls, or null outside a profile. */
function traceparent() {
  return active !== null ? active.traceparent() : null;
}

/** A copy of `payload` with this invocation's `traceparent` (for any transport). */
function inject(payload, spanId) {
  const out = Object.assign({}, payload || {});
  if (active !== null) {
    out.traceparent = active.traceparent(spanId);
  }
  return out;
}

function lambdaEndpoint(endpoint) {
  let url = endpoint || process.env.AWS_ENDPOINT_URL_LAMBDA || process.env.AWS_ENDPOINT_URL;
  if (!url) {
    throw new Error(
      'no Lambda endpoint: set AWS_ENDPOINT_URL_LAMBDA (the sebs local platform sets it for its functions) or pass endpoint'
    );
  }
  if (!url.includes('://')) {
    url = 'http://' + url;
  }
  return new URL(url.replace(/\/+$/, ''));
}

function post(url, body, headers) {
  const lib = url.protocol === 'https:' ? require('https') : require('http');
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve([res, Buffer.concat(chunks)]));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Invoke `name` synchronously through the Lambda Invoke API; resolves to its response (the SeBS
 * response, decoded, for functions built by sebs). The call carries the trace context and the
 * callee's profile is attached to this invocation's capture of the call.
 */
async function invoke(name, payload, endpoint) {
  const rec = active;
  const span = newId(8);
  const sent = rec !== null ? inject(payload, span) : Object.assign({}, payload || {});
  const body = Buffer.from(JSON.stringify(sent));
  const base = lambdaEndpoint(endpoint);
  const url = new URL(base.pathname.replace(/\/$/, '') + '/2015-03-31/functions/' + encodeURIComponent(name) + '/invocations', base);
  const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
  if (rec !== null) {
    headers.traceparent = sent.traceparent;
  }
  const start = epoch();
  const t0 = performance.now();
  const [res, data] = await post(url, body, headers);
  const duration = (performance.now() - t0) / 1000;
  let result = data.length ? JSON.parse(data.toString('utf8')) : null;
  if (result && typeof result.body === 'string' && 'statusCode' in result) {
    try {
      result = JSON.parse(result.body);
    } catch (_) {
      // not JSON: the body as it is
    }
  }
  const failed = res.headers['x-amz-function-error'] || res.statusCode >= 300;
  const fields = { span_id: span, function: name, status: res.statusCode, request_bytes: body.length, response_bytes: data.length };
  if (result && typeof result === 'object' && result.profile) {
    fields.profile = result.profile;
    delete result.profile;
  }
  if (failed) {
    fields.error = true;
  }
  if (rec !== null) {
    rec.capture('invoke', 'Invoke', start, duration, fields);
  }
  if (failed) {
    const err = new Error(name + ' failed: ' + JSON.stringify(result));
    err.error = result;
    throw err;
  }
  return result;
}

/** Whether a profile is being recorded. */
function recording() {
  return active !== null;
}

module.exports = { recording, profile, take, capture, traceparent, inject, invoke, parseTraceparent, epoch, PROFILE_KEY };
// How the shims (storage.js, nosql.js) find the profiler without loading it themselves.
globalThis[Symbol.for('sebs.profiler')] = module.exports;
