"""SeBS object storage API for Python functions on Google Cloud Storage (JSON API, standard library).

Configured by ``STORAGE_EMULATOR_HOST`` (an emulator, no credentials) or, on Google Cloud, the
function's service account through the metadata server.

    from . import storage
    client = storage.storage.get_instance()
    key = client.upload(bucket, "out/thumb.jpg", "/tmp/thumb.jpg")   # -> "out/thumb.<uuid8>.jpg"
"""
import os
import urllib.parse
import uuid

try:
    from . import _gauth
except ImportError:  # imported as a top-level module
    import _gauth


def _q(s):
    return urllib.parse.quote(s, safe="")


class storage:
    instance = None

    def __init__(self):
        host = os.environ.get("STORAGE_EMULATOR_HOST")
        self.conn = _gauth.Connection(*_gauth.endpoint(host, "storage.googleapis.com"))

    @staticmethod
    def get_instance():
        if storage.instance is None:
            storage.instance = storage()
        return storage.instance

    @staticmethod
    def unique_name(name):
        base, extension = os.path.splitext(name)
        return "%s.%s%s" % (base, str(uuid.uuid4()).split("-")[0], extension)

    def upload_file(self, bucket, key, filepath):
        with open(filepath, "rb") as f:
            self._put(bucket, key, f.read())

    def _put(self, bucket, key, data):
        path = "/upload/storage/v1/b/%s/o?uploadType=media&name=%s" % (_q(bucket), _q(key))
        self.conn.request("POST", path, data, {"Content-Type": "application/octet-stream"})

    def upload(self, bucket, file, filepath):
        key = storage.unique_name(file)
        self.upload_file(bucket, key, filepath)
        return key

    def upload_stream(self, bucket, file, data):
        key = storage.unique_name(file)
        self._put(bucket, key, bytes(data))
        return key

    def download_stream(self, bucket, file):
        _, data = self.conn.request("GET", "/storage/v1/b/%s/o/%s?alt=media" % (_q(bucket), _q(file)))
        return data

    def download(self, bucket, file, filepath):
        data = self.download_stream(bucket, file)
        os.makedirs(os.path.dirname(filepath) or ".", exist_ok=True)
        with open(filepath, "wb") as f:
            f.write(data)

    def list(self, bucket, prefix=""):
        keys, token = [], None
        while True:
            path = "/storage/v1/b/%s/o?prefix=%s" % (_q(bucket), _q(prefix))
            if token:
                path += "&pageToken=" + _q(token)
            reply = self.conn.json("GET", path)
            keys.extend(item["name"] for item in reply.get("items", []))
            token = reply.get("nextPageToken")
            if not token:
                return keys

    def download_directory(self, bucket, prefix, path):
        for key in self.list(bucket, prefix):
            self.download(bucket, key, os.path.join(path, key))

    def exists(self, bucket, key):
        try:
            self.conn.json("GET", "/storage/v1/b/%s/o/%s" % (_q(bucket), _q(key)))
            return True
        except _gauth.GoogleError as e:
            if e.status == 404:
                return False
            raise

    def create_bucket(self, bucket, project=None):
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT", "sebs")
        try:
            self.conn.json("POST", "/storage/v1/b?project=%s" % _q(project), {"name": bucket})
        except _gauth.GoogleError as e:
            if e.status != 409:  # it exists
                raise


def get_instance():
    return storage.get_instance()
