import time


def handler(event):
    time.sleep(0.005)  # some work, so the critical path is visible
    numbers = event["numbers"]
    return {"numbers": numbers, "factor": event["factor"], "limit": event["limit"], "count": len(numbers)}
