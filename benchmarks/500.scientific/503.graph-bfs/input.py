"""Inputs for 503.graph-bfs: a Barabasi-Albert graph of `size` vertices, seeded; BFS from 0."""
import hashlib
import json

SIZES = {"test": 10, "small": 10000, "large": 100000}
SEED = 42
# MD5 of the compact JSON [order, layers, parents] with igraph 0.11.8 and seed 42.
EXPECTED_MD5 = {
    ("python", 10, 42): "1dfb71bebaebcfb1a850f5b81610c2f7",
    ("python", 10000, 42): "14160bc08930584610005d05cc20989f",
    ("python", 100000, 42): "55cb168c17d2371637f483c720f29dfd",
}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"size": SIZES[size], "seed": SEED}


def bfs_error(n, result):
    """Why `result` is not a BFS (order, layers, parents) from vertex 0 of a connected graph."""
    if not (isinstance(result, list) and len(result) == 3):
        return "expected [order, layers, parents], got %s" % repr(result)[:80]
    order, layers, parents = result
    if sorted(order) != list(range(n)):
        return "the visit order is not a permutation of the %d vertices (it has %d entries)" % (n, len(order))
    if order[0] != 0:
        return "the search starts at vertex %r, not 0" % order[0]
    if len(parents) != n:
        return "%d parents for %d vertices" % (len(parents), n)
    if layers[0] != 0 or layers[-1] != n or any(a >= b for a, b in zip(layers, layers[1:])):
        return "layer boundaries %s are not increasing from 0 to %d" % (layers[:10], n)
    # igraph 0.11 gives the root the parent -1 (older versions: the root itself).
    if parents[0] not in (-1, 0):
        return "the root's parent is %r, not -1 (none) or itself" % parents[0]
    depth = {}
    for k in range(len(layers) - 1):
        for v in order[layers[k]:layers[k + 1]]:
            depth[v] = k
    for v in order[1:]:
        p = parents[v]
        if depth.get(p) != depth[v] - 1:
            return "vertex %d in layer %d has parent %r in layer %r" % (v, depth[v], p, depth.get(p))
    return None


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output.get("result")
    n = input_config["size"]
    error = bfs_error(n, result)
    if error:
        return error
    expected = EXPECTED_MD5.get((language, n, input_config.get("seed")))
    digest = hashlib.md5(json.dumps(result, separators=(",", ":")).encode()).hexdigest()
    if expected is not None and digest != expected:
        return "the BFS is consistent but differs from the recorded one (MD5 %s, expected %s)" % (
            digest, expected
        )
    return None
