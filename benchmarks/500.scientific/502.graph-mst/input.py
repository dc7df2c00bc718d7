"""Inputs for 502.graph-mst: a Barabasi-Albert graph of `size` vertices, seeded."""
import hashlib
import json

SIZES = {"test": 10, "small": 10000, "large": 100000}
SEED = 42
# MD5 of the compact JSON edge list with igraph 0.11.8 and seed 42.
EXPECTED_MD5 = {
    ("python", 10, 42): "5ccbd5db7c783e44df9bd93c5ed50357",
    ("python", 10000, 42): "d0071123faa55df0eb8e18917590a7e5",
    ("python", 100000, 42): "03c11f4c9e1c62853b7f631c567a40c7",
}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"size": SIZES[size], "seed": SEED}


def tree_error(n, edges):
    """Why `edges` is not a spanning tree of vertices 0..n-1, or None."""
    if not isinstance(edges, list) or len(edges) != n - 1:
        return "a spanning tree of %d vertices has %d edges, got %s" % (
            n, n - 1, len(edges) if isinstance(edges, list) else repr(edges)[:80]
        )
    parent = list(range(n))

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for i, edge in enumerate(edges):
        if not (isinstance(edge, list) and len(edge) == 2 and all(isinstance(v, int) for v in edge)):
            return "edge %d is %r, not a pair of vertex ids" % (i, edge)
        a, b = edge
        if not (0 <= a < n and 0 <= b < n):
            return "edge %d (%d, %d) names a vertex outside 0..%d" % (i, a, b, n - 1)
        ra, rb = find(a), find(b)
        if ra == rb:
            return "edge %d (%d, %d) closes a cycle: the edges are not a tree" % (i, a, b)
        parent[ra] = rb
    # n - 1 edges without a cycle connect all n vertices.
    return None


def validate_output(data_dir, input_config, output, language, storage=None):
    edges = output.get("result")
    n = input_config["size"]
    error = tree_error(n, edges)
    if error:
        return error
    expected = EXPECTED_MD5.get((language, n, input_config.get("seed")))
    digest = hashlib.md5(json.dumps(edges, separators=(",", ":")).encode()).hexdigest()
    if expected is not None and digest != expected:
        return "the spanning tree is valid but differs from the recorded one (MD5 %s, expected %s)" % (
            digest, expected
        )
    return None
