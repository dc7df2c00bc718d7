"""660.map-reduce, reduce state: sum one word's counts over every mapper."""

from . import storage


def handler(event):
    client = storage.storage.get_instance()
    bucket, directory = event["bucket"], event["dir"]
    keys = client.list(bucket, directory + "/")
    total = sum(int(client.download_stream(bucket, key).decode()) for key in keys)
    return {"word": directory.rsplit("/", 1)[1], "count": total, "mappers": len(keys)}
