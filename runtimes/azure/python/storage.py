"""SeBS object storage API for Python functions on Azure: Blob storage over its REST API with
Shared Key signing, standard library only.

Configured by ``STORAGE_CONNECTION_STRING`` (SeBS's name; ``AZURE_STORAGE_CONNECTION_STRING`` also
works): ``AccountName``, ``AccountKey`` and ``BlobEndpoint`` (or ``EndpointSuffix`` with
``DefaultEndpointsProtocol``). Buckets are blob containers. Azurite's path-style endpoints
(``http://127.0.0.1:10000/devstoreaccount1``) work as Azure's do.

    from . import storage
    client = storage.storage.get_instance()
    key = client.upload(bucket, "out/thumb.jpg", "/tmp/thumb.jpg")   # -> "out/thumb.<uuid8>.jpg"
"""
import base64
import hashlib
import hmac
import os
import sys
import time
from email.utils import formatdate
from urllib.parse import quote, urlsplit

_VERSION = "2021-08-06"
_CHUNK = 1 << 20
_now = time.time
_perf = time.perf_counter


def _capture(operation, bucket, key, nbytes, start, t0):
    """Report an operation to the profiler (faas_profiler_python), when one is recording."""
    profiler = sys.modules.get("faas_profiler_python")
    if profiler is not None and profiler.active is not None:
        profiler.capture("storage", operation, start, _perf() - t0, bucket=bucket, key=key, bytes=nbytes)


class StorageError(Exception):
    """A Blob request failed; `status` is the HTTP status, `code` the Blob error code."""

    def __init__(self, status, code, message):
        super().__init__("Blob storage error %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def parse_connection_string(text):
    """(account, key bytes, blob endpoint URL) of a storage connection string."""
    parts = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    account = parts.get("AccountName")
    key = parts.get("AccountKey")
    if not account or not key:
        raise ValueError("the storage connection string lacks AccountName or AccountKey")
    endpoint = parts.get("BlobEndpoint")
    if not endpoint:
        protocol = parts.get("DefaultEndpointsProtocol", "https")
        suffix = parts.get("EndpointSuffix", "core.windows.net")
        endpoint = "%s://%s.blob.%s" % (protocol, account, suffix)
    return account, base64.b64decode(key), endpoint.rstrip("/")


def _error(response, body):
    code, message = response.getheader("x-ms-error-code") or "", body[:300].decode("utf-8", "replace")
    if body.startswith(b"<") or body.startswith(b"\xef\xbb\xbf<"):
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(body.lstrip(b"\xef\xbb\xbf"))
            code = root.findtext("Code") or code
            message = root.findtext("Message") or message
        except ElementTree.ParseError:
            pass
    return StorageError(response.status, code, message)


class storage:
    """The SeBS storage interface (`storage.get_instance()`)."""

    instance = None

    def __init__(self):
        text = os.environ.get("STORAGE_CONNECTION_STRING") or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if not text:
            raise RuntimeError("STORAGE_CONNECTION_STRING is not set: sebs sets it on the function app")
        self.account, self.key, endpoint = parse_connection_string(text)
        url = urlsplit(endpoint)
        self.scheme, self.host, self.base = url.scheme, url.netloc, url.path.rstrip("/")
        self._conn = None

    @staticmethod
    def get_instance():
        if storage.instance is None:
            storage.instance = storage()
        return storage.instance

    @staticmethod
    def unique_name(name):
        import uuid

        base, extension = os.path.splitext(name)
        return "%s.%s%s" % (base, str(uuid.uuid4()).split("-")[0], extension)

    # -- HTTP ----------------------------------------------------------------------------------

    def _connection(self):
        if self._conn is None:
            import http.client

            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, timeout=60)
        return self._conn

    def _sign(self, method, path, query, headers):
        """The Shared Key `Authorization` header of a request."""
        lower = {k.lower(): str(v) for k, v in headers.items()}
        length = lower.get("content-length", "")
        standard = [
            method,
            lower.get("content-encoding", ""),
            lower.get("content-language", ""),
            "" if length == "0" else length,
            lower.get("content-md5", ""),
            lower.get("content-type", ""),
            "",  # Date: x-ms-date is sent instead
            lower.get("if-modified-since", ""),
            lower.get("if-match", ""),
            lower.get("if-none-match", ""),
            lower.get("if-unmodified-since", ""),
            lower.get("range", ""),
        ]
        ms = "".join("%s:%s\n" % (k, lower[k].strip()) for k in sorted(lower) if k.startswith("x-ms-"))
        resource = "/" + self.account + path
        params = {}
        for k, v in query:
            params.setdefault(k.lower(), []).append(v)
        for k in sorted(params):
            resource += "\n%s:%s" % (k, ",".join(sorted(params[k])))
        text = "\n".join(standard) + "\n" + ms + resource
        digest = hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).digest()
        return "SharedKey %s:%s" % (self.account, base64.b64encode(digest).decode())

    def _path(self, bucket, key=None):
        path = self.base + "/" + quote(bucket, safe="")
        if key is not None:
            path += "/" + quote(key, safe="/~")
        return path

    def _request(self, method, bucket, key=None, query=(), body=None, headers=None):
        import http.client

        path = self._path(bucket, key)
        headers = dict(headers or {})
        headers["x-ms-date"] = formatdate(usegmt=True)
        headers["x-ms-version"] = _VERSION
        if body is not None and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        elif body is None and method in ("PUT", "POST", "DELETE"):
            headers["Content-Length"] = "0"
        headers["Authorization"] = self._sign(method, path, query, headers)
        target = path + ("?" + "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in query) if query else "")
        for attempt in (0, 1):
            try:
                conn = self._connection()
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                break
            except (OSError, http.client.HTTPException):
                self._conn = None
                if attempt or (body is not None and hasattr(body, "read")):
                    raise
        if response.status >= 300:
            raise _error(response, response.read())
        return response

    # -- SeBS's API ------------------------------------------------------------------------------

    def upload(self, bucket, file, filepath):
        """Upload `filepath` under a unique variant of the key `file`; returns that key."""
        key = storage.unique_name(file)
        self.upload_file(bucket, key, filepath)
        return key

    def upload_file(self, bucket, key, filepath):
        """Upload `filepath` to exactly `key` (one Put Blob: up to 5000 MiB)."""
        start, t0 = _now(), _perf()
        size = os.path.getsize(filepath)
        with open(filepath, "rb") as f:
            headers = {"Content-Length": str(size), "x-ms-blob-type": "BlockBlob"}
            self._request("PUT", bucket, key, body=f, headers=headers).read()
        _capture("upload", bucket, key, size, start, t0)

    def download(self, bucket, file, filepath):
        """Download blob `file` to `filepath`."""
        start, t0 = _now(), _perf()
        response = self._request("GET", bucket, file)
        size = 0
        with open(filepath, "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                size += len(chunk)
        _capture("download", bucket, file, size, start, t0)

    def download_directory(self, bucket, prefix, path):
        """Download every blob under `prefix` to `path/<key>`."""
        for key in self.list(bucket, prefix):
            target = os.path.join(path, key)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.download(bucket, key, target)

    def upload_stream(self, bucket, file, data):
        """Upload bytes under a unique variant of the key `file`; returns that key."""
        start, t0 = _now(), _perf()
        key = storage.unique_name(file)
        if hasattr(data, "getvalue"):
            data = data.getvalue()
        elif hasattr(data, "read"):
            data = data.read()
        data = bytes(data)
        self._request("PUT", bucket, key, body=data, headers={"x-ms-blob-type": "BlockBlob"}).read()
        _capture("upload_stream", bucket, key, len(data), start, t0)
        return key

    def download_stream(self, bucket, file):
        """The bytes of blob `file`."""
        start, t0 = _now(), _perf()
        data = self._request("GET", bucket, file).read()
        _capture("download_stream", bucket, file, len(data), start, t0)
        return data

    # -- Used by the sebs harness and validation -----------------------------------------------

    def list(self, bucket, prefix=""):
        """Every blob name under `prefix` (List Blobs, all pages)."""
        from xml.etree import ElementTree

        keys, marker = [], None
        start, t0 = _now(), _perf()
        while True:
            query = [("restype", "container"), ("comp", "list"), ("prefix", prefix)]
            if marker:
                query.append(("marker", marker))
            body = self._request("GET", bucket, query=query).read().lstrip(b"\xef\xbb\xbf")
            root = ElementTree.fromstring(body)
            keys.extend(e.findtext("Name") for e in root.iter("Blob"))
            marker = root.findtext("NextMarker")
            if not marker:
                _capture("list", bucket, prefix, None, start, t0)
                return keys

    def exists(self, bucket, key):
        """Whether blob `key` exists."""
        try:
            self._request("HEAD", bucket, key).read()
            return True
        except StorageError as e:
            if e.status == 404:
                return False
            raise

    def create_bucket(self, bucket):
        """Create container `bucket` unless it exists."""
        try:
            self._request("PUT", bucket, query=[("restype", "container")]).read()
        except StorageError as e:
            if e.code != "ContainerAlreadyExists" and e.status != 409:
                raise

    def presigned_url(self, bucket, key, expires=3600):
        """A URL that GETs blob `key` without credentials for `expires` seconds (a service
        SAS with read permission)."""
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires))
        resource = "/blob/%s/%s/%s" % (self.account, bucket, key)
        fields = ["r", "", expiry, resource, "", "", "", _VERSION, "b", "", "", "", "", "", "", ""]
        digest = hmac.new(self.key, "\n".join(fields).encode("utf-8"), hashlib.sha256).digest()
        sig = base64.b64encode(digest).decode()
        query = "sv=%s&se=%s&sr=b&sp=r&sig=%s" % (_VERSION, quote(expiry, safe=""), quote(sig, safe=""))
        return "%s://%s%s?%s" % (self.scheme, self.host, self._path(bucket, key), query)


def get_instance():
    """Module-level shortcut for `storage.get_instance()`."""
    return storage.get_instance()
