// The SeBS NoSQL API of runtimes/gcp/nodejs/nosql.js against a Datastore-mode emulator
// (argv[2]: the shim directory; DATASTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT set by the test).
'use strict';
const assert = require('assert');
const { nosql } = require(require('path').join(process.argv[2], 'nosql.js'));

(async () => {
  const db = nosql.get_instance();
  await db.insert('cart_js', ['cart_id', 'c1'], ['product_id', 'p2'], { price: 3.5, quantity: 2 });
  await db.insert('cart_js', ['cart_id', 'c1'], ['product_id', 'p1'], { price: 1.25, quantity: 1, tags: ['a', 'b'] });
  await db.insert('cart_js', ['cart_id', 'c2'], ['product_id', 'p1'], { price: 9 });
  assert.deepStrictEqual(await db.get('cart_js', ['cart_id', 'c1'], ['product_id', 'p1']),
    { price: 1.25, quantity: 1, tags: ['a', 'b'], cart_id: 'c1', product_id: 'p1' });
  await db.update('cart_js', ['cart_id', 'c1'], ['product_id', 'p1'], { quantity: 5 });
  assert.strictEqual((await db.get('cart_js', ['cart_id', 'c1'], ['product_id', 'p1'])).quantity, 5);
  const items = await db.query('cart_js', ['cart_id', 'c1'], 'product_id');
  assert.deepStrictEqual(items.map((i) => i.product_id), ['p1', 'p2']);
  await db.delete('cart_js', ['cart_id', 'c1'], ['product_id', 'p2']);
  assert.strictEqual(await db.get('cart_js', ['cart_id', 'c1'], ['product_id', 'p2']), null);
  console.log('nosql.js ok');
})().catch((e) => { console.error(e); process.exit(1); });
