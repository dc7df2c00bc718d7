// HTTP to Google's APIs for the sebs GCP shims (Node.js 18+: global fetch). On Google Cloud the
// function's service account gives the token, from the metadata server; against an emulator
// (STORAGE_EMULATOR_HOST, DATASTORE_EMULATOR_HOST) no token is sent.
'use strict';

const TOKEN_URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';
let cached = { token: null, until: 0 };

class GoogleError extends Error {
  constructor(status, message) {
    super('HTTP ' + status + ': ' + message);
    this.status = status;
  }
}

async function token() {
  if (!cached.token || Date.now() > cached.until) {
    const reply = await (await fetch(TOKEN_URL, { headers: { 'Metadata-Flavor': 'Google' } })).json();
    cached = { token: reply.access_token, until: Date.now() + ((reply.expires_in || 3600) - 60) * 1000 };
  }
  return cached.token;
}

/** The base URL of an API and whether to authenticate: the emulator's if `emulatorHost` is set. */
function endpoint(emulatorHost, host) {
  if (emulatorHost) {
    return { base: emulatorHost.includes('://') ? emulatorHost.replace(/\/$/, '') : 'http://' + emulatorHost, auth: false };
  }
  return { base: 'https://' + host, auth: true };
}

/** `method base+path`; a Buffer of the body, or a GoogleError for statuses outside `ok`. */
async function request(api, method, path, body, headers = {}, ok = [200, 201, 204]) {
  const h = { ...headers };
  if (api.auth) {
    h.Authorization = 'Bearer ' + (await token());
  }
  const response = await fetch(api.base + path, { method, body, headers: h });
  const data = Buffer.from(await response.arrayBuffer());
  if (!ok.includes(response.status)) {
    throw new GoogleError(response.status, data.toString('utf8').slice(0, 300));
  }
  return data;
}

async function json(api, method, path, body) {
  const data = await request(api, method, path, body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? {} : { 'Content-Type': 'application/json' }, [200]);
  return data.length ? JSON.parse(data.toString('utf8')) : {};
}

module.exports = { GoogleError, endpoint, request, json };
