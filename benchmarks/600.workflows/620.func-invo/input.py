"""Inputs for 620.func-invo: a chain of 9 functions (gen, then process 8 times) passing a payload of
`size` characters, the payload sweep of SeBS-Flow (kept under Step Functions' 256 KiB limit for
every state's input and output, where SeBS's large size was 1 MiB).

Validation replays the chain: the same generator, hashed hop by hop, must give every digest.
"""

import hashlib
import random

SIZES = {"test": 1024, "small": 32 * 1024, "large": 192 * 1024}
SEED = 620
HOPS = 8


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"size": SIZES[size], "seed": SEED}


def _payload(seed, size):
    order = list(range(max(size, 1)))
    random.Random(seed).shuffle(order)
    text, length = [], 0
    for i in order:
        text.append(str(i % 255))
        length += len(text[-1])
        if length >= size:
            break
    return "".join(text)[:size]


def validate_output(data_dir, input_config, output, language, storage=None):
    size = input_config["size"]
    if output.get("hops") != HOPS:
        return "the payload made %r hops, expected %d" % (output.get("hops"), HOPS)
    payload = _payload(input_config["seed"], size)
    digests = []
    for _ in range(HOPS):
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        digests.append(digest[:16])
        payload = _payload(int(digest[:16], 16), size)
    if output.get("digests") != digests:
        return "hop digests %r differ from the replayed chain %r" % (output.get("digests"), digests)
    if output.get("payload") != payload or output.get("size") != size:
        return "the final payload (%d characters) differs from the replayed one (%d)" % (
            len(output.get("payload", "")),
            size,
        )
    return None
