"""Inputs for 601.every-state, the small workflow of docs/workflows.md that uses every state type:
task, switch, parallel (a map with common_params beside a loop), repeat, and a task whose
exception is routed to its `failure` state. Pure Python, no storage."""

SIZES = {"test": [1, 2, 3], "small": [1, 2, 3, 4, 5], "large": list(range(1, 11))}
FACTOR = 2
LIMIT = 20


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"numbers": SIZES[size], "factor": FACTOR, "limit": LIMIT}


def expected(input_config):
    """The workflow's output for `input_config`, computed here without the workflow."""
    numbers = input_config["numbers"]
    scaled = sum(n * input_config["factor"] for n in numbers)
    incremented = sum(n + 1 for n in numbers)
    total = scaled + incremented + 3
    if total > input_config["limit"]:
        return {"recovered": "ValueError", "total": total}
    return {"total": total, "steps": 3, "limit": input_config["limit"], "checked": True}


def validate_output(data_dir, input_config, output, language, storage=None):
    want = expected(input_config)
    if output != want:
        return "expected %r, got %r" % (want, output)
    return None
