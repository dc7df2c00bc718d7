"""Inputs for 220.video-processing: `city.mp4`; watermark 1 s (test) or 3 s (small), GIF of 2 s
(large), as in SeBS."""
import os
import shutil
import struct
import subprocess
import tempfile

KEY = "city.mp4"
SIZES = {
    "test": {"op": "watermark", "duration": 1},
    "small": {"op": "watermark", "duration": 3},
    "large": {"op": "extract-gif", "duration": 2},
}
FPS = 25  # of the generated city.mp4; the GIF is resampled to 10 fps
GIF_FPS = 10
GIF_WIDTH = 320


def buckets_count():
    return (1, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    path = os.path.join(data_dir, KEY)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s is missing; run `sebs data generate` or pass --data-dir" % path)
    upload_func(0, KEY, path)
    obj = {"key": KEY}
    obj.update(SIZES[size])
    return {
        "object": obj,
        "bucket": {"bucket": benchmarks_bucket, "input": input_paths[0], "output": output_paths[0]},
    }


def _boxes(data, start, end):
    """(type, body start, body end) of the ISO-BMFF boxes in data[start:end]."""
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            raise ValueError("corrupt %r box at byte %d" % (kind, i))
        yield kind.decode("latin-1"), i + header, i + size
        i += size


def _find(data, start, end, path):
    for kind, s, e in _boxes(data, start, end):
        if kind == path[0]:
            return (s, e) if len(path) == 1 else _find(data, s, e, path[1:])
    raise ValueError("no %s box" % "/".join(path))


def probe_mp4(data):
    """(duration s, video frames, width, height) of an MP4's first video track."""
    kinds = [k for k, _, _ in _boxes(data, 0, len(data))]
    if not kinds or kinds[0] != "ftyp" or "moov" not in kinds or "mdat" not in kinds:
        raise ValueError("not an MP4 file (top-level boxes %s)" % kinds[:5])
    moov = _find(data, 0, len(data), ["moov"])
    for kind, s, e in _boxes(data, *moov):
        if kind != "trak":
            continue
        hs, _ = _find(data, s, e, ["mdia", "hdlr"])
        if data[hs + 8:hs + 12] != b"vide":
            continue
        ts, te = _find(data, s, e, ["tkhd"])
        width, height = struct.unpack(">II", data[te - 8:te])
        ms, _ = _find(data, s, e, ["mdia", "mdhd"])
        if data[ms] == 1:
            timescale, duration = struct.unpack(">IQ", data[ms + 20:ms + 32])
        else:
            timescale, duration = struct.unpack(">II", data[ms + 12:ms + 20])
        zs, _ = _find(data, s, e, ["mdia", "minf", "stbl", "stsz"])
        frames = struct.unpack(">I", data[zs + 8:zs + 12])[0]
        return duration / timescale, frames, width >> 16, height >> 16
    raise ValueError("the MP4 has no video track")


def probe_gif(data):
    """(frames, width, height, total delay s) of a GIF."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF (starts with %r)" % data[:6])
    width, height, flags = struct.unpack("<HHB", data[6:11])
    i = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, delay = 0, 0

    def skip_blocks(i):
        while data[i] != 0:
            i += data[i] + 1
        return i + 1

    while i < len(data):
        b = data[i]
        if b == 0x3B:
            return frames, width, height, delay / 100.0
        if b == 0x21:
            if data[i + 1] == 0xF9:
                delay += struct.unpack("<H", data[i + 4:i + 6])[0]
            i = skip_blocks(i + 2)
        elif b == 0x2C:
            frames += 1
            lflags = data[i + 9]
            i += 10 + (3 * 2 ** ((lflags & 7) + 1) if lflags & 0x80 else 0)
            i = skip_blocks(i + 1)  # LZW minimum code size, then data blocks
        else:
            raise ValueError("corrupt GIF block 0x%02x at byte %d" % (b, i))
    raise ValueError("the GIF is truncated (no trailer)")


def _ffmpeg():
    """An ffmpeg on the host's PATH for a full decode check, if there is one (standard library
    only, so input.py needs no extra packages on the host)."""
    return shutil.which("ffmpeg")


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
    obj = input_config["object"]
    key = result.get("key", "")
    if result.get("bucket") != bucket["bucket"] or not key.startswith(bucket["output"] + "/"):
        return "output %s/%s is not under the output prefix %s" % (result.get("bucket"), key, bucket["output"])
    data = _download(storage, bucket["bucket"], key)
    with open(os.path.join(data_dir, obj["key"]), "rb") as f:
        source = probe_mp4(f.read())
    src_duration, _, src_w, src_h = source
    duration = min(obj["duration"], src_duration)
    try:
        if obj["op"] == "watermark":
            if not key.endswith(".mp4"):
                return "watermark output %r is not an .mp4" % key
            got_duration, frames, width, height = probe_mp4(data)
            if (width, height) != (src_w, src_h):
                return "watermarked video is %dx%d, the input %dx%d" % (width, height, src_w, src_h)
            if abs(got_duration - duration) > 0.1:
                return "watermarked video lasts %.3f s, expected %.3f s" % (got_duration, duration)
            if abs(frames - duration * FPS) > 1:
                return "watermarked video has %d frames, expected %d" % (frames, duration * FPS)
        else:
            if not key.endswith(".gif"):
                return "GIF output %r is not a .gif" % key
            frames, width, height, total = probe_gif(data)
            want_h = round(src_h * GIF_WIDTH / src_w)
            if width != GIF_WIDTH or abs(height - want_h) > 1:
                return "GIF is %dx%d, expected %dx%d" % (width, height, GIF_WIDTH, want_h)
            if abs(frames - duration * GIF_FPS) > 1:
                return "GIF has %d frames, expected %d (%d s at %d fps)" % (frames, duration * GIF_FPS, duration, GIF_FPS)
            if abs(total - duration) > 0.15:
                return "GIF frame delays add up to %.2f s, expected %.2f s" % (total, duration)
    except (ValueError, struct.error, IndexError) as e:
        return "the output does not parse: %s" % e
    ffmpeg = _ffmpeg()
    if ffmpeg:
        with tempfile.NamedTemporaryFile(suffix=os.path.splitext(key)[1]) as f:
            f.write(data)
            f.flush()
            ret = subprocess.run([ffmpeg, "-v", "error", "-i", f.name, "-f", "null", "-"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if ret.returncode != 0 or ret.stdout.strip():
                return "ffmpeg cannot decode the output cleanly: %s" % ret.stdout.decode(errors="replace")[:300]
    measurement = output.get("measurement", {})
    if measurement.get("upload_size") != len(data):
        return "reported upload_size %r but the object has %d bytes" % (measurement.get("upload_size"), len(data))
    return None
