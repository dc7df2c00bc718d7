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

With "storage": {"shim_dir", "env", "update_storage", "resources_id"} (else null), the driver
uses sebs's storage/nosql shims (configured by "env" exactly as functions are): generate uploads
the collected files into the benchmarks bucket (skipping objects already present unless
update_storage), creates the allocate_nosql() tables as sebs-benchmarks-{rid}-{benchmark}-{table}
and writes the items, and adds "uploaded", "skipped" and "nosql_table_names" to the reply;
validate passes a storage object to validate_output. input.py modules also see a global
`sebs_storage` (the storage object or None), e.g. to make presigned URLs.

On an exception in input.py the reply is {"exception": {"type", "message", "traceback"}} and the
exit status is 1.
"""
import importlib.util
import json
import os
import sys
import traceback


def _storage(request):
    """(storage object or None, nosql object or None) from the request's storage context."""
    context = request.get("storage")
    if not context:
        return None, None
    sys.path.insert(0, context["shim_dir"])
    os.environ.update(context["env"])
    store = table = None
    if os.environ.get("MINIO_ADDRESS"):
        import storage

        store = storage.storage.get_instance()
    if os.environ.get("NOSQL_STORAGE_ENDPOINT"):
        import nosql

        table = nosql.nosql.get_instance()
    return store, table


def _load(benchmark_dir, store=None):
    path = os.path.join(benchmark_dir, "input.py")
    spec = importlib.util.spec_from_file_location("sebs_benchmark_input", path)
    module = importlib.util.module_from_spec(spec)
    module.sebs_storage = store
    sys.path.insert(0, benchmark_dir)
    spec.loader.exec_module(module)
    return module


def _apply(request, reply, store, table):
    """Upload the inputs and write the NoSQL items `generate_input` asked for."""
    context = request["storage"]
    bucket = request.get("bucket")
    uploaded = skipped = 0
    if reply["uploads"]:
        if store is None:
            raise RuntimeError("input.py uploads files but no object storage is configured")
        store.create_bucket(bucket)
        for index, key, path in reply["uploads"]:
            full = reply["input_paths"][index] + "/" + key
            if not context["update_storage"] and store.exists(bucket, full):
                skipped += 1
                continue
            store.upload_file(bucket, full, path)
            uploaded += 1
    names = {}
    if reply["nosql_tables"]:
        if table is None:
            raise RuntimeError("input.py allocates NoSQL tables but no NoSQL storage is configured")
        for logical, keys in reply["nosql_tables"].items():
            physical = "sebs-benchmarks-%s-%s-%s" % (
                context["resources_id"],
                request["benchmark"],
                logical,
            )
            table.create_table(physical, keys["primary_key"], keys.get("secondary_key"))
            names[logical] = physical
            os.environ["NOSQL_STORAGE_TABLE_" + logical] = physical
    for write in reply["nosql_writes"]:
        item = dict(write["data"])
        for pair in (write["primary_key"], write["secondary_key"]):
            if pair:
                item[pair[0]] = pair[1]
        if write["table"] not in names:
            raise RuntimeError("nosql_func wrote to table %r, which allocate_nosql() does not list" % write["table"])
        table.put_physical(names[write["table"]], item)
    reply["uploaded"] = uploaded
    reply["skipped"] = skipped
    reply["nosql_table_names"] = names


def _generate(request):
    store, table = _storage(request)
    module = _load(request["benchmark_dir"], store)
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
    reply = {
        "input": generated,
        "buckets_count": list(counts),
        "input_paths": input_paths,
        "output_paths": output_paths,
        "uploads": uploads,
        "nosql_tables": tables,
        "nosql_writes": writes,
    }
    if request.get("storage"):
        _apply(request, reply, store, table)
    return reply


def _validate(request):
    store, _ = _storage(request)
    module = _load(request["benchmark_dir"], store)
    if not hasattr(module, "validate_output"):
        return {"error": "input.py has no validate_output(); add one to use --validate"}
    error = module.validate_output(
        request.get("data_dir"),
        request["input_config"],
        request["output"],
        request.get("language", "python"),
        store,
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
