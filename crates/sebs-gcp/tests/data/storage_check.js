// The SeBS storage API of runtimes/gcp/nodejs/storage.js against the Cloud Storage emulator
// (argv[2]: the shim directory, argv[3]: a scratch directory; STORAGE_EMULATOR_HOST set by the test).
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { storage } = require(path.join(process.argv[2], 'storage.js'));

(async () => {
  const scratch = process.argv[3];
  const client = storage.get_instance();
  await client.create_bucket('sebs-js-test');
  await client.create_bucket('sebs-js-test');
  const src = path.join(scratch, 'in.bin');
  fs.writeFileSync(src, Buffer.alloc(100000, 7));
  const [key, uploaded] = client.upload('sebs-js-test', 'input/data.bin', src);
  assert.strictEqual(await uploaded, key);
  assert.ok(key.startsWith('input/data.') && key.endsWith('.bin') && key !== 'input/data.bin', key);
  const [skey, sdone] = client.upload_stream('sebs-js-test', 'output/x.txt', 'streamed');
  await sdone;
  assert.strictEqual((await client.download_stream('sebs-js-test', skey)).toString(), 'streamed');
  const [writable, wdone] = client.uploadStream('sebs-js-test', 'output/y.txt');
  writable.end(Buffer.from('piped'));
  const wkey = await wdone;
  const chunks = [];
  for await (const c of await client.downloadStream('sebs-js-test', wkey)) chunks.push(c);
  assert.strictEqual(Buffer.concat(chunks).toString(), 'piped');
  await client.download('sebs-js-test', key, path.join(scratch, 'out', 'copy.bin'));
  assert.ok(fs.readFileSync(path.join(scratch, 'out', 'copy.bin')).equals(Buffer.alloc(100000, 7)));
  assert.deepStrictEqual(await client.list('sebs-js-test', 'input/'), [key]);
  assert.ok(await client.exists('sebs-js-test', key));
  assert.ok(!(await client.exists('sebs-js-test', 'input/missing')));
  console.log('storage.js ok');
})().catch((e) => { console.error(e); process.exit(1); });
