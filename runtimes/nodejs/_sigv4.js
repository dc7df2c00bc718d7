'use strict';
/**
 * AWS Signature Version 4 and a small signed-request client for the sebs storage and NoSQL shims,
 * on Node's standard library only (crypto, http, https).
 */
const crypto = require('crypto');

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** RFC 3986 percent-encoding as SigV4 wants it; characters in `safe` are kept. */
function quote(text, safe) {
  const keep = safe || '';
  let out = '';
  for (const byte of Buffer.from(String(text), 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && (UNRESERVED.test(ch) || keep.includes(ch))) {
      out += ch;
    } else {
      out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, msg) {
  return crypto.createHmac('sha256', key).update(msg, 'utf8').digest();
}

function timestamps() {
  const iso = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return [iso, iso.slice(0, 8)];
}

function canonicalQuery(query) {
  return query
    .map(([k, v]) => [quote(k, '-_.~'), quote(v, '-_.~')])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + '=' + v)
    .join('&');
}

/** A key pair, an optional session token, and the signing region. */
class Credentials {
  constructor(accessKey, secretKey, region, token) {
    this.accessKey = accessKey || '';
    Object.defineProperty(this, 'secretKey', { value: secretKey || '', enumerable: false });
    this.region = region || 'us-east-1';
    this.token = token || null;
  }
}

/**
 * Add X-Amz-Date, X-Amz-Content-Sha256 (S3), the session token and Authorization to `headers`.
 * `path` is the already URI-encoded request path; `query` a list of [name, value] pairs.
 */
function signHeaders(creds, service, method, host, path, query, headers, payloadHash) {
  const [amzDate, datestamp] = timestamps();
  headers.Host = host;
  headers['X-Amz-Date'] = amzDate;
  if (service === 's3') {
    headers['X-Amz-Content-Sha256'] = payloadHash;
  }
  if (creds.token) {
    headers['X-Amz-Security-Token'] = creds.token;
  }
  const canonical = {};
  for (const [name, value] of Object.entries(headers)) {
    canonical[name.toLowerCase()] = String(value).trim().split(/\s+/).join(' ');
  }
  const names = Object.keys(canonical).sort();
  const signed = names.join(';');
  const canonicalHeaders = names.map((n) => n + ':' + canonical[n] + '\n').join('');
  const request = [method, path, canonicalQuery(query), canonicalHeaders, signed, payloadHash].join('\n');
  const scope = datestamp + '/' + creds.region + '/' + service + '/aws4_request';
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(request)].join('\n');
  let key = hmac('AWS4' + creds.secretKey, datestamp);
  key = hmac(key, creds.region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const signature = crypto.createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  headers.Authorization =
    'AWS4-HMAC-SHA256 Credential=' + creds.accessKey + '/' + scope +
    ', SignedHeaders=' + signed + ', Signature=' + signature;
  return headers;
}

/** [scheme, host[:port]] of `host:port` (plain HTTP, as SeBS writes it) or of a URL. */
function splitAddress(address, defaultHost) {
  const value = address || defaultHost;
  const at = value.indexOf('://');
  if (at >= 0) {
    return [value.slice(0, at).toLowerCase(), value.slice(at + 3).replace(/\/+$/, '')];
  }
  return ['http', value.replace(/\/+$/, '')];
}

/**
 * [credentials, address] of `service` on AWS, from the usual AWS environment variables. The
 * address is the first of `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_S3`,
 * `AWS_ENDPOINT_URL_DYNAMODB`) and `AWS_ENDPOINT_URL`, as the AWS SDKs read them (both ignored
 * when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else `https://<service>.<region>.amazonaws.com`.
 * Requests to it are path-style (`/<bucket>/<key>`), which S3 emulators expect too.
 */
function awsFromEnvironment(service) {
  const env = process.env;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const creds = new Credentials(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, region, env.AWS_SESSION_TOKEN);
  let endpoint = null;
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS || '').toLowerCase() !== 'true') {
    endpoint = env['AWS_ENDPOINT_URL_' + service.toUpperCase().replace(/-/g, '_')] || env.AWS_ENDPOINT_URL;
  }
  return [creds, endpoint || 'https://' + service + '.' + region + '.amazonaws.com'];
}

/**
 * A kept-alive HTTP(S) client for one endpoint. `send` resolves to the response (a readable
 * stream with `statusCode`), retrying once on a fresh connection when a kept-alive one was closed.
 */
class Client {
  constructor(scheme, host) {
    this.scheme = scheme;
    this.host = host;
    this.module = require(scheme === 'https' ? 'https' : 'http');
    this.agent = new this.module.Agent({ keepAlive: true });
    const colon = host.lastIndexOf(':');
    const bracket = host.lastIndexOf(']');
    if (colon > bracket) {
      this.hostname = host.slice(0, colon).replace(/^\[|\]$/g, '');
      this.port = Number(host.slice(colon + 1));
    } else {
      this.hostname = host.replace(/^\[|\]$/g, '');
      this.port = scheme === 'https' ? 443 : 80;
    }
  }

  /** `makeBody()` returns a Buffer, a readable stream or null; it is called again on a retry. */
  async send(method, url, headers, makeBody) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.once(method, url, headers, makeBody ? makeBody() : null);
      } catch (err) {
        const retriable = ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes(err.code);
        if (attempt > 0 || !retriable) {
          throw err;
        }
      }
    }
  }

  once(method, url, headers, body) {
    return new Promise((resolve, reject) => {
      const req = this.module.request(
        { hostname: this.hostname, port: this.port, method, path: url, headers, agent: this.agent, timeout: 60000 },
        resolve,
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out after 60 s'), { code: 'ETIMEDOUT' })));
      if (body && typeof body.pipe === 'function') {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else {
        req.end(body || undefined);
      }
    });
  }
}

/** The whole body of `response` as a Buffer. */
function readAll(response) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    response.on('data', (c) => chunks.push(c));
    response.on('end', () => resolve(Buffer.concat(chunks)));
    response.on('error', reject);
  });
}

module.exports = { quote, sha256Hex, Credentials, signHeaders, splitAddress, awsFromEnvironment, Client, readAll, canonicalQuery };
