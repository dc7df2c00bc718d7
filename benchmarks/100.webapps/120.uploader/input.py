"""Inputs for 120.uploader.

SeBS fetches files from the internet (a ~230 kB Wikimedia JPEG, a 6.7 MB GitHub zip, a 98 MB
PyTorch model). sebs assumes no internet: the generated stand-ins of those sizes are uploaded to the
input prefix, and the function gets a presigned GET URL of that object, so it still downloads a
URL over HTTP with urllib, from the object store (embedded, MinIO or S3).
"""
import hashlib
import os

FILES = {
    "test": "800px-generated-crop.jpg",
    "small": "hpx-1.4.0-generated.bin",
    "large": "resnet50-generated.bin",
}
URL_LIFETIME_S = 6 * 3600


def buckets_count():
    return (1, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    name = FILES[size]
    path = os.path.join(data_dir, name)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s is missing; run `sebs data generate` or pass --data-dir" % path)
    upload_func(0, name, path)
    store = globals().get("sebs_storage")
    if store is None:
        raise RuntimeError("120.uploader needs sebs's object storage to serve its URL; run it with `sebs benchmark invoke`")
    url = store.presigned_url(benchmarks_bucket, input_paths[0] + "/" + name, URL_LIFETIME_S)
    return {
        "object": {"url": url},
        "bucket": {"bucket": benchmarks_bucket, "output": output_paths[0]},
    }


def _md5_file(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_output(data_dir, input_config, output, language, storage=None):
    if storage is None:
        return "validate_output needs the storage object to check the uploaded object; pass one as SeBS does for storage benchmarks"
    import tempfile

    result = output["result"]
    bucket = input_config["bucket"]
    key = result["key"]
    name = result.get("name", "")
    stem, ext = os.path.splitext(name)
    if not key.startswith(bucket["output"] + "/" + stem + ".") or not key.endswith(ext):
        return "uploaded key %r is not a unique variant of %s under %s" % (key, name, bucket["output"])
    source = os.path.join(data_dir, name)
    if not os.path.isfile(source):
        return "the result names %r, which is not one of the input files" % name
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "object")
        storage.download(bucket["bucket"], key, copy)
        got, want = _md5_file(copy), _md5_file(source)
    if got != want:
        return "uploaded object MD5 %s differs from the source's %s" % (got, want)
    if output["measurement"].get("upload_size") != os.path.getsize(source):
        return "reported upload_size differs from the source's size"
    return None
