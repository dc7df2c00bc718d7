"""Inputs for 030.clock-synchronization, an internal microbenchmark (see README.md).

The driver adds `server-address`, `server-port` and `repetitions` to the event; the function
uploads its measurements to the output prefix of the bucket below.
"""


def buckets_count():
    return (0, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"bucket": {"bucket": benchmarks_bucket, "output": output_paths[0]}}


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output["result"]
    rows = result.get("measurements")
    if not isinstance(rows, list) or not rows:
        return "expected the function's UDP measurements, got %r" % (result,)
    for row in rows:
        if len(row) != 3 or not row[1] <= row[2]:
            return "malformed measurement %r: expected [id, client_send, client_rcv]" % (row,)
    return None
