def handler(event):
    numbers = event["numbers"]
    return {"numbers": numbers, "factor": event["factor"], "limit": event["limit"], "count": len(numbers)}
