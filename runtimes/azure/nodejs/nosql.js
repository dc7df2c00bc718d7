/**
 * SeBS NoSQL API for Node.js functions on Azure: Cosmos DB (NoSQL API) over its REST API with
 * master-key authorization, Node's standard library only. Configured as the Python shim
 * (runtimes/azure/python/nosql.py): NOSQL_STORAGE_ENDPOINT, NOSQL_STORAGE_KEY,
 * NOSQL_STORAGE_DATABASE and NOSQL_STORAGE_TABLE_<table>. A table is a container partitioned by
 * its primary key; an item's `id` is its secondary key.
 */
'use strict';

const crypto = require('crypto');

const VERSION = '2018-12-31';

class NoSQLError extends Error {
  constructor(status, code, message) {
    super(`Cosmos DB error ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/** The master-key `Authorization` header value of one request. */
function authorization(key, verb, resourceType, resourceLink, date) {
  const text = `${verb.toLowerCase()}\n${resourceType.toLowerCase()}\n${resourceLink}\n${date.toLowerCase()}\n\n`;
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(text, 'utf8').digest('base64');
  return encodeURIComponent(`type=master&ver=1.0&sig=${sig}`);
}

function plain(doc) {
  const out = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!k.startsWith('_') && k !== 'id') {
      out[k] = v;
    }
  }
  return out;
}

class nosql {
  constructor() {
    const endpoint = process.env.NOSQL_STORAGE_ENDPOINT;
    this.key = process.env.NOSQL_STORAGE_KEY;
    if (!endpoint || !this.key) {
      throw new Error('NOSQL_STORAGE_ENDPOINT and NOSQL_STORAGE_KEY are not set: sebs sets them on the function app');
    }
    this.url = new URL(endpoint.includes('://') ? endpoint : 'http://' + endpoint);
    this.transport = this.url.protocol === 'https:' ? require('https') : require('http');
    this.agent = new this.transport.Agent({ keepAlive: true });
    this.database = process.env.NOSQL_STORAGE_DATABASE || 'benchmarks';
  }

  static get_instance() {
    if (!nosql.instance) {
      nosql.instance = new nosql();
    }
    return nosql.instance;
  }

  static table(name) {
    const physical = process.env['NOSQL_STORAGE_TABLE_' + name];
    if (!physical) {
      throw new Error(`no container for table ${name}: NOSQL_STORAGE_TABLE_${name} is not set`);
    }
    return physical;
  }

  request(verb, urlPath, resourceType, link, body, headers = {}, okMissing = false) {
    const date = new Date().toUTCString();
    const all = { ...headers, 'x-ms-date': date, 'x-ms-version': VERSION, Accept: 'application/json',
      Authorization: authorization(this.key, verb, resourceType, link, date) };
    const data = body === undefined || body === null ? null : Buffer.from(JSON.stringify(body));
    if (data) {
      all['Content-Type'] = all['Content-Type'] || 'application/json';
      all['Content-Length'] = String(data.length);
    }
    return new Promise((resolve, reject) => {
      const req = this.transport.request({ method: verb, host: this.url.hostname, port: this.url.port, path: urlPath, headers: all, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let reply = {};
          try {
            reply = raw ? JSON.parse(raw) : {};
          } catch (err) {
            reply = { message: raw.slice(0, 300) };
          }
          if (res.statusCode === 404 && okMissing) {
            resolve(null);
          } else if (res.statusCode >= 300) {
            reject(new NoSQLError(res.statusCode, reply.code || '', reply.message || raw.slice(0, 300)));
          } else {
            resolve(reply);
          }
        });
      });
      req.on('error', reject);
      req.end(data || undefined);
    });
  }

  coll(container) {
    return `dbs/${this.database}/colls/${container}`;
  }

  async insert(tableName, primaryKey, secondaryKey, data) {
    const doc = { ...data, [primaryKey[0]]: primaryKey[1], [secondaryKey[0]]: secondaryKey[1], id: String(secondaryKey[1]) };
    const coll = this.coll(nosql.table(tableName));
    await this.request('POST', `/${coll}/docs`, 'docs', coll, doc, {
      'x-ms-documentdb-partitionkey': JSON.stringify([primaryKey[1]]), 'x-ms-documentdb-is-upsert': 'True' });
  }

  async get(tableName, primaryKey, secondaryKey) {
    const link = `${this.coll(nosql.table(tableName))}/docs/${secondaryKey[1]}`;
    const doc = await this.request('GET', '/' + link, 'docs', link, null, { 'x-ms-documentdb-partitionkey': JSON.stringify([primaryKey[1]]) }, true);
    return doc === null ? null : plain(doc);
  }

  async update(tableName, primaryKey, secondaryKey, updates) {
    const link = `${this.coll(nosql.table(tableName))}/docs/${secondaryKey[1]}`;
    const pk = { 'x-ms-documentdb-partitionkey': JSON.stringify([primaryKey[1]]) };
    const doc = await this.request('GET', '/' + link, 'docs', link, null, pk);
    await this.request('PUT', '/' + link, 'docs', link, { ...doc, ...updates }, pk);
  }

  async query(tableName, primaryKey, secondaryKeyName) {
    const coll = this.coll(nosql.table(tableName));
    const body = { query: 'SELECT * FROM c WHERE c[@k] = @v', parameters: [{ name: '@k', value: primaryKey[0] }, { name: '@v', value: primaryKey[1] }] };
    const reply = await this.request('POST', `/${coll}/docs`, 'docs', coll, body, {
      'x-ms-documentdb-partitionkey': JSON.stringify([primaryKey[1]]), 'Content-Type': 'application/query+json', 'x-ms-documentdb-isquery': 'True' });
    const items = reply.Documents.map(plain);
    items.sort((a, b) => (a[secondaryKeyName] < b[secondaryKeyName] ? -1 : a[secondaryKeyName] > b[secondaryKeyName] ? 1 : 0));
    return items;
  }

  async delete(tableName, primaryKey, secondaryKey) {
    const link = `${this.coll(nosql.table(tableName))}/docs/${secondaryKey[1]}`;
    await this.request('DELETE', '/' + link, 'docs', link, null, { 'x-ms-documentdb-partitionkey': JSON.stringify([primaryKey[1]]) }, true);
  }
}
nosql.instance = null;

function get_instance() {
  return nosql.get_instance();
}

module.exports = { nosql, NoSQLError, get_instance, authorization };
