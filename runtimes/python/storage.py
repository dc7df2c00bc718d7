"""SeBS object storage API for Python functions, over S3 with the standard library only.

Configured by environment variables:
  MINIO_ADDRESS (host:port for plain HTTP, or a URL), MINIO_ACCESS_KEY, MINIO_SECRET_KEY,
  MINIO_REGION: sebs's embedded server, MinIO, or any S3-compatible endpoint;
  otherwise AWS S3 with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
  AWS_REGION (as on AWS Lambda).

    from . import storage
    client = storage.storage.get_instance()
    key = client.upload(bucket, "out/thumb.jpg", "/tmp/thumb.jpg")   # -> "out/thumb.<uuid8>.jpg"
"""
import hashlib
import os
import sys
import time

try:
    from . import _sigv4
except ImportError:  # imported as a top-level module (the sebs input driver)
    import _sigv4

quote = _sigv4.quote

_CHUNK = 1 << 20
_now = time.time
_perf = time.perf_counter


def _capture(operation, bucket, key, nbytes, start, t0):
    """Report an operation to the profiler (faas_profiler_python), when one is recording."""
    profiler = sys.modules.get("faas_profiler_python")
    if profiler is not None and profiler.active is not None:
        profiler.capture("storage", operation, start, _perf() - t0, bucket=bucket, key=key, bytes=nbytes)


def _http_exception():
    import http.client

    return http.client.HTTPException


class StorageError(Exception):
    """An S3 request failed; `status` is the HTTP status, `code` the S3 error code."""

    def __init__(self, status, code, message):
        super().__init__("S3 error %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def _error(response, body):
    code, message = "", body[:300].decode("utf-8", "replace")
    if body.startswith(b"<"):
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(body)
            code = root.findtext("Code") or ""
            message = root.findtext("Message") or message
        except ElementTree.ParseError:
            pass
    return StorageError(response.status, code, message)


class storage:
    """The SeBS storage interface (`storage.get_instance()`)."""

    instance = None

    def __init__(self):
        env = os.environ
        if env.get("MINIO_ADDRESS"):
            self.creds = _sigv4.Credentials(
                env.get("MINIO_ACCESS_KEY"), env.get("MINIO_SECRET_KEY"), env.get("MINIO_REGION")
            )
            address = env["MINIO_ADDRESS"]
        else:
            self.creds, address = _sigv4.aws_from_environment("s3")
        self.scheme, self.host = _sigv4.split_address(address, "127.0.0.1:9011")
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
            self._conn = _sigv4.connect(self.scheme, self.host)
        return self._conn

    def _request(self, method, bucket, key=None, query=(), body=None, payload_hash=None, headers=None):
        """Send a signed request; returns the open response (status < 300) or raises."""
        path = "/" + quote(bucket, safe="")
        if key is not None:
            path += "/" + quote(key, safe="/~")
        if payload_hash is None:
            payload_hash = hashlib.sha256(body or b"").hexdigest()
        url = path
        if query:
            url += "?" + "&".join(
                "%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query
            )
        for attempt in (0, 1):
            hdrs = dict(headers or {})
            _sigv4.sign_headers(self.creds, "s3", method, self.host, path, query, hdrs, payload_hash)
            if body is not None and not isinstance(body, (bytes, bytearray)):
                body.seek(0)
            try:
                conn = self._connection()
                conn.request(method, url, body=body, headers=hdrs)
                response = conn.getresponse()
            except (_http_exception(), ConnectionError, OSError):
                # A kept-alive connection the server closed: reconnect once.
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if attempt:
                    raise
                continue
            if response.status >= 300:
                raise _error(response, response.read())
            return response

    # -- SeBS API ------------------------------------------------------------------------------

    def upload(self, bucket, file, filepath):
        """Upload `filepath` under a unique variant of the key `file`; returns that key."""
        key = storage.unique_name(file)
        self.upload_file(bucket, key, filepath)
        return key

    def upload_file(self, bucket, key, filepath):
        """Upload `filepath` to exactly `key`."""
        start, t0 = _now(), _perf()
        digest = hashlib.sha256()
        with open(filepath, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
            size = f.tell()
            self._request(
                "PUT",
                bucket,
                key,
                body=f,
                payload_hash=digest.hexdigest(),
                headers={"Content-Length": str(size)},
            ).read()
        _capture("upload", bucket, key, size, start, t0)

    def download(self, bucket, file, filepath):
        """Download object `file` to `filepath`."""
        start, t0 = _now(), _perf()
        response = self._request("GET", bucket, file)
        size = 0
        with open(filepath, "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                size += len(chunk)
        _capture("download", bucket, file, size, start, t0)

    def download_directory(self, bucket, prefix, path):
        """Download every object under `prefix` to `path/<key>`."""
        for key in self.list(bucket, prefix):
            target = os.path.join(path, key)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.download(bucket, key, target)

    def upload_stream(self, bucket, file, data):
        """Upload bytes under a unique variant of the key `file`; returns that key."""
        start, t0 = _now(), _perf()
        key = storage.unique_name(file)
        if hasattr(data, "getvalue"):  # io.BytesIO, as SeBS benchmarks pass
            data = data.getvalue()
        elif hasattr(data, "read"):
            data = data.read()
        data = bytes(data)
        self._request("PUT", bucket, key, body=data).read()
        _capture("upload_stream", bucket, key, len(data), start, t0)
        return key

    def download_stream(self, bucket, file):
        """The bytes of object `file`."""
        start, t0 = _now(), _perf()
        data = self._request("GET", bucket, file).read()
        _capture("download_stream", bucket, file, len(data), start, t0)
        return data

    # -- Used by the sebs harness and validation -----------------------------------------------

    def list(self, bucket, prefix=""):
        """Every key under `prefix` (ListObjectsV2, all pages)."""
        from xml.etree import ElementTree

        keys, token = [], None
        start, t0 = _now(), _perf()
        while True:
            query = [("list-type", "2"), ("prefix", prefix)]
            if token:
                query.append(("continuation-token", token))
            root = ElementTree.fromstring(self._request("GET", bucket, query=query).read())
            ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            keys.extend(e.findtext(ns + "Key") for e in root.iter(ns + "Contents"))
            token = root.findtext(ns + "NextContinuationToken")
            if root.findtext(ns + "IsTruncated") != "true" or not token:
                _capture("list", bucket, prefix, None, start, t0)
                return keys

    def exists(self, bucket, key):
        """Whether object `key` exists."""
        try:
            self._request("HEAD", bucket, key).read()
            return True
        except StorageError as e:
            if e.status == 404:
                return False
            raise

    def create_bucket(self, bucket):
        """Create `bucket` unless it exists."""
        try:
            self._request("HEAD", bucket).read()
            return
        except StorageError as e:
            if e.status != 404:
                raise
        body = None
        if self.creds.region != "us-east-1" and "amazonaws.com" in self.host:
            body = (
                "<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint>"
                "</CreateBucketConfiguration>" % self.creds.region
            ).encode()
        try:
            self._request("PUT", bucket, body=body).read()
        except StorageError as e:
            if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def presigned_url(self, bucket, key, expires=3600):
        """A URL that GETs object `key` without credentials for `expires` seconds."""
        path = "/" + quote(bucket, safe="") + "/" + quote(key, safe="/~")
        query = _sigv4.presign_query(self.creds, "s3", "GET", self.host, path, [], expires)
        return "%s://%s%s?%s" % (self.scheme, self.host, path, query)


def get_instance():
    """Module-level shortcut for `storage.get_instance()`."""
    return storage.get_instance()
