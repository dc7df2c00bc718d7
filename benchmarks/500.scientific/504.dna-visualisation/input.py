"""Inputs for 504.dna-visualisation: one FASTA genome, the same for every size (as in SeBS)."""
import hashlib
import json
import os
import tempfile

KEY = "bacillus_subtilis.fasta"


def buckets_count():
    return (1, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    path = os.path.join(data_dir, KEY)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s is missing; run `sebs data generate` or pass --data-dir" % path)
    upload_func(0, KEY, path)
    return {
        "object": {"key": KEY},
        "bucket": {"bucket": benchmarks_bucket, "input": input_paths[0], "output": output_paths[0]},
    }


def read_fasta(text):
    return "".join(
        line.strip() for line in text.splitlines() if line and not line.startswith((">", ";"))
    )


def squiggle(sequence):
    """squiggle 0.3.1's default method, reimplemented: x = 0, 0.5, ..., len; y walks up on G,
    down on T, bumps on A/C. Types match (ints and floats), so the JSON is byte-identical."""
    x = [i * 0.5 for i in range(2 * len(sequence) + 1)]
    y = [0]
    value = 0
    for c in sequence.upper():
        if c == "A":
            y.extend((value + 0.5, value))
        elif c == "C":
            y.extend((value - 0.5, value))
        elif c == "T":
            y.extend((value - 0.5, value - 1))
            value -= 1
        elif c == "G":
            y.extend((value + 0.5, value + 1))
            value += 1
        else:
            y.extend((value, value))
    return x, y


def _download(storage, bucket, key):
    """The bytes of object `key`, through SeBS's host-side storage API (download to a file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "object")
        storage.download(bucket, key, path)
        with open(path, "rb") as f:
            return f.read()


def validate_output(data_dir, input_config, output, language, storage=None):
    if storage is None:
        return "validate_output needs the storage object to check the uploaded object; pass one as SeBS does for storage benchmarks"
    result = output["result"]
    bucket = input_config["bucket"]
    key = result.get("key", "")
    if result.get("bucket") != bucket["bucket"] or not key.startswith(bucket["output"] + "/"):
        return "output %s/%s is not under the output prefix %s" % (result.get("bucket"), key, bucket["output"])
    with open(os.path.join(data_dir, input_config["object"]["key"])) as f:
        sequence = read_fasta(f.read())
    if result.get("bases") != len(sequence):
        return "the function read %r bases; the FASTA file has %d" % (result.get("bases"), len(sequence))
    data = _download(storage, bucket["bucket"], key)
    try:
        x, y = json.loads(data)
    except ValueError as e:
        return "the uploaded object is not the JSON [x, y]: %s" % e
    n = len(sequence)
    if len(x) != 2 * n + 1 or len(y) != 2 * n + 1:
        return "expected %d coordinates per axis, got %d x and %d y" % (2 * n + 1, len(x), len(y))
    expected = json.dumps(squiggle(sequence)).encode()
    if hashlib.md5(data).hexdigest() != hashlib.md5(expected).hexdigest():
        for i, (got, want) in enumerate(zip(y, json.loads(expected)[1])):
            if got != want:
                return "y[%d] is %r, expected %r (squiggle of the input sequence)" % (i, got, want)
        return "the JSON differs from the squiggle transform of the input (MD5 %s, expected %s)" % (
            hashlib.md5(data).hexdigest(), hashlib.md5(expected).hexdigest()
        )
    measurement = output.get("measurement", {})
    if measurement.get("upload_size") != len(data):
        return "reported upload_size %r but the object has %d bytes" % (measurement.get("upload_size"), len(data))
    return None
