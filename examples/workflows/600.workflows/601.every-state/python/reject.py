def handler(event):
    return {"rejected": event["count"]}
