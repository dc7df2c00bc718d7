/**
 * SeBS object storage API for Node.js functions on Azure: Blob storage over its REST API with
 * Shared Key signing, Node's standard library only. Configured by `STORAGE_CONNECTION_STRING`
 * (or `AZURE_STORAGE_CONNECTION_STRING`); buckets are blob containers. The same calls as sebs's
 * S3 shim (runtimes/nodejs/storage.js).
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const stream = require('stream');

const VERSION = '2021-08-06';

class StorageError extends Error {
  constructor(status, code, message) {
    super(`Blob storage error ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/** `{account, key, endpoint}` of a storage connection string. */
function parseConnectionString(text) {
  const parts = {};
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) {
      parts[part.slice(0, i)] = part.slice(i + 1);
    }
  }
  if (!parts.AccountName || !parts.AccountKey) {
    throw new Error('the storage connection string lacks AccountName or AccountKey');
  }
  const endpoint = parts.BlobEndpoint
    || `${parts.DefaultEndpointsProtocol || 'https'}://${parts.AccountName}.blob.${parts.EndpointSuffix || 'core.windows.net'}`;
  return { account: parts.AccountName, key: Buffer.from(parts.AccountKey, 'base64'), endpoint: endpoint.replace(/\/+$/, '') };
}

function quote(s, safe) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%2F/g, safe.includes('/') ? '/' : '%2F').replace(/%7E/g, '~');
}

function readAll(response) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    response.on('data', (c) => chunks.push(c));
    response.on('end', () => resolve(Buffer.concat(chunks)));
    response.on('error', reject);
  });
}

function xmlText(xml, tag) {
  const m = xml.match(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`));
  return m ? m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : null;
}

class storage {
  constructor() {
    const text = process.env.STORAGE_CONNECTION_STRING || process.env.AZURE_STORAGE_CONNECTION_STRING;
    if (!text) {
      throw new Error('STORAGE_CONNECTION_STRING is not set: sebs sets it on the function app');
    }
    const { account, key, endpoint } = parseConnectionString(text);
    const url = new URL(endpoint);
    this.account = account;
    this.key = key;
    this.base = url.pathname.replace(/\/+$/, '');
    this.url = url;
    this.transport = url.protocol === 'https:' ? require('https') : require('http');
    this.agent = new this.transport.Agent({ keepAlive: true });
  }

  static get_instance() {
    if (!storage.instance) {
      storage.instance = new storage();
    }
    return storage.instance;
  }

  static unique_name(name) {
    const ext = path.extname(name);
    return name.slice(0, name.length - ext.length) + '.' + crypto.randomUUID().split('-')[0] + ext;
  }

  sign(method, urlPath, query, headers) {
    const lower = {};
    for (const [k, v] of Object.entries(headers)) {
      lower[k.toLowerCase()] = String(v);
    }
    const length = lower['content-length'] || '';
    const standard = [method, lower['content-encoding'] || '', lower['content-language'] || '', length === '0' ? '' : length,
      lower['content-md5'] || '', lower['content-type'] || '', '', lower['if-modified-since'] || '', lower['if-match'] || '',
      lower['if-none-match'] || '', lower['if-unmodified-since'] || '', lower.range || ''];
    const ms = Object.keys(lower).filter((k) => k.startsWith('x-ms-')).sort().map((k) => `${k}:${lower[k].trim()}\n`).join('');
    let resource = `/${this.account}${urlPath}`;
    const params = {};
    for (const [k, v] of query) {
      (params[k.toLowerCase()] = params[k.toLowerCase()] || []).push(v);
    }
    for (const k of Object.keys(params).sort()) {
      resource += `\n${k}:${params[k].sort().join(',')}`;
    }
    const text = standard.join('\n') + '\n' + ms + resource;
    const sig = crypto.createHmac('sha256', this.key).update(text, 'utf8').digest('base64');
    return `SharedKey ${this.account}:${sig}`;
  }

  /** A signed request; resolves to the open response (status < 300) or rejects. */
  request(method, bucket, key, { query = [], body = null, headers = {} } = {}) {
    let urlPath = this.base + '/' + quote(bucket, '');
    if (key !== null && key !== undefined) {
      urlPath += '/' + quote(key, '/');
    }
    const all = { ...headers, 'x-ms-date': new Date().toUTCString(), 'x-ms-version': VERSION };
    if (Buffer.isBuffer(body) && all['Content-Length'] === undefined) {
      all['Content-Length'] = String(body.length);
    } else if (body === null && ['PUT', 'POST', 'DELETE'].includes(method)) {
      all['Content-Length'] = '0';
    }
    all.Authorization = this.sign(method, urlPath, query, all);
    const target = urlPath + (query.length ? '?' + query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&') : '');
    return new Promise((resolve, reject) => {
      const req = this.transport.request({ method, host: this.url.hostname, port: this.url.port, path: target, headers: all, agent: this.agent }, (res) => {
        if (res.statusCode < 300) {
          resolve(res);
          return;
        }
        readAll(res).then((buf) => {
          const text = buf.toString('utf8').replace(/^\uFEFF/, '');
          reject(new StorageError(res.statusCode, xmlText(text, 'Code') || res.headers['x-ms-error-code'] || '', xmlText(text, 'Message') || text.slice(0, 300)));
        }, reject);
      });
      req.on('error', reject);
      if (body && typeof body.pipe === 'function') {
        body.pipe(req);
      } else {
        req.end(body || undefined);
      }
    });
  }

  upload(bucket, file, filepath) {
    const key = storage.unique_name(file);
    return [key, this.upload_file(bucket, key, filepath).then(() => key)];
  }

  async upload_file(bucket, key, filepath) {
    const size = (await fs.promises.stat(filepath)).size;
    const headers = { 'Content-Length': String(size), 'x-ms-blob-type': 'BlockBlob' };
    await readAll(await this.request('PUT', bucket, key, { body: fs.createReadStream(filepath), headers }));
  }

  async download(bucket, file, filepath) {
    const response = await this.request('GET', bucket, file);
    await require('stream/promises').pipeline(response, fs.createWriteStream(filepath));
  }

  async download_directory(bucket, prefix, dir) {
    for (const key of await this.list(bucket, prefix)) {
      const target = path.join(dir, key);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await this.download(bucket, key, target);
    }
  }

  upload_stream(bucket, file, data) {
    const key = storage.unique_name(file);
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const done = this.request('PUT', bucket, key, { body, headers: { 'x-ms-blob-type': 'BlockBlob' } }).then(readAll).then(() => key);
    return [key, done];
  }

  async download_stream(bucket, file) {
    return readAll(await this.request('GET', bucket, file));
  }

  downloadStream(bucket, file) {
    return this.request('GET', bucket, file);
  }

  uploadStream(bucket, file) {
    const key = storage.unique_name(file);
    const input = new stream.PassThrough();
    const chunks = [];
    const done = new Promise((resolve, reject) => {
      input.on('data', (chunk) => chunks.push(chunk));
      input.on('error', reject);
      input.on('end', () => {
        const body = Buffer.concat(chunks);
        this.request('PUT', bucket, key, { body, headers: { 'x-ms-blob-type': 'BlockBlob' } }).then(readAll).then(() => key).then(resolve, reject);
      });
    });
    return [input, done, key];
  }

  async list(bucket, prefix) {
    const keys = [];
    let marker = null;
    for (;;) {
      const query = [['restype', 'container'], ['comp', 'list'], ['prefix', prefix || '']];
      if (marker) {
        query.push(['marker', marker]);
      }
      const xml = (await readAll(await this.request('GET', bucket, null, { query }))).toString('utf8');
      for (const match of xml.matchAll(/<Blob>([\s\S]*?)<\/Blob>/g)) {
        keys.push(xmlText(match[1], 'Name'));
      }
      marker = xmlText(xml, 'NextMarker');
      if (!marker) {
        return keys;
      }
    }
  }

  async exists(bucket, key) {
    try {
      await readAll(await this.request('HEAD', bucket, key));
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

function get_instance() {
  return storage.get_instance();
}

module.exports = { storage, StorageError, get_instance, parseConnectionString };
