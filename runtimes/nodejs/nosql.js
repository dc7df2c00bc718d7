'use strict';
/**
 * SeBS NoSQL API for Node.js functions, over the DynamoDB JSON API with the standard library only.
 *
 * Configured by environment variables (the same as runtimes/python/nosql.py):
 *   NOSQL_STORAGE_ENDPOINT (host:port for plain HTTP, or a URL), NOSQL_STORAGE_ACCESS_KEY,
 *   NOSQL_STORAGE_SECRET_KEY, NOSQL_STORAGE_REGION: sebs's embedded store, ScyllaDB Alternator or
 *   any DynamoDB-API endpoint; otherwise AWS DynamoDB with the AWS_* variables (as on AWS Lambda).
 *   NOSQL_STORAGE_TABLE_<logical name>: the physical name of each table the benchmark allocated.
 *
 *     const nosql = require('./nosql');
 *     const table = nosql.nosql.get_instance();
 *     await table.insert('shopping_cart', ['cart_id', cart], ['product_id', product], { price: 10 });
 *
 * Keys are `[name, value]` pairs; every operation returns a promise.
 */
const sigv4 = require('./_sigv4');

// faas_profiler.js registers itself here when the function uses it.
const PROFILER = Symbol.for('sebs.profiler');

/** A DynamoDB API request failed; `code` is the exception name (e.g. ResourceNotFoundException). */
class NoSQLError extends Error {
  constructor(status, code, message) {
    super('DynamoDB API error ' + status + ' ' + code + ': ' + message);
    this.name = 'NoSQLError';
    this.status = status;
    this.code = code;
  }
}

function toAttr(value) {
  if (typeof value === 'boolean') {
    return { BOOL: value };
  }
  if (value === null || value === undefined) {
    return { NULL: true };
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError('cannot store ' + value + ' in a NoSQL item');
    }
    return { N: String(value) };
  }
  if (typeof value === 'string') {
    return { S: value };
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { B: Buffer.from(value).toString('base64') };
  }
  if (Array.isArray(value)) {
    return { L: value.map(toAttr) };
  }
  if (value instanceof Set) {
    const items = [...value];
    if (items.every((v) => typeof v === 'string')) {
      return { SS: items };
    }
    return { NS: items.map(String) };
  }
  if (typeof value === 'object') {
    return { M: item(value) };
  }
  throw new TypeError('cannot store a ' + typeof value + ' in a NoSQL item');
}

function fromNumber(text) {
  // Like SeBS's DynamoDB wrapper: integers and floats, not strings.
  return Number(text);
}

function fromAttr(attr) {
  const [kind, value] = Object.entries(attr)[0];
  switch (kind) {
    case 'N':
      return fromNumber(value);
    case 'S':
    case 'BOOL':
      return value;
    case 'NULL':
      return null;
    case 'B':
      return Buffer.from(value, 'base64');
    case 'M':
      return plain(value);
    case 'L':
      return value.map(fromAttr);
    case 'SS':
      return new Set(value);
    case 'NS':
      return new Set(value.map(fromNumber));
    default:
      throw new TypeError('unsupported DynamoDB attribute type ' + kind);
  }
}

function item(data) {
  const out = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] = toAttr(v);
  }
  return out;
}

function plain(attrs) {
  const out = {};
  for (const [k, v] of Object.entries(attrs)) {
    out[k] = fromAttr(v);
  }
  return out;
}

function keyOf(primaryKey, secondaryKey) {
  const key = {};
  for (const [name, value] of [primaryKey, secondaryKey]) {
    key[name] = value;
  }
  return item(key);
}

function compare(a, b) {
  if (a === b) {
    return 0;
  }
  if (a === undefined) {
    return -1;
  }
  if (b === undefined) {
    return 1;
  }
  return a < b ? -1 : 1;
}

/** The SeBS NoSQL interface (`nosql.get_instance()`). */
class nosql {
  constructor() {
    const env = process.env;
    let address;
    if (env.NOSQL_STORAGE_ENDPOINT) {
      this.creds = new sigv4.Credentials(
        env.NOSQL_STORAGE_ACCESS_KEY || 'sebs',
        env.NOSQL_STORAGE_SECRET_KEY || 'sebs',
        env.NOSQL_STORAGE_REGION,
      );
      address = env.NOSQL_STORAGE_ENDPOINT;
    } else {
      [this.creds, address] = sigv4.awsFromEnvironment('dynamodb');
    }
    [this.scheme, this.host] = sigv4.splitAddress(address, '127.0.0.1:9012');
    this.client = new sigv4.Client(this.scheme, this.host);
  }

  static get_instance() {
    if (!nosql.instance) {
      nosql.instance = new nosql();
    }
    return nosql.instance;
  }

  static table(tableName) {
    const physical = process.env['NOSQL_STORAGE_TABLE_' + tableName];
    if (!physical) {
      throw new Error(
        'no physical name for table ' + JSON.stringify(tableName) +
          ': NOSQL_STORAGE_TABLE_' + tableName + ' is not set',
      );
    }
    return physical;
  }

  /** One DynamoDB API call (`operation` like "PutItem"); resolves to the decoded JSON reply. */
  async call(operation, request) {
    const body = Buffer.from(JSON.stringify(request), 'utf8');
    const headers = sigv4.signHeaders(
      this.creds,
      'dynamodb',
      'POST',
      this.host,
      '/',
      [],
      {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.' + operation,
        'Content-Length': String(body.length),
      },
      sigv4.sha256Hex(body),
    );
    const profiler = globalThis[PROFILER];
    const started = profiler && profiler.recording() ? [profiler.epoch(), process.hrtime.bigint()] : null;
    const response = await this.client.send('POST', '/', headers, () => body);
    const data = await sigv4.readAll(response);
    const reply = data.length > 0 ? JSON.parse(data.toString('utf8')) : {};
    if (response.statusCode >= 300) {
      const code = String(reply.__type || '').split('#').pop();
      throw new NoSQLError(response.statusCode, code, reply.message || reply.Message);
    }
    if (started !== null) {
      profiler.capture('nosql', operation, started[0], Number(process.hrtime.bigint() - started[1]) / 1e9, {
        table: request.TableName || null,
        key: request.Key || null,
        request_bytes: body.length,
        response_bytes: data.length,
      });
    }
    return reply;
  }

  // -- SeBS API ----------------------------------------------------------------------------------

  async insert(tableName, primaryKey, secondaryKey, data) {
    const record = { ...data };
    for (const [name, value] of [primaryKey, secondaryKey]) {
      record[name] = value;
    }
    await this.call('PutItem', { TableName: nosql.table(tableName), Item: item(record) });
  }

  async get(tableName, primaryKey, secondaryKey) {
    const reply = await this.call('GetItem', {
      TableName: nosql.table(tableName),
      Key: keyOf(primaryKey, secondaryKey),
    });
    return reply.Item ? plain(reply.Item) : null;
  }

  async update(tableName, primaryKey, secondaryKey, updates) {
    const names = {};
    const values = {};
    const sets = [];
    Object.entries(updates).forEach(([name, value], i) => {
      names['#k' + i] = name;
      values[':v' + i] = toAttr(value);
      sets.push('#k' + i + ' = :v' + i);
    });
    await this.call('UpdateItem', {
      TableName: nosql.table(tableName),
      Key: keyOf(primaryKey, secondaryKey),
      UpdateExpression: 'SET ' + sets.join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  /** Every item whose partition key is `primaryKey`, sorted by `secondaryKeyName`. */
  async query(tableName, primaryKey, secondaryKeyName) {
    const request = {
      TableName: nosql.table(tableName),
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': primaryKey[0] },
      ExpressionAttributeValues: { ':pk': toAttr(primaryKey[1]) },
    };
    const items = [];
    for (;;) {
      const reply = await this.call('Query', request);
      for (const found of reply.Items || []) {
        items.push(plain(found));
      }
      if (!reply.LastEvaluatedKey) {
        break;
      }
      request.ExclusiveStartKey = reply.LastEvaluatedKey;
    }
    items.sort((a, b) => compare(a[secondaryKeyName], b[secondaryKeyName]));
    return items;
  }

  async delete(tableName, primaryKey, secondaryKey) {
    await this.call('DeleteItem', {
      TableName: nosql.table(tableName),
      Key: keyOf(primaryKey, secondaryKey),
    });
  }
}
nosql.instance = null;

/** Module-level shortcut for `nosql.get_instance()`. */
function get_instance() {
  return nosql.get_instance();
}

module.exports = { nosql, NoSQLError, get_instance };
