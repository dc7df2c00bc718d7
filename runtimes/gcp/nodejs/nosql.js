// SeBS NoSQL API for Node.js functions on Firestore in Datastore mode (REST), in SeBS's layout: a
// kind per table, an item keyed by (primary key name, value) as parent and (table, secondary
// value); `query` is an ancestor query. Configured by GOOGLE_CLOUD_PROJECT,
// NOSQL_STORAGE_DATABASE and DATASTORE_EMULATOR_HOST (an emulator) or the metadata server.
'use strict';

const g = require('./_gauth');

function toValue(v) {
  if (v === null || v === undefined) return { nullValue: null };
  if (typeof v === 'boolean') return { booleanValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v };
  if (Buffer.isBuffer(v)) return { blobValue: v.toString('base64') };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toValue) } };
  if (typeof v === 'object') {
    const properties = {};
    for (const [k, x] of Object.entries(v)) properties[k] = toValue(x);
    return { entityValue: { properties }, excludeFromIndexes: true };
  }
  return { stringValue: String(v) };
}

function fromValue(v) {
  if ('integerValue' in v) return Number(v.integerValue);
  if ('arrayValue' in v) return (v.arrayValue.values || []).map(fromValue);
  if ('entityValue' in v) return plain(v.entityValue.properties || {});
  if ('blobValue' in v) return Buffer.from(v.blobValue, 'base64');
  for (const kind of ['stringValue', 'doubleValue', 'booleanValue']) {
    if (kind in v) return v[kind];
  }
  return null;
}

function plain(properties) {
  const out = {};
  for (const [k, v] of Object.entries(properties)) out[k] = fromValue(v);
  return out;
}

class nosql {
  constructor() {
    this.api = g.endpoint(process.env.DATASTORE_EMULATOR_HOST, 'datastore.googleapis.com');
    this.project = process.env.GOOGLE_CLOUD_PROJECT || process.env.GCP_PROJECT || '';
    this.database = process.env.NOSQL_STORAGE_DATABASE || '';
  }

  static get_instance() {
    if (!nosql.instance) {
      nosql.instance = new nosql();
    }
    return nosql.instance;
  }

  call(method, body) {
    body.databaseId = this.database;
    return g.json(this.api, 'POST', '/v1/projects/' + encodeURIComponent(this.project) + ':' + method, body);
  }

  partition() {
    return { projectId: this.project, databaseId: this.database };
  }

  key(tableName, primaryKey, secondaryKey) {
    const pathElements = [{ kind: primaryKey[0], name: String(primaryKey[1]) }, { kind: tableName, name: String(secondaryKey[1]) }];
    return { partitionId: this.partition(), path: pathElements };
  }

  async insert(tableName, primaryKey, secondaryKey, data) {
    const record = { ...data, [primaryKey[0]]: primaryKey[1], [secondaryKey[0]]: secondaryKey[1] };
    const properties = {};
    for (const [k, v] of Object.entries(record)) properties[k] = toValue(v);
    const entity = { key: this.key(tableName, primaryKey, secondaryKey), properties };
    await this.call('commit', { mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity }] });
  }

  async get(tableName, primaryKey, secondaryKey) {
    const reply = await this.call('lookup', { keys: [this.key(tableName, primaryKey, secondaryKey)] });
    const found = reply.found || [];
    return found.length ? plain(found[0].entity.properties || {}) : null;
  }

  async update(tableName, primaryKey, secondaryKey, updates) {
    const current = (await this.get(tableName, primaryKey, secondaryKey)) || {};
    await this.insert(tableName, primaryKey, secondaryKey, { ...current, ...updates });
  }

  async query(tableName, primaryKey, secondaryKeyName) {
    const ancestor = { partitionId: this.partition(), path: [{ kind: primaryKey[0], name: String(primaryKey[1]) }] };
    const query = {
      kind: [{ name: tableName }],
      filter: { propertyFilter: { property: { name: '__key__' }, op: 'HAS_ANCESTOR', value: { keyValue: ancestor } } },
    };
    const items = [];
    for (;;) {
      const batch = (await this.call('runQuery', { partitionId: this.partition(), query })).batch || {};
      for (const r of batch.entityResults || []) items.push(plain(r.entity.properties || {}));
      if (batch.moreResults !== 'NOT_FINISHED' || !batch.endCursor) break;
      query.startCursor = batch.endCursor;
    }
    items.sort((a, b) => (a[secondaryKeyName] < b[secondaryKeyName] ? -1 : a[secondaryKeyName] > b[secondaryKeyName] ? 1 : 0));
    return items;
  }

  async delete(tableName, primaryKey, secondaryKey) {
    await this.call('commit', { mode: 'NON_TRANSACTIONAL', mutations: [{ delete: this.key(tableName, primaryKey, secondaryKey) }] });
  }
}
nosql.instance = null;

function get_instance() {
  return nosql.get_instance();
}

module.exports = { nosql, NoSQLError: g.GoogleError, get_instance };
