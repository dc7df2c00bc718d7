"""210.thumbnailer: download an image, shrink it to fit width x height (Pillow), upload it."""
import datetime
import io
import os
from urllib.parse import unquote_plus

from PIL import Image

from . import storage

client = storage.storage.get_instance()


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def resize_image(image_bytes, width, height):
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.thumbnail((width, height))
        out = io.BytesIO()
        image.save(out, format="jpeg")
        out.seek(0)
        return out


def handler(event):
    bucket = event["bucket"]["bucket"]
    input_prefix = event["bucket"]["input"]
    output_prefix = event["bucket"]["output"]
    key = unquote_plus(event["object"]["key"])
    width = event["object"]["width"]
    height = event["object"]["height"]

    download_begin = datetime.datetime.now()
    image = client.download_stream(bucket, os.path.join(input_prefix, key))
    download_end = datetime.datetime.now()

    process_begin = datetime.datetime.now()
    resized = resize_image(image, width, height)
    resized_size = resized.getbuffer().nbytes
    process_end = datetime.datetime.now()

    upload_begin = datetime.datetime.now()
    key_name = client.upload_stream(bucket, os.path.join(output_prefix, key), resized)
    upload_end = datetime.datetime.now()

    return {
        "result": {"bucket": bucket, "key": key_name},
        "measurement": {
            "download_time": _us(download_begin, download_end),
            "download_size": len(image),
            "upload_time": _us(upload_begin, upload_end),
            "upload_size": resized_size,
            "compute_time": _us(process_begin, process_end),
        },
    }
