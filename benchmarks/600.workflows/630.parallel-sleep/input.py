"""Inputs for 630.parallel-sleep: `count` functions sleeping `sleep` seconds side by side in a map
state, SeBS-Flow's measure of how much parallelism the orchestrator really gives (ideal: the
workflow takes one sleep, not `count`). SeBS's test size (5 sleepers of 0 s) is 4 sleepers of 1 s
here, so the overlap is visible even in the smallest run.
"""

SIZES = {"test": (4, 1), "small": (16, 20), "large": (50, 2)}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    count, sleep = SIZES[size]
    return {"count": count, "sleep": sleep}


def validate_output(data_dir, input_config, output, language, storage=None):
    results = output.get("buffer")
    count, sleep = input_config["count"], input_config["sleep"]
    if not isinstance(results, list) or len(results) != count:
        return "expected %d sleeper results in `buffer`, got %r" % (count, results)
    if sorted(r.get("index") for r in results) != list(range(count)):
        return "sleeper indices %r are not 0..%d" % ([r.get("index") for r in results], count - 1)
    for r in results:
        # time.sleep never returns early; the small tolerance covers clock granularity.
        if not r.get("slept", -1) >= sleep - 0.01 or not r["end"] >= r["begin"]:
            return "sleeper %s slept %r s, expected at least %s s" % (
                r["index"],
                r.get("slept"),
                sleep,
            )
    if [r["index"] for r in results] != list(range(count)):
        return "the map state's results are not in the order of its input array"
    return None
