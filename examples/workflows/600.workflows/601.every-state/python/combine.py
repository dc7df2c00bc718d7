def handler(event):
    # A parallel state's output: each branch's output under its root state's name.
    scaled = event["scale"]["numbers"]
    incremented = event["count_up"]["numbers"]
    return {"total": sum(scaled) + sum(incremented), "steps": 0, "limit": event["scale"]["limit"]}
