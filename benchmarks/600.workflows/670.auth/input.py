"""Inputs for 670.auth: a batch of requests, each through auth → switch → encrypt or deny, in a map
state. SeBS-Flow's 670.auth is one request (token "allow", message "Who let the dogs out?\\n"
repeated 10/100/1,000 times, AES-CTR with pyaes); here the tokens are HMAC-signed, one request
of each batch carries a forged token (so both branches of the switch run), and AES is the
benchmark's own pure-Python implementation (pyaes has no wheel to package for Lambda).

Validation decrypts every allowed response with the `openssl` command (an independent AES), or,
without one, with the benchmark's AES module checked first against FIPS-197's test vector.
"""

import base64
import hashlib
import hmac
import importlib.util
import os
import shutil
import subprocess

SECRET = b"sebs-670-auth-signing-secret"
KEY = b"6368616e676520746869732070617373"
MESSAGE = "Who let the dogs out?\n"
SIZES = {"test": (3, 10), "small": (4, 100), "large": (4, 1000)}


def buckets_count():
    return (0, 0)


def _token(user):
    return user + "." + hmac.new(SECRET, user.encode("utf-8"), hashlib.sha256).hexdigest()


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    count, repeat = SIZES[size]
    requests = []
    for i in range(count):
        user = "user-%d" % i
        # The second request's token is signed for another user: it must be denied.
        token = _token(user) if i != 1 else user + "." + _token("intruder").rpartition(".")[2]
        requests.append(
            {"id": i, "token": token, "message": "Request %d.\n" % i + MESSAGE * repeat}
        )
    return {"requests": requests}


def _decrypt(ciphertext):
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "enc", "-d", "-aes-256-ctr", "-K", KEY.hex(), "-iv", "0" * 32],
            input=ciphertext,
            capture_output=True,
            check=True,
        )
        return out.stdout
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python", "aes.py")
    spec = importlib.util.spec_from_file_location("sebs_670_aes", path)
    aes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aes)
    vector = aes.encrypt_block(
        aes.expand_key(bytes(range(32))), bytes.fromhex("00112233445566778899aabbccddeeff")
    )
    if vector.hex() != "8ea2b7ca516745bfeafc49904b496089":
        raise AssertionError("the benchmark's AES fails FIPS-197's AES-256 test vector")
    return aes.ctr(KEY, ciphertext)


def validate_output(data_dir, input_config, output, language, storage=None):
    results = output.get("requests")
    requests = input_config["requests"]
    if not isinstance(results, list) or len(results) != len(requests):
        return "expected %d results in `requests`, got %r" % (len(requests), results)
    for request, result in zip(requests, results):
        if result.get("id") != request["id"]:
            return "result for request %r in place of %r" % (result.get("id"), request["id"])
        allowed = request["token"] == _token(request["token"].rpartition(".")[0])
        if result.get("status") != ("allow" if allowed else "deny"):
            return "request %d was %r, expected %s" % (
                request["id"],
                result.get("status"),
                "allow" if allowed else "deny",
            )
        if not allowed:
            if result.get("response") != "unauthorized":
                return "denied request %d answered %r" % (request["id"], result.get("response"))
            continue
        plain = _decrypt(base64.b64decode(result.get("response", "")))
        if plain != request["message"].encode("utf-8"):
            return "request %d's response does not decrypt to its message" % request["id"]
    return None
