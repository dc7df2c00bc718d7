"""120.uploader: download a URL and upload the file to object storage."""
import datetime
import os
import shutil
import tempfile
import urllib.request
from urllib.parse import urlsplit

from . import storage

client = storage.storage.get_instance()

USER_AGENT = "SeBS/1.2 (https://github.com/spcl/serverless-benchmarks) SeBS Benchmark Suite/1.2"


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def handler(event):
    bucket = event["bucket"]["bucket"]
    output_prefix = event["bucket"]["output"]
    url = event["object"]["url"]
    name = os.path.basename(urlsplit(url).path)
    path = os.path.join(tempfile.gettempdir(), name)

    process_begin = datetime.datetime.now()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request) as response, open(path, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    size = os.path.getsize(path)
    process_end = datetime.datetime.now()

    upload_begin = datetime.datetime.now()
    key_name = client.upload(bucket, os.path.join(output_prefix, name), path)
    upload_end = datetime.datetime.now()
    os.remove(path)

    # The URL itself is not returned: locally it is presigned and would land in the results.
    return {
        "result": {"bucket": bucket, "name": name, "key": key_name},
        "measurement": {
            "download_time": 0,
            "download_size": size,
            "upload_time": _us(upload_begin, upload_end),
            "upload_size": size,
            "compute_time": _us(process_begin, process_end),
        },
    }
