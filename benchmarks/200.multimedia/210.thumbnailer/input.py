"""Inputs for 210.thumbnailer: every image of the data directory is uploaded; one is resized."""
import glob
import os
import struct
import tempfile

KEY = "6_astronomy-desktop-wallpaper-evening-1624438.jpg"
WIDTH = HEIGHT = 200


def buckets_count():
    return (1, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    images = sorted(glob.glob(os.path.join(data_dir, "*.jpg")))
    if not any(os.path.basename(f) == KEY for f in images):
        raise FileNotFoundError("%s has no %s; run `sebs data generate` or pass --data-dir" % (data_dir, KEY))
    for path in images:
        upload_func(0, os.path.basename(path), path)
    # All sizes resize the same image, as in SeBS.
    return {
        "object": {"key": KEY, "width": WIDTH, "height": HEIGHT},
        "bucket": {"bucket": benchmarks_bucket, "input": input_paths[0], "output": output_paths[0]},
    }


def image_size(data):
    """(format, width, height) of a PNG or JPEG, parsed from its header; raises if neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:2] != b"\xff\xd8":
        raise ValueError("neither a JPEG nor a PNG (starts with %r)" % data[:8])
    if data.rstrip(b"\x00")[-2:] != b"\xff\xd9":
        raise ValueError("the JPEG is truncated (no end-of-image marker)")
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ValueError("corrupt JPEG marker at byte %d" % i)
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return "jpeg", width, height
        i += 2 + length
    raise ValueError("the JPEG has no frame header")


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
    if result.get("bucket") != bucket["bucket"]:
        return "thumbnail uploaded to bucket %r, expected %r" % (result.get("bucket"), bucket["bucket"])
    key = result["key"]
    if not key.startswith(bucket["output"] + "/"):
        return "thumbnail key %r is not under the output prefix %r" % (key, bucket["output"])
    data = _download(storage, bucket["bucket"], key)
    try:
        kind, width, height = image_size(data)
    except ValueError as e:
        return "the thumbnail is not a valid image: %s" % e
    # Both languages write JPEG (SeBS's Node.js version wrote PNG under a .jpg key).
    if kind != "jpeg":
        return "the %s thumbnail is a %s, expected a JPEG" % (language, kind.upper())
    obj = input_config["object"]
    if width > obj["width"] or height > obj["height"]:
        return "thumbnail is %dx%d, larger than %dx%d" % (width, height, obj["width"], obj["height"])
    with open(os.path.join(data_dir, obj["key"]), "rb") as f:
        _, src_w, src_h = image_size(f.read())
    # Pillow keeps the aspect ratio and fills the limiting side.
    scale = min(obj["width"] / src_w, obj["height"] / src_h, 1.0)
    want_w, want_h = round(src_w * scale), round(src_h * scale)
    if abs(width - want_w) > 1 or abs(height - want_h) > 1:
        return "thumbnail is %dx%d, expected about %dx%d (aspect ratio of %dx%d)" % (
            width, height, want_w, want_h, src_w, src_h
        )
    measurement = output.get("measurement", {})
    if measurement.get("upload_size") != len(data):
        return "reported upload_size %r but the object has %d bytes" % (measurement.get("upload_size"), len(data))
    return None
