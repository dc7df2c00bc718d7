"""311.compression: download a directory prefix, zip it, upload the archive."""
import datetime
import os
import shutil
import tempfile
import uuid

from . import storage

client = storage.storage.get_instance()


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def _size(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def handler(event):
    bucket = event["bucket"]["bucket"]
    input_prefix = event["bucket"]["input"]
    output_prefix = event["bucket"]["output"]
    key = event["object"]["key"]
    work = os.path.join(tempfile.gettempdir(), "%s-%s" % (key, uuid.uuid4()))
    os.makedirs(work)
    try:
        download_begin = datetime.datetime.now()
        client.download_directory(bucket, os.path.join(input_prefix, key), work)
        download_end = datetime.datetime.now()
        # download_directory writes <work>/<input prefix>/<key>/...
        root = os.path.join(work, input_prefix)
        size = _size(os.path.join(root, key))

        compress_begin = datetime.datetime.now()
        archive = shutil.make_archive(os.path.join(work, key), "zip", root_dir=root, base_dir=key)
        compress_end = datetime.datetime.now()

        upload_begin = datetime.datetime.now()
        archive_name = "%s.zip" % key
        key_name = client.upload(bucket, os.path.join(output_prefix, archive_name), archive)
        upload_end = datetime.datetime.now()
        archive_size = os.path.getsize(archive)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return {
        "result": {"bucket": bucket, "key": key_name},
        "measurement": {
            "download_time": _us(download_begin, download_end),
            "download_size": size,
            "upload_time": _us(upload_begin, upload_end),
            "upload_size": archive_size,
            "compute_time": _us(compress_begin, compress_end),
        },
    }
