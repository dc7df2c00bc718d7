"""Inputs for 311.compression: the acmart-master directory, file by file."""
import hashlib
import os
import tempfile
import zipfile

KEY = "acmart-master"


def buckets_count():
    return (1, 1)


def _files(directory):
    """Relative path -> absolute path of every file under `directory`."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, directory).replace(os.sep, "/")] = path
    return out


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    source = os.path.join(data_dir, KEY)
    if not os.path.isdir(source):
        raise FileNotFoundError("%s is missing; run `sebs data generate` or pass --data-dir" % source)
    for rel, path in sorted(_files(source).items()):
        upload_func(0, KEY + "/" + rel, path)
    return {
        "object": {"key": KEY},
        "bucket": {"bucket": benchmarks_bucket, "input": input_paths[0], "output": output_paths[0]},
    }


def _md5(stream):
    digest = hashlib.md5()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def validate_output(data_dir, input_config, output, language, storage=None):
    if storage is None:
        return "validate_output needs the storage object to check the uploaded object; pass one as SeBS does for storage benchmarks"
    result = output["result"]
    bucket = input_config["bucket"]
    key = result["key"]
    if not key.startswith(bucket["output"] + "/") or not key.endswith(".zip"):
        return "archive key %r is not a .zip under the output prefix %r" % (key, bucket["output"])
    expected = _files(os.path.join(data_dir, input_config["object"]["key"]))
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "archive.zip")
        storage.download(bucket["bucket"], key, archive)
        try:
            with zipfile.ZipFile(archive) as z:
                bad = z.testzip()
                if bad is not None:
                    return "archive member %s fails its CRC check" % bad
                prefix = input_config["object"]["key"] + "/"
                members = {i.filename[len(prefix):]: i for i in z.infolist()
                           if not i.is_dir() and i.filename.startswith(prefix)}
                others = [i.filename for i in z.infolist()
                          if not i.is_dir() and not i.filename.startswith(prefix)]
                if others:
                    return "archive has files outside %s: %s" % (prefix, others[:5])
                if set(members) != set(expected):
                    missing = sorted(set(expected) - set(members))
                    extra = sorted(set(members) - set(expected))
                    return "archive file set differs: missing %s, unexpected %s" % (missing[:5], extra[:5])
                for rel, path in expected.items():
                    with z.open(members[rel]) as inside, open(path, "rb") as original:
                        if _md5(inside) != _md5(original):
                            return "archive member %s differs from the data directory" % rel
        except zipfile.BadZipFile as e:
            return "the uploaded object is not a zip archive: %s" % e
    return None
