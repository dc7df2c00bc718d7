def handler(event):
    if event["total"] > event["limit"]:
        raise ValueError("total %d is over the limit %d" % (event["total"], event["limit"]))
    return {"total": event["total"], "steps": event["steps"], "limit": event["limit"], "checked": True}
