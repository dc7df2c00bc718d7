"""Inputs for 501.graph-pagerank: a Barabasi-Albert graph of `size` vertices, seeded."""

SIZES = {"test": 10, "small": 10000, "large": 100000}
SEED = 42
# Rank of vertex 0 with igraph 0.11.8 and seed 42 (python and the pinned requirements.txt).
EXPECTED = {
    ("python", 10, 42): 0.1,
    ("python", 10000, 42): 0.0012122480931530588,
    ("python", 100000, 42): 0.00033384438552589005,
}
TOLERANCE = 1e-9


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"size": SIZES[size], "seed": SEED}


def barabasi_edges(n, m=10):
    """Edge count of igraph's Barabasi(n, m): vertex i links to min(i, m) earlier vertices."""
    return sum(min(i, m) for i in range(n))


def validate_output(data_dir, input_config, output, language, storage=None):
    rank = output.get("result")
    if not isinstance(rank, float) or not 0.0 < rank < 1.0:
        return "the rank of vertex 0 is %r; expected a probability in (0, 1)" % (rank,)
    measurement = output.get("measurement", {})
    n = input_config["size"]
    if measurement.get("vertices") != n or measurement.get("edges") != barabasi_edges(n):
        return "the graph has %r vertices and %r edges; Barabasi(%d, 10) has %d and %d" % (
            measurement.get("vertices"), measurement.get("edges"), n, n, barabasi_edges(n)
        )
    total = measurement.get("rank_sum")
    if not isinstance(total, float) or abs(total - 1.0) > 1e-6:
        return "the PageRank vector sums to %r, not 1" % (total,)
    expected = EXPECTED.get((language, n, input_config.get("seed")))
    if expected is not None and abs(rank - expected) > TOLERANCE:
        return "rank of vertex 0 is %r, expected %r (|diff| %.3g > %g)" % (
            rank, expected, abs(rank - expected), TOLERANCE
        )
    return None
