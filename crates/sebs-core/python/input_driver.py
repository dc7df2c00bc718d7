"""Runs a benchmark's input.py for sebs (SeBS's input contract).

Reads one JSON request on stdin and writes one JSON reply on stdout. Anything input.py prints goes
to stderr, so stdout carries only the reply.

  {"op": "generate", "benchmark": ..., "benchmark_dir": ..., "data_dir": ..., "size": ..., "bucket": ...}
    -> {"input": {...}, "buckets_count": [n_in, n_out], "input_paths": [...], "output_paths": [...],
        "uploads": [[prefix_index, key, file_path], ...],
        "nosql_tables": {table: {"primary_key": ..., "secondary_key": ...}},
        "nosql_writes": [{"table": ..., "data": {...}, "primary_key": [name, value],
                          "secondary_key": [name, value] | null}, ...]}
  {"op": "validate", "benchmark_dir": ..., "data_dir": ..., "input_config": ..., "output": ...,
   "language": ...}
    -> {"error": null | "what differed"}

On an exception in input.py the reply is {"exception": {"type", "message", "traceback"}} and the
exit status is 1.
"""
import importlib.util
import json
import os
import sys
import traceback


def _load(benchmark_dir):
    path = os.path.join(benchmark_dir, "input.py")
    spec = importlib.util.spec_from_file_location("sebs_benchmark_input", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, benchmark_dir)
    spec.loader.exec_module(module)
    return module


def _generate(request):
    module = _load(request["benchmark_dir"])
    benchmark = request["benchmark"]
    counts = module.buckets_count() if hasattr(module, "buckets_count") else (0, 0)
    input_paths = ["%s-%d-input" % (benchmark, i) for i in range(counts[0])]
    output_paths = ["%s-%d-output" % (benchmark, i) for i in range(counts[1])]
    uploads = []
    writes = []

    def upload_func(prefix_index, key, filepath):
        uploads.append([prefix_index, key, os.path.abspath(filepath)])

    def nosql_func(bench, table, data, primary_key, secondary_key=None):
        writes.append(
            {
                "table": table,
                "data": data,
                "primary_key": list(primary_key),
                "secondary_key": list(secondary_key) if secondary_key else None,
            }
        )

    tables = module.allocate_nosql() if hasattr(module, "allocate_nosql") else {}
    generated = module.generate_input(
        request.get("data_dir"),
        request["size"],
        request.get("bucket"),
        input_paths,
        output_paths,
        upload_func,
        nosql_func,
    )
    return {
        "input": generated,
        "buckets_count": list(counts),
        "input_paths": input_paths,
        "output_paths": output_paths,
        "uploads": uploads,
        "nosql_tables": tables,
        "nosql_writes": writes,
    }


def _validate(request):
    module = _load(request["benchmark_dir"])
    if not hasattr(module, "validate_output"):
        return {"error": "input.py has no validate_output(); add one to use --validate"}
    error = module.validate_output(
        request.get("data_dir"),
        request["input_config"],
        request["output"],
        request.get("language", "python"),
        None,
    )
    return {"error": None if error in (None, True) else str(error)}


def main():
    reply_stream = sys.stdout
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    try:
        reply = {"generate": _generate, "validate": _validate}[request["op"]](request)
        status = 0
    except Exception as exc:  # noqa: BLE001 - reported to sebs with the traceback
        reply = {
            "exception": {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc(),
            }
        }
        status = 1
    json.dump(reply, reply_stream)
    reply_stream.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
