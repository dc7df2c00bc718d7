"""631.parallel-download, first state: one download job per parallel function."""


def handler(event):
    count = int(event["count"])
    job = {"bucket": event["bucket"], "key": event["key"]}
    return {"count": count, "buffer": [dict(job, index=i) for i in range(count)]}
