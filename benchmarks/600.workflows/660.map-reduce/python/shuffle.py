"""660.map-reduce, shuffle: list the mappers' count objects and make one reduce job per word."""

from . import storage


def handler(event):
    mapped = event["list"]
    bucket, prefix = mapped[0]["bucket"], mapped[0]["prefix"]
    client = storage.storage.get_instance()
    root = prefix + "/counts/"
    words = sorted({key[len(root) :].split("/", 1)[0] for key in client.list(bucket, root)})
    return {"list": [{"bucket": bucket, "dir": root + word} for word in words]}
