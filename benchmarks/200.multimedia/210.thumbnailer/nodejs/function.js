'use strict';
/** 210.thumbnailer: download an image, shrink it to fit width x height (sharp), upload it as JPEG. */
const path = require('path');
const sharp = require('sharp');
const storage = require('./storage');

const client = storage.storage.get_instance();

function us(begin, end) {
  return Number(end - begin) / 1000;
}

/** Fit inside width x height keeping the aspect ratio, never enlarging (Pillow's thumbnail()). */
function resizeImage(image, width, height) {
  return sharp(image)
    .resize({ width, height, fit: 'inside', withoutEnlargement: true })
    .jpeg()
    .toBuffer();
}

exports.handler = async function (event) {
  const bucket = event.bucket.bucket;
  const inputPrefix = event.bucket.input;
  const outputPrefix = event.bucket.output;
  const key = decodeURIComponent(event.object.key.replace(/\+/g, ' '));
  const width = event.object.width;
  const height = event.object.height;

  const downloadBegin = process.hrtime.bigint();
  const image = await client.download_stream(bucket, path.posix.join(inputPrefix, key));
  const downloadEnd = process.hrtime.bigint();

  const processBegin = process.hrtime.bigint();
  const resized = await resizeImage(image, width, height);
  const processEnd = process.hrtime.bigint();

  const uploadBegin = process.hrtime.bigint();
  const [keyName, uploaded] = client.upload_stream(bucket, path.posix.join(outputPrefix, key), resized);
  await uploaded;
  const uploadEnd = process.hrtime.bigint();

  return {
    result: { bucket, key: keyName },
    measurement: {
      download_time: us(downloadBegin, downloadEnd),
      download_size: image.length,
      upload_time: us(uploadBegin, uploadEnd),
      upload_size: resized.length,
      compute_time: us(processBegin, processEnd),
    },
  };
};
