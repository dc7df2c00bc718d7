// SeBS object storage API for Node.js functions on Google Cloud Storage (JSON API). Configured by
// STORAGE_EMULATOR_HOST (an emulator, no credentials) or, on Google Cloud, the function's service
// account through the metadata server.
'use strict';

const fs = require('fs');
const path = require('path');
const stream = require('stream');
const crypto = require('crypto');
const g = require('./_gauth');

const q = encodeURIComponent;

class storage {
  constructor() {
    this.api = g.endpoint(process.env.STORAGE_EMULATOR_HOST, 'storage.googleapis.com');
  }

  static get_instance() {
    if (!storage.instance) {
      storage.instance = new storage();
    }
    return storage.instance;
  }

  static unique_name(name) {
    const ext = path.extname(name);
    const base = name.slice(0, name.length - ext.length);
    return base + '.' + crypto.randomUUID().split('-')[0] + ext;
  }

  async put(bucket, key, body) {
    const p = '/upload/storage/v1/b/' + q(bucket) + '/o?uploadType=media&name=' + q(key);
    await g.request(this.api, 'POST', p, body, { 'Content-Type': 'application/octet-stream' });
  }

  /** Upload `filepath` under a unique variant of the key `file`: `[key, promise of key]`. */
  upload(bucket, file, filepath) {
    const key = storage.unique_name(file);
    return [key, this.upload_file(bucket, key, filepath).then(() => key)];
  }

  async upload_file(bucket, key, filepath) {
    await this.put(bucket, key, await fs.promises.readFile(filepath));
  }

  /** Upload bytes under a unique variant of `file`: `[key, promise of key]`. */
  upload_stream(bucket, file, data) {
    const key = storage.unique_name(file);
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data);
    return [key, this.put(bucket, key, body).then(() => key)];
  }

  /** The bytes of object `file` (a promise of a Buffer). */
  async download_stream(bucket, file) {
    return g.request(this.api, 'GET', '/storage/v1/b/' + q(bucket) + '/o/' + q(file) + '?alt=media');
  }

  async download(bucket, file, filepath) {
    const data = await this.download_stream(bucket, file);
    await fs.promises.mkdir(path.dirname(filepath), { recursive: true });
    await fs.promises.writeFile(filepath, data);
  }

  /** SeBS: a promise of a readable stream of object `file`. */
  async downloadStream(bucket, file) {
    return stream.Readable.from([await this.download_stream(bucket, file)]);
  }

  /** SeBS: `[writable stream, promise of the key, key]`, stored when the stream ends. */
  uploadStream(bucket, file) {
    const key = storage.unique_name(file);
    const input = new stream.PassThrough();
    const chunks = [];
    const done = new Promise((resolve, reject) => {
      input.on('data', (c) => chunks.push(c));
      input.on('error', reject);
      input.on('end', () => this.put(bucket, key, Buffer.concat(chunks)).then(() => key).then(resolve, reject));
    });
    return [input, done, key];
  }

  async list(bucket, prefix) {
    const keys = [];
    let token = null;
    for (;;) {
      let p = '/storage/v1/b/' + q(bucket) + '/o?prefix=' + q(prefix || '');
      if (token) {
        p += '&pageToken=' + q(token);
      }
      const reply = await g.json(this.api, 'GET', p);
      for (const item of reply.items || []) {
        keys.push(item.name);
      }
      token = reply.nextPageToken;
      if (!token) {
        return keys;
      }
    }
  }

  async download_directory(bucket, prefix, dir) {
    for (const key of await this.list(bucket, prefix)) {
      await this.download(bucket, key, path.join(dir, key));
    }
  }

  async exists(bucket, key) {
    try {
      await g.json(this.api, 'GET', '/storage/v1/b/' + q(bucket) + '/o/' + q(key));
      return true;
    } catch (err) {
      if (err instanceof g.GoogleError && err.status === 404) {
        return false;
      }
      throw err;
    }
  }

  async create_bucket(bucket) {
    const project = process.env.GOOGLE_CLOUD_PROJECT || 'sebs';
    try {
      await g.json(this.api, 'POST', '/storage/v1/b?project=' + q(project), { name: bucket });
    } catch (err) {
      if (!(err instanceof g.GoogleError && err.status === 409)) {
        throw err;
      }
    }
  }
}
storage.instance = null;

function get_instance() {
  return storage.get_instance();
}

module.exports = { storage, StorageError: g.GoogleError, get_instance };
