"""Inputs for 631.parallel-download: `count` functions in a map state download the same object at
once. The object is generated here (seeded pseudo-random bytes, identical on every machine) and
uploaded to the input prefix; SeBS's sizes were 10 B and 1 KiB, too small to load the store, so
sebs uses 64 KiB (test), 1 MiB (small) and 8 MiB (large).
"""

import hashlib
import os
import random
import tempfile

SIZES = {"test": (4, 64 * 1024), "small": (20, 1 << 20), "large": (50, 8 << 20)}
BENCHMARK = "631.parallel-download"
SEED = 631


def buckets_count():
    return (1, 0)


def _bytes(size):
    return random.Random(SEED + size).randbytes(size)


def _data_root(data_dir, *sub):
    """Where the generated files go: the benchmark's data directory, or (when there is none, or
    it is read-only, as a benchmarks-data checkout may be) a directory under the system's temp."""
    fallback = os.path.join(tempfile.gettempdir(), "sebs-workflow-data", BENCHMARK)
    for root in ([data_dir] if data_dir else []) + [fallback]:
        path = os.path.join(root, *sub)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise OSError("cannot write the generated inputs to %s or %s" % (data_dir, fallback))


def _data_file(data_dir, name, size):
    """The generated object on disk (written once; its content depends on `size` only)."""
    root = _data_root(data_dir)
    path = os.path.join(root, name)
    if not os.path.isfile(path) or os.path.getsize(path) != size:
        partial = "%s.%d.partial" % (path, os.getpid())
        with open(partial, "wb") as f:
            f.write(_bytes(size))
        os.replace(partial, path)
    return path


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    count, nbytes = SIZES[size]
    name = "data-%d.bin" % nbytes
    upload_func(0, name, _data_file(data_dir, name, nbytes))
    return {
        "count": count,
        "bucket": benchmarks_bucket,
        "key": input_paths[0] + "/" + name,
        "bytes": nbytes,
    }


def validate_output(data_dir, input_config, output, language, storage=None):
    results = output.get("buffer")
    count = input_config["count"]
    if not isinstance(results, list) or len(results) != count:
        return "expected %d download results in `buffer`, got %r" % (count, results)
    want = hashlib.md5(_bytes(input_config["bytes"])).hexdigest()
    for i, r in enumerate(results):
        if r.get("index") != i:
            return "result %d is for job %r: the map state must keep the input order" % (
                i,
                r.get("index"),
            )
        if r.get("size") != input_config["bytes"] or r.get("md5") != want:
            return "download %d got %r bytes with MD5 %r, expected %d with %s" % (
                i,
                r.get("size"),
                r.get("md5"),
                input_config["bytes"],
                want,
            )
    return None
