"""630.parallel-sleep, first state: one work item per parallel sleeper."""


def handler(event):
    count = int(event["count"])
    sleep = float(event["sleep"])
    return {
        "count": count,
        "sleep": sleep,
        "buffer": [{"index": i, "sleep": sleep} for i in range(count)],
    }
