'use strict';
/** 311.compression: download a directory prefix, zip it (archiver), upload the archive. */
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const archiver = require('archiver');
const storage = require('./storage');

const client = storage.storage.get_instance();

function us(begin, end) {
  return Number(end - begin) / 1000;
}

async function treeSize(dir) {
  let total = 0;
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? await treeSize(full) : (await fs.promises.stat(full)).size;
  }
  return total;
}

/** Zip `dir` into `archivePath` with its files under `prefix/` (like shutil.make_archive's base_dir). */
function zipDirectory(dir, prefix, archivePath) {
  return new Promise((resolve, reject) => {
    const output = fs.createWriteStream(archivePath);
    const archive = archiver('zip');
    output.on('close', resolve);
    output.on('error', reject);
    archive.on('error', reject);
    archive.on('warning', reject);
    archive.pipe(output);
    archive.directory(dir, prefix);
    archive.finalize();
  });
}

exports.handler = async function (event) {
  const bucket = event.bucket.bucket;
  const inputPrefix = event.bucket.input;
  const outputPrefix = event.bucket.output;
  const key = event.object.key;
  const work = path.join(os.tmpdir(), key + '-' + crypto.randomUUID());
  await fs.promises.mkdir(work, { recursive: true });
  try {
    const downloadBegin = process.hrtime.bigint();
    await client.download_directory(bucket, path.posix.join(inputPrefix, key), work);
    const downloadEnd = process.hrtime.bigint();
    // download_directory writes <work>/<input prefix>/<key>/...
    const source = path.join(work, inputPrefix, key);
    const size = await treeSize(source);

    const compressBegin = process.hrtime.bigint();
    const archivePath = path.join(work, key + '.zip');
    await zipDirectory(source, key, archivePath);
    const compressEnd = process.hrtime.bigint();

    const uploadBegin = process.hrtime.bigint();
    const [keyName, uploaded] = client.upload(bucket, path.posix.join(outputPrefix, key + '.zip'), archivePath);
    await uploaded;
    const uploadEnd = process.hrtime.bigint();
    const archiveSize = (await fs.promises.stat(archivePath)).size;

    return {
      result: { bucket, key: keyName },
      measurement: {
        download_time: us(downloadBegin, downloadEnd),
        download_size: size,
        upload_time: us(uploadBegin, uploadEnd),
        upload_size: archiveSize,
        compute_time: us(compressBegin, compressEnd),
      },
    };
  } finally {
    await fs.promises.rm(work, { recursive: true, force: true });
  }
};
