"""670.auth, allowed requests: AES-256-CTR encryption of the message (pure Python, as pyaes in SeBS)."""

import base64
import time

from . import aes

# SeBS's key: 32 ASCII characters, hence AES-256; the counter starts at 0.
KEY = b"6368616e676520746869732070617373"


def handler(event):
    begin = time.perf_counter()
    ciphertext = aes.ctr(KEY, event["message"].encode("utf-8"))
    compute = time.perf_counter() - begin
    return {
        "id": event["id"],
        "user": event["user"],
        "status": "allow",
        "response": base64.b64encode(ciphertext).decode("ascii"),
        "compute_time": compute,
    }
