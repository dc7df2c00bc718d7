"""HTTP to Google's APIs with the standard library, for the sebs GCP shims.

On Google Cloud the function's service account gives the token, from the metadata server. sebs's
input driver, on the user's machine, gets one in ``SEBS_GCP_ACCESS_TOKEN`` instead (from the
credentials sebs uses; never written anywhere). Against an emulator (``STORAGE_EMULATOR_HOST``,
``DATASTORE_EMULATOR_HOST``) no token is sent.
"""
import http.client
import json
import time
import urllib.parse

_METADATA = "metadata.google.internal"
_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
_token = [None, 0.0]


class GoogleError(Exception):
    def __init__(self, status, message):
        super().__init__("HTTP %d: %s" % (status, message))
        self.status = status


def token():
    import os

    given = os.environ.get("SEBS_GCP_ACCESS_TOKEN")
    if given:
        return given
    if _token[0] is None or time.time() > _token[1]:
        conn = http.client.HTTPConnection(_METADATA, timeout=5)
        conn.request("GET", _TOKEN_PATH, headers={"Metadata-Flavor": "Google"})
        reply = json.loads(conn.getresponse().read())
        _token[0] = reply["access_token"]
        _token[1] = time.time() + int(reply.get("expires_in", 3600)) - 60
    return _token[0]


def endpoint(emulator_host, default):
    """(scheme, host, authenticated) of an API: the emulator's if set."""
    if emulator_host:
        parsed = urllib.parse.urlsplit(emulator_host if "://" in emulator_host else "http://" + emulator_host)
        return parsed.scheme, parsed.netloc, False
    return "https", default, True


class Connection:
    def __init__(self, scheme, host, authenticated):
        self.scheme, self.host, self.authenticated = scheme, host, authenticated
        self._conn = None

    def _connect(self):
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, timeout=60)
        return self._conn

    def request(self, method, path, body=None, headers=None, ok=(200, 201, 204)):
        headers = dict(headers or {})
        if self.authenticated:
            headers["Authorization"] = "Bearer " + token()
        for attempt in range(3):
            try:
                conn = self._connect()
                conn.request(method, path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                break
            except (http.client.HTTPException, OSError):
                self._conn = None
                if attempt == 2:
                    raise
        if reply.status not in ok:
            raise GoogleError(reply.status, data[:300].decode("utf-8", "replace"))
        return reply.status, data

    def json(self, method, path, body=None, ok=(200,)):
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        _, data = self.request(method, path, payload, headers, ok)
        return json.loads(data) if data else {}
