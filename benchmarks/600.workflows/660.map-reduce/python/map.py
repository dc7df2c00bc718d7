"""660.map-reduce, map state: count the words of one chunk; write one object per distinct word,
`<prefix>/counts/<word>/<mapper>`, holding its count."""

from . import storage


def handler(event):
    client = storage.storage.get_instance()
    bucket, prefix = event["bucket"], event["prefix"]
    text = client.download_stream(bucket, event["chunk"]).decode("utf-8")
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    for word, count in counts.items():
        client.upload_stream(
            bucket, "%s/counts/%s/%03d" % (prefix, word, event["mapper"]), str(count).encode()
        )
    return {"bucket": bucket, "prefix": prefix, "mapper": event["mapper"], "words": len(counts)}
