"""Inputs for 010.sleep: sleep for a fixed number of seconds."""

SIZES = {"test": 1, "small": 100, "large": 1000}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"sleep": SIZES[size]}


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output["result"]
    if result != input_config["sleep"]:
        return "expected result %r (the requested sleep), got %r" % (input_config["sleep"], result)
    return None
