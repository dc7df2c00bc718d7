import time


def handler(event):
    seconds = event.get("sleep", 0)
    time.sleep(seconds)
    return {"result": seconds}
