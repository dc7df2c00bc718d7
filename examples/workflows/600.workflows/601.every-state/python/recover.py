def handler(event):
    # A failure state's input: the failed state's input with `error` = {"Error", "Cause"}.
    return {"recovered": event["error"]["Error"], "total": event["total"]}
