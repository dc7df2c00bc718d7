def handler(event):
    return {"total": event["total"] + 1, "steps": event["steps"] + 1, "limit": event["limit"]}
