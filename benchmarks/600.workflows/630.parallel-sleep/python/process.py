"""630.parallel-sleep, map state: sleep for the item's `sleep` seconds and say when."""

import time


def handler(event):
    begin = time.time()
    time.sleep(float(event["sleep"]))
    end = time.time()
    return {"index": event["index"], "slept": end - begin, "begin": begin, "end": end}
