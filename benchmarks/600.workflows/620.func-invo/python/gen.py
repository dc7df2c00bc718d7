"""620.func-invo, first state: a payload of `size` characters for the chain to pass along."""

import random


def make_payload(seed, size):
    """Digits of a shuffled 0..size-1 (each modulo 255), cut to exactly `size` characters."""
    order = list(range(max(size, 1)))
    random.Random(seed).shuffle(order)
    parts, length = [], 0
    for i in order:
        part = str(i % 255)
        parts.append(part)
        length += len(part)
        if length >= size:
            break
    return "".join(parts)[:size]


def handler(event):
    size = int(event["size"])
    return {
        "size": size,
        "payload": make_payload(int(event["seed"]), size),
        "hops": 0,
        "digests": [],
    }
