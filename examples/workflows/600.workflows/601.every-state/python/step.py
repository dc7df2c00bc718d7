import time


def handler(event):
    time.sleep(0.005)  # three chained steps
    return {"total": event["total"] + 1, "steps": event["steps"] + 1, "limit": event["limit"]}
