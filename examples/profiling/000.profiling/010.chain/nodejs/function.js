// 010.chain for Node.js: the same as python/function.py, with the profiler's wrapper.
const fp = require('../faas_profiler');
const nosql = require('./nosql');
const storage = require('./storage');

exports.handler = fp.profile()(async (event) => {
  const depth = event.depth || 0;
  if (depth <= 0) {
    return { depth: 0, peak_mb: Buffer.alloc(8 * 1024 * 1024, 1).length / (1024 * 1024) };
  }
  const client = storage.storage.get_instance();
  const [key, uploaded] = client.upload_stream(event.bucket, event.prefix + '/blob.bin', Buffer.alloc(event.size, 'x'));
  await uploaded;
  const data = await client.download_stream(event.bucket, key);
  const table = nosql.nosql.get_instance();
  const id = ['request', event['request-id']];
  await table.insert('chain_steps', id, ['step', String(depth)], { depth });
  const visit = await table.get('chain_steps', id, ['step', String(depth)]);
  const child = await fp.invoke(process.env.AWS_LAMBDA_FUNCTION_NAME, { depth: depth - 1 });
  return { depth, read: data.length, visit: { depth: visit.depth }, child: child.result };
});
