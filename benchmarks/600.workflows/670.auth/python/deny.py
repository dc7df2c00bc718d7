"""670.auth, rejected requests: the answer without the message."""


def handler(event):
    return {"id": event["id"], "user": event["user"], "status": "deny", "response": "unauthorized"}
