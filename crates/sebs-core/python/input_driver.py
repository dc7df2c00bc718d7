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
   "language": ..., "architecture": ...}
    -> {"error": null | "what differed"}

Both follow SeBS's calling convention. `generate_input(data_dir, size, benchmarks_bucket,
input_paths, output_paths, upload_func, nosql_func)` gets no bucket, no prefixes and no
upload_func when input.py has no buckets_count(), and no nosql_func without allocate_nosql().
`validate_output` gets `output` = the function's own return value (the wrapper response's
"result"; the caller extracts it) and its arguments by name, so every signature SeBS has used
works: (input_config, output), (input_config, output, storage=None), (input_config, output,
language, storage=None) and (data_dir, input_config, output, language, [architecture,]
storage=None). It may return None or True (valid), False or a string (invalid: the string says
why). `storage` is None unless the benchmark uses object storage; then it is an object with
SeBS's host-side storage API only (download, upload, list_bucket, exists_bucket), so a
validate_output that works here works under SeBS too.

"host_env" says whether this interpreter is the prepared input environment (SeBS's host-side
packages). When it is not and input.py imports a module that is neither in the standard library
nor next to input.py, the reply is {"needs_host_env": [module, ...]} and input.py is not run: the
caller prepares the environment and asks again there. Inside it, such a module that still cannot
be found gives {"missing_modules": [module, ...]}.

With "storage": {"shim_dir", "env", "update_storage", "resources_id"} (else null), the driver
uses sebs's storage/nosql shims (configured by "env" exactly as functions are): generate uploads
the collected files into the benchmarks bucket (skipping objects already present unless
update_storage), creates the allocate_nosql() tables as sebs-benchmarks-{rid}-{benchmark}-{table}
and writes the items, and adds "uploaded", "skipped" and "nosql_table_names" to the reply;
validate passes a storage object to validate_output. input.py modules also see a global
`sebs_storage` (sebs's storage shim or None; a sebs extension), e.g. to make presigned URLs.

On an exception in input.py the reply is {"exception": {"type", "message", "traceback"}} and the
exit status is 1.
"""
import ast
import importlib.util
import inspect
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
    # A platform's own storage (S3, DynamoDB) has no MINIO_*/NOSQL_STORAGE_* endpoint: the
    # SEBS_*_STORAGE markers say it is there, reached with the AWS_* variables.
    if os.environ.get("MINIO_ADDRESS") or os.environ.get("SEBS_OBJECT_STORAGE"):
        import storage

        store = storage.storage.get_instance()
    if os.environ.get("NOSQL_STORAGE_ENDPOINT") or os.environ.get("SEBS_NOSQL_STORAGE"):
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


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _catches_import_errors(handler):
    """Whether an `except` clause catches a failed import."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS for t in types)


def _imported_modules(benchmark_dir):
    """{top-level module name: optional} for the modules input.py imports anywhere (also inside
    functions), without the standard library, relative imports and files next to input.py. A
    module is optional when every import of it sits in a `try` whose handlers catch its failure."""
    with open(os.path.join(benchmark_dir, "input.py"), "rb") as f:
        tree = ast.parse(f.read(), filename="input.py")
    imports = {}

    def visit(node, guarded):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            top = name.split(".")[0]
            imports[top] = imports.get(top, True) and guarded
        if isinstance(node, ast.Try):
            inner = guarded or any(_catches_import_errors(h) for h in node.handlers)
            for child in node.body:
                visit(child, inner)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    stdlib = getattr(sys, "stdlib_module_names", None)
    found = {}
    for name, optional in sorted(imports.items()):
        if name == "__future__" or (stdlib is not None and name in stdlib):
            continue
        local = os.path.join(benchmark_dir, name)
        if os.path.isfile(local + ".py") or os.path.isdir(local):
            continue
        if stdlib is None and importlib.util.find_spec(name) is not None:
            continue  # Python < 3.10: whatever this interpreter has counts as available
        found[name] = optional
    return found


def _environment_check(request):
    """None if input.py can run in this interpreter, else the reply that says what it needs.

    Optional imports (guarded by a `try` that catches ImportError) also ask for the environment,
    so a check that would be skipped without the package runs; only a required module that the
    environment still lacks is an error."""
    modules = _imported_modules(request["benchmark_dir"])
    if not modules:
        return None
    if not request.get("host_env"):
        return {"needs_host_env": sorted(modules)}
    missing = [m for m, optional in sorted(modules.items())
               if not optional and importlib.util.find_spec(m) is None]
    return {"missing_modules": missing} if missing else None


class SeBSStorage:
    """SeBS's host-side storage API (`sebs.faas.storage.PersistentStorage`: download, upload,
    list_bucket, exists_bucket) over sebs's shim. validate_output gets this rather than the
    shim, so it cannot come to depend on methods SeBS's storage object lacks."""

    def __init__(self, store):
        self._store = store

    def download(self, bucket_name, key, filepath):
        self._store.download(bucket_name, key, filepath)

    def upload(self, bucket_name, filepath, key):
        self._store.upload_file(bucket_name, key, filepath)

    def list_bucket(self, bucket_name, prefix=""):
        return self._store.list(bucket_name, prefix)

    def exists_bucket(self, bucket_name):
        try:
            self._store._request("HEAD", bucket_name).read()
            return True
        except Exception as exc:  # noqa: BLE001 - the shim's StorageError carries the status
            if getattr(exc, "status", None) == 404:
                return False
            raise


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

    # As SeBS's Benchmark.prepare_input: storage arguments only with buckets_count(), the NoSQL
    # writer only with allocate_nosql().
    if hasattr(module, "buckets_count"):
        counts = module.buckets_count()
        bucket = request.get("bucket")
        uploader = upload_func
    else:
        counts, bucket, uploader = (0, 0), None, None
    input_paths = ["%s-%d-input" % (benchmark, i) for i in range(counts[0])]
    output_paths = ["%s-%d-output" % (benchmark, i) for i in range(counts[1])]
    tables = module.allocate_nosql() if hasattr(module, "allocate_nosql") else {}
    generated = module.generate_input(
        request.get("data_dir"),
        request["size"],
        bucket,
        input_paths,
        output_paths,
        uploader,
        nosql_func if hasattr(module, "allocate_nosql") else None,
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


VALIDATE_ARGUMENTS = ("data_dir", "input_config", "output", "language", "architecture", "storage")


def _validate_arguments(function, values):
    """Bind `values` to `function`'s parameters by name (SeBS's signatures differ by version)."""
    args, kwargs = [], {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name in values:
            if parameter.kind == parameter.POSITIONAL_ONLY:
                args.append(values[parameter.name])
            else:
                kwargs[parameter.name] = values[parameter.name]
        elif parameter.default is parameter.empty:
            raise TypeError(
                "validate_output has a parameter %r that neither SeBS nor sebs passes; its "
                "parameters may be any of %s" % (parameter.name, ", ".join(VALIDATE_ARGUMENTS))
            )
    return args, kwargs


def _validate(request):
    store, _ = _storage(request)
    module = _load(request["benchmark_dir"], store)
    if not hasattr(module, "validate_output"):
        return {
            "error": "input.py has no validate_output() (SeBS's own benchmarks have one since after "
            "SeBS 1.2.0); add one, or run without --validate"
        }
    values = {
        "data_dir": request.get("data_dir"),
        "input_config": request["input_config"],
        "output": request["output"],
        "language": request.get("language", "python"),
        "architecture": request.get("architecture", "x64"),
        "storage": SeBSStorage(store) if store is not None else None,
    }
    args, kwargs = _validate_arguments(module.validate_output, values)
    verdict = module.validate_output(*args, **kwargs)
    if verdict is None or verdict is True:
        return {"error": None}
    if verdict is False:
        return {"error": "validate_output returned False"}
    return {"error": str(verdict)}


def main():
    reply_stream = sys.stdout
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    try:
        reply = _environment_check(request)
        if reply is None:
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
