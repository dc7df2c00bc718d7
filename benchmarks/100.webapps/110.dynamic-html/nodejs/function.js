'use strict';
/** 110.dynamic-html: server-side rendering of a dynamic page with Mustache. */
const fs = require('fs');
const path = require('path');
const Mustache = require('mustache');

// Read and parsed once per instance: warm invocations reuse the parsed template.
const TEMPLATE = fs.readFileSync(path.join(__dirname, 'templates', 'template.html'), 'utf8');
Mustache.parse(TEMPLATE);

function pad(n) {
  return String(n).padStart(2, '0');
}

function now() {
  const d = new Date();
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

exports.handler = async function (event) {
  const username = event.username;
  const size = event.random_len;
  if (typeof username !== 'string' || !Number.isInteger(size) || size < 0) {
    throw new TypeError(
      "expected an event with 'username' (string) and 'random_len' (non-negative integer), got " +
        JSON.stringify({ username, random_len: size }),
    );
  }
  const numbers = new Array(size);
  for (let i = 0; i < size; i += 1) {
    numbers[i] = Math.floor(Math.random() * 1000001);
  }
  const page = Mustache.render(TEMPLATE, {
    username,
    cur_time: now(),
    random_numbers: numbers,
  });
  return { result: page };
};
