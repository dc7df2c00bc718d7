"""Inputs for 010.chain, the profiling example (docs/profiling.md): a function that writes an
object and reads it back, writes a NoSQL item and reads it back, and invokes itself once more, so
one request makes a two-function trace."""

SIZES = {"test": 64 * 1024, "small": 1024 * 1024, "large": 16 * 1024 * 1024}


def buckets_count():
    return (0, 1)


def allocate_nosql():
    return {"chain_steps": {"primary_key": "request", "secondary_key": "step"}}


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"bucket": benchmarks_bucket, "prefix": output_paths[0], "size": SIZES[size], "depth": 1}


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output or {}
    if result.get("visit") != {"depth": input_config["depth"]}:
        return "the NoSQL item did not come back: %r" % (result.get("visit"),)
    if result.get("read") != input_config["size"]:
        return "read %r bytes back, expected %r" % (result.get("read"), input_config["size"])
    if result.get("child", {}).get("depth") != 0:
        return "the chained invocation did not answer: %r" % (result.get("child"),)
    return None
