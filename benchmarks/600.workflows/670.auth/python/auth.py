"""670.auth, first state of each request: check the bearer token (`<user>.<HMAC-SHA256 of user>`)."""

import hashlib
import hmac

# The service's signing secret; input.py signs the benchmark's tokens with the same one.
SECRET = b"sebs-670-auth-signing-secret"


def handler(event):
    user, _, signature = str(event.get("token", "")).rpartition(".")
    expected = hmac.new(SECRET, user.encode("utf-8"), hashlib.sha256).hexdigest()
    allowed = bool(user) and hmac.compare_digest(signature, expected)
    return {
        "id": event["id"],
        "user": user,
        "status": "allow" if allowed else "deny",
        "message": event["message"],
    }
