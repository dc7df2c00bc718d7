'use strict';
/** 120.uploader: download a URL and upload the file to object storage. */
const fs = require('fs');
const os = require('os');
const path = require('path');
const storage = require('./storage');

const client = storage.storage.get_instance();

const USER_AGENT = 'SeBS/1.2 (https://github.com/spcl/serverless-benchmarks) SeBS Benchmark Suite/1.2';

/** Microseconds between two process.hrtime.bigint() readings. */
function us(begin, end) {
  return Number(end - begin) / 1000;
}

/** Download `url` (following up to 5 redirects) into `target`. */
function download(url, target, redirects = 5) {
  const module = require(new URL(url).protocol === 'https:' ? 'https' : 'http');
  return new Promise((resolve, reject) => {
    const request = module.get(url, { headers: { 'User-Agent': USER_AGENT } }, (response) => {
      const status = response.statusCode;
      if (status >= 300 && status < 400 && response.headers.location && redirects > 0) {
        response.resume();
        resolve(download(new URL(response.headers.location, url).href, target, redirects - 1));
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new Error('GET ' + new URL(url).pathname + ' answered HTTP ' + status));
        return;
      }
      require('stream/promises').pipeline(response, fs.createWriteStream(target)).then(resolve, reject);
    });
    request.on('error', reject);
  });
}

exports.handler = async function (event) {
  const bucket = event.bucket.bucket;
  const outputPrefix = event.bucket.output;
  const url = event.object.url;
  const name = path.basename(new URL(url).pathname);
  const file = path.join(os.tmpdir(), name);

  const processBegin = process.hrtime.bigint();
  await download(url, file);
  const size = (await fs.promises.stat(file)).size;
  const processEnd = process.hrtime.bigint();

  const uploadBegin = process.hrtime.bigint();
  const [keyName, uploaded] = client.upload(bucket, path.posix.join(outputPrefix, name), file);
  await uploaded;
  const uploadEnd = process.hrtime.bigint();
  await fs.promises.unlink(file);

  // The URL itself is not returned: locally it is presigned and would land in the results.
  return {
    result: { bucket, name, key: keyName },
    measurement: {
      download_time: 0,
      download_size: size,
      upload_time: us(uploadBegin, uploadEnd),
      upload_size: size,
      compute_time: us(processBegin, processEnd),
    },
  };
};
