//! The embedded servers against the Node.js shims (runtimes/nodejs/storage.js and nosql.js):
//! objects written by Node read back by the Python shims and the other way round, `[key, promise]`
//! uploads, directory downloads, wrong credentials, and NoSQL CRUD.

mod common;

use common::run;
use sebs_storage::{EmbeddedOptions, EmbeddedStorage, Services};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_storage_shim_round_trips_with_the_python_shim() {
    let dir = tempfile::tempdir().unwrap();
    let storage = EmbeddedStorage::start(Services::OBJECT, &EmbeddedOptions::under(dir.path()))
        .await
        .unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let work_s = work.to_str().unwrap();
    let (ok, out) = run(
        "python3",
        &storage,
        "import storage\ns = storage.storage.get_instance()\ns.create_bucket('node-shims')\ns.upload_file('node-shims', 'in/dir/a b+c.txt', '/etc/hostname')\ns.upload_stream('node-shims', 'in/dir/sub/x.bin', b'from python')\nprint('ok')",
        &[],
    );
    assert!(ok, "{out}");

    let script = format!(
        r#"
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const storage = require('./storage');
(async () => {{
  const s = storage.storage.get_instance();
  assert.strictEqual(s, storage.get_instance());
  const work = {work:?};
  const src = path.join(work, 'photo.jpg');
  const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(src, data);
  const [key, uploaded] = s.upload('node-shims', 'out/photo.jpg', src);
  assert.match(key, /^out\/photo\.[0-9a-f]{{8}}\.jpg$/);
  assert.strictEqual(await uploaded, key);
  const back = path.join(work, 'back.jpg');
  await s.download('node-shims', key, back);
  assert.ok(fs.readFileSync(back).equals(data), 'download returns the uploaded bytes');
  const [k2, p2] = s.upload_stream('node-shims', 'out/x.bin', Buffer.from('hello'));
  await p2;
  assert.strictEqual((await s.download_stream('node-shims', k2)).toString(), 'hello');
  assert.strictEqual(await s.exists('node-shims', k2), true);
  assert.strictEqual(await s.exists('node-shims', 'out/nope'), false);
  await s.download_directory('node-shims', 'in/dir', path.join(work, 'tree'));
  const sub = fs.readdirSync(path.join(work, 'tree/in/dir/sub'));
  assert.strictEqual(sub.length, 1, String(sub));
  assert.match(sub[0], /^x\.[0-9a-f]{{8}}\.bin$/);
  assert.strictEqual(fs.readFileSync(path.join(work, 'tree/in/dir/sub', sub[0])).toString(), 'from python');
  assert.ok(fs.existsSync(path.join(work, 'tree/in/dir/a b+c.txt')));
  const keys = await s.list('node-shims', 'out/');
  assert.deepStrictEqual(keys.sort(), [k2, key].sort());
  // SeBS's streaming pair: a writable stream piped from a readable one.
  const [sink, streamed, k3] = s.uploadStream('node-shims', 'streams/copy.jpg');
  assert.match(k3, /^streams\/copy\.[0-9a-f]{{8}}\.jpg$/);
  (await s.downloadStream('node-shims', key)).pipe(sink);
  assert.strictEqual(await streamed, k3);
  assert.ok((await s.download_stream('node-shims', k3)).equals(data), 'uploadStream stores what was piped');
  let failed = null;
  try {{ await s.download_stream('node-shims', 'out/missing'); }} catch (e) {{ failed = e; }}
  assert.ok(failed instanceof storage.StorageError && failed.status === 404, String(failed));
  console.log(key);
}})().catch((e) => {{ console.error(e); process.exit(1); }});
"#,
        work = work_s
    );
    let (ok, out) = run("node", &storage, &script, &[]);
    assert!(ok, "{out}");
    let key = out.trim().to_owned();

    // What Node uploaded, Python reads.
    let (ok, out) = run(
        "python3",
        &storage,
        &format!(
            "import storage\nprint(len(storage.storage.get_instance().download_stream('node-shims', {key:?})))"
        ),
        &[],
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), (3 * 1024 * 1024 + 17).to_string());

    // A wrong secret is refused with S3's error code.
    let (ok, out) = run(
        "node",
        &storage,
        "require('./storage').get_instance().download_stream('node-shims', 'in/dir/a b+c.txt').then(() => process.exit(0), (e) => { console.log(e.status, e.code); process.exit(1); })",
        &[("MINIO_SECRET_KEY", "not-the-secret")],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("403"), "{out}");
    storage.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_nosql_shim_crud() {
    let dir = tempfile::tempdir().unwrap();
    let storage = EmbeddedStorage::start(Services::NOSQL, &EmbeddedOptions::under(dir.path()))
        .await
        .unwrap();
    let env = [("NOSQL_STORAGE_TABLE_cart", "t-shopping_cart")];
    let (ok, out) = run(
        "python3",
        &storage,
        "import nosql\nnosql.get_instance().create_table('t-shopping_cart', 'cart_id', 'product_id')\nprint('ok')",
        &env,
    );
    assert!(ok, "{out}");
    let script = r#"
const assert = require('assert');
const nosql = require('./nosql');
(async () => {
  const db = nosql.nosql.get_instance();
  await db.insert('cart', ['cart_id', 'c1'], ['product_id', 'p2'], { name: 'node-shims', price: 2.5, quantity: 4 });
  await db.insert('cart', ['cart_id', 'c1'], ['product_id', 'p1'], { name: 'a', price: 10, quantity: 1, tags: ['x'], meta: { ok: true } });
  await db.insert('cart', ['cart_id', 'c2'], ['product_id', 'p1'], { name: 'c', price: 1, quantity: 1 });
  const item = await db.get('cart', ['cart_id', 'c1'], ['product_id', 'p1']);
  assert.deepStrictEqual(item, { cart_id: 'c1', product_id: 'p1', name: 'a', price: 10, quantity: 1, tags: ['x'], meta: { ok: true } });
  assert.strictEqual(await db.get('cart', ['cart_id', 'c1'], ['product_id', 'nope']), null);
  await db.update('cart', ['cart_id', 'c1'], ['product_id', 'p2'], { quantity: 5, name: 'bb' });
  const items = await db.query('cart', ['cart_id', 'c1'], 'product_id');
  assert.deepStrictEqual(items.map((i) => i.product_id), ['p1', 'p2']);
  assert.ok(items[1].quantity === 5 && items[1].name === 'bb' && items[1].price === 2.5);
  await db.delete('cart', ['cart_id', 'c1'], ['product_id', 'p1']);
  assert.strictEqual((await db.query('cart', ['cart_id', 'c1'], 'product_id')).length, 1);
  assert.throws(() => nosql.nosql.table('missing'), /NOSQL_STORAGE_TABLE_missing is not set/);
  console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });
"#;
    let (ok, out) = run("node", &storage, script, &env);
    assert!(ok, "{out}");
    // Python sees what Node wrote.
    let (ok, out) = run(
        "python3",
        &storage,
        "import nosql\nprint(nosql.get_instance().get('cart', ('cart_id', 'c1'), ('product_id', 'p2')))",
        &env,
    );
    assert!(ok, "{out}");
    assert!(out.contains("'quantity': 5"), "{out}");
    storage.shutdown().await;
}
