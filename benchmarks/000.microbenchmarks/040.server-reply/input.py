"""Inputs for 040.server-reply, an internal microbenchmark of the eviction-model experiment.

The driver adds `ip-address` and `port` of its TCP server to the event; the function connects,
reads the server's message and returns it.
"""

SIZES = {"test": 1, "small": 100, "large": 1000}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"sleep": SIZES[size]}


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output["result"]
    if not isinstance(result, str) or not result:
        return "expected the message the driver's server sent, got %r" % (result,)
    return None
