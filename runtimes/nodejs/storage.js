'use strict';
/**
 * SeBS object storage API for Node.js functions, over S3 with the standard library only.
 *
 * Configured by environment variables (the same as runtimes/python/storage.py):
 *   MINIO_ADDRESS (host:port for plain HTTP, or a URL), MINIO_ACCESS_KEY, MINIO_SECRET_KEY,
 *   MINIO_REGION: sebs's embedded server, MinIO, or any S3-compatible endpoint;
 *   otherwise AWS S3 with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 *   AWS_REGION (as on AWS Lambda).
 *
 *     const storage = require('./storage');
 *     const client = storage.storage.get_instance();
 *     const [key, uploaded] = client.upload(bucket, 'out/thumb.jpg', '/tmp/thumb.jpg');
 *     await uploaded;                       // key is "out/thumb.<uuid8>.jpg"
 *
 * As in SeBS's Node.js wrappers, `upload` and `upload_stream` return `[key, promise]`; the other
 * operations return promises. SeBS's streaming pair is here too: `downloadStream(bucket, key)` is
 * a promise of a readable stream, `uploadStream(bucket, key)` returns `[writable stream, promise,
 * unique key]` (the object is stored when the stream ends).
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const stream = require('stream');
const sigv4 = require('./_sigv4');

// faas_profiler.js registers itself here when the function uses it.
const PROFILER = Symbol.for('sebs.profiler');
const OPERATIONS = { PUT: 'upload', GET: 'download', HEAD: 'exists', DELETE: 'delete' };

/** An S3 request failed; `status` is the HTTP status, `code` the S3 error code. */
class StorageError extends Error {
  constructor(status, code, message) {
    super('S3 error ' + status + ' ' + code + ': ' + message);
    this.name = 'StorageError';
    this.status = status;
    this.code = code;
  }
}

function xmlText(xml, tag) {
  const match = new RegExp('<' + tag + '>([\\s\\S]*?)</' + tag + '>').exec(xml);
  return match ? decodeXml(match[1]) : null;
}

function decodeXml(text) {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

function fileSha256(filepath) {
  return new Promise((resolve, reject) => {
    const digest = crypto.createHash('sha256');
    let size = 0;
    fs.createReadStream(filepath)
      .on('data', (chunk) => {
        size += chunk.length;
        digest.update(chunk);
      })
      .on('end', () => resolve([digest.digest('hex'), size]))
      .on('error', reject);
  });
}

/** The SeBS storage interface (`storage.get_instance()`). */
class storage {
  constructor() {
    const env = process.env;
    let address;
    if (env.MINIO_ADDRESS) {
      this.creds = new sigv4.Credentials(env.MINIO_ACCESS_KEY, env.MINIO_SECRET_KEY, env.MINIO_REGION);
      address = env.MINIO_ADDRESS;
    } else {
      [this.creds, address] = sigv4.awsFromEnvironment('s3');
    }
    [this.scheme, this.host] = sigv4.splitAddress(address, '127.0.0.1:9011');
    this.client = new sigv4.Client(this.scheme, this.host);
  }

  static get_instance() {
    if (!storage.instance) {
      storage.instance = new storage();
    }
    return storage.instance;
  }

  /** `dir/name.<uuid8>.ext` for `dir/name.ext`. */
  static unique_name(name) {
    const ext = path.extname(name);
    const base = name.slice(0, name.length - ext.length);
    return base + '.' + crypto.randomUUID().split('-')[0] + ext;
  }

  /** Send a signed request; resolves to the open response (status < 300) or rejects. */
  async request(method, bucket, key, { query = [], body = null, payloadHash = null, headers = {}, operation = null } = {}) {
    let urlPath = '/' + sigv4.quote(bucket, '');
    if (key !== null && key !== undefined) {
      urlPath += '/' + sigv4.quote(key, '/~');
    }
    const hash = payloadHash || sigv4.sha256Hex(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    let url = urlPath;
    if (query.length > 0) {
      url += '?' + query.map(([k, v]) => sigv4.quote(k, '-_.~') + '=' + sigv4.quote(v, '-_.~')).join('&');
    }
    const makeBody = typeof body === 'function' ? body : () => body;
    const signed = () => sigv4.signHeaders(this.creds, 's3', method, this.host, urlPath, query, { ...headers }, hash);
    const profiler = globalThis[PROFILER];
    const started = profiler && profiler.recording() ? [profiler.epoch(), process.hrtime.bigint()] : null;
    const response = await this.client.send(method, url, signed(), makeBody);
    if (started !== null && response.statusCode < 300) {
      // Duration: until the response's headers (the body is the caller's to read).
      const length = method === 'PUT' ? headers['Content-Length'] : response.headers['content-length'];
      profiler.capture('storage', operation || OPERATIONS[method] || method, started[0], Number(process.hrtime.bigint() - started[1]) / 1e9, {
        bucket,
        key: key === null || key === undefined ? null : key,
        bytes: length === undefined ? null : Number(length),
      });
    }
    if (response.statusCode >= 300) {
      const text = (await sigv4.readAll(response)).toString('utf8');
      const code = text.startsWith('<') ? xmlText(text, 'Code') || '' : '';
      const message = (text.startsWith('<') && xmlText(text, 'Message')) || text.slice(0, 300);
      throw new StorageError(response.statusCode, code, message);
    }
    return response;
  }

  // -- SeBS API ----------------------------------------------------------------------------------

  /** Upload `filepath` under a unique variant of the key `file`: `[key, promise of key]`. */
  upload(bucket, file, filepath) {
    const key = storage.unique_name(file);
    return [key, this.upload_file(bucket, key, filepath).then(() => key)];
  }

  /** Upload `filepath` to exactly `key`. */
  async upload_file(bucket, key, filepath) {
    const [hash, size] = await fileSha256(filepath);
    const response = await this.request('PUT', bucket, key, {
      operation: 'upload',
      body: () => fs.createReadStream(filepath),
      payloadHash: hash,
      headers: { 'Content-Length': String(size) },
    });
    await sigv4.readAll(response);
  }

  /** Download object `file` to `filepath`. */
  async download(bucket, file, filepath) {
    const response = await this.request('GET', bucket, file, { operation: 'download' });
    await require('stream/promises').pipeline(response, fs.createWriteStream(filepath));
  }

  /** Download every object under `prefix` to `dir/<key>`. */
  async download_directory(bucket, prefix, dir) {
    for (const key of await this.list(bucket, prefix)) {
      const target = path.join(dir, key);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await this.download(bucket, key, target);
    }
  }

  /** Upload bytes (Buffer, typed array or string) under a unique variant of `file`: `[key, promise of key]`. */
  upload_stream(bucket, file, data) {
    const key = storage.unique_name(file);
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const done = this.request('PUT', bucket, key, {
      operation: 'upload_stream',
      body,
      headers: { 'Content-Length': String(body.length) },
    })
      .then(sigv4.readAll)
      .then(() => key);
    return [key, done];
  }

  /** The bytes of object `file` (a promise of a Buffer). */
  async download_stream(bucket, file) {
    return sigv4.readAll(await this.request('GET', bucket, file, { operation: 'download_stream' }));
  }

  /** SeBS: a promise of a readable stream of object `file`. */
  downloadStream(bucket, file) {
    return this.request('GET', bucket, file, { operation: 'download_stream' });
  }

  /**
   * SeBS: `[writable stream, promise of the key, key]`; what is written to the stream is stored
   * under a unique variant of `file` when the stream ends (S3 needs the length up front).
   */
  uploadStream(bucket, file) {
    const key = storage.unique_name(file);
    const input = new stream.PassThrough();
    const chunks = [];
    const done = new Promise((resolve, reject) => {
      input.on('data', (chunk) => chunks.push(chunk));
      input.on('error', reject);
      input.on('end', () => {
        const body = Buffer.concat(chunks);
        this.request('PUT', bucket, key, { operation: 'upload_stream', body, headers: { 'Content-Length': String(body.length) } })
          .then(sigv4.readAll)
          .then(() => key)
          .then(resolve, reject);
      });
    });
    return [input, done, key];
  }

  /** Every key under `prefix` (ListObjectsV2, all pages). */
  async list(bucket, prefix) {
    const keys = [];
    let token = null;
    for (;;) {
      const query = [['list-type', '2'], ['prefix', prefix || '']];
      if (token) {
        query.push(['continuation-token', token]);
      }
      const xml = (await sigv4.readAll(await this.request('GET', bucket, null, { query, operation: 'list' }))).toString('utf8');
      for (const match of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        keys.push(xmlText(match[1], 'Key'));
      }
      token = xmlText(xml, 'NextContinuationToken');
      if (xmlText(xml, 'IsTruncated') !== 'true' || !token) {
        return keys;
      }
    }
  }

  /** Whether object `key` exists. */
  async exists(bucket, key) {
    try {
      await sigv4.readAll(await this.request('HEAD', bucket, key, { operation: 'exists' }));
      return true;
    } catch (err) {
      if (err instanceof StorageError && err.status === 404) {
        return false;
      }
      throw err;
    }
  }
}
storage.instance = null;

/** Module-level shortcut for `storage.get_instance()`. */
function get_instance() {
  return storage.get_instance();
}

module.exports = { storage, StorageError, get_instance };
