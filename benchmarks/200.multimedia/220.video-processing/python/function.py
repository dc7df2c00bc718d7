"""220.video-processing: ffmpeg watermark overlay or GIF extraction on a video from storage.

ffmpeg is the static binary inside the imageio-ffmpeg wheel (SeBS downloads a static build in
init.sh instead).
"""
import datetime
import os
import subprocess

import imageio_ffmpeg

from . import storage

client = storage.storage.get_instance()
SCRIPT_DIR = os.path.dirname(os.path.realpath(__file__))
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def call_ffmpeg(args):
    ret = subprocess.run(
        [FFMPEG, "-y", "-hide_banner", "-loglevel", "error"] + args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if ret.returncode != 0:
        raise RuntimeError("ffmpeg failed (%d): %s" % (ret.returncode, ret.stdout.decode(errors="replace")[-2000:]))


def to_gif(video, duration, tmp):
    output = os.path.join(tmp, "processed-%s.gif" % os.path.splitext(os.path.basename(video))[0])
    call_ffmpeg([
        "-i", video, "-t", str(duration),
        "-vf", "fps=10,scale=320:-1:flags=lanczos,split[s0][s1];[s0]palettegen[p];[s1][p]paletteuse",
        "-loop", "0", output,
    ])
    return output


def watermark(video, duration, tmp):
    output = os.path.join(tmp, "processed-%s" % os.path.basename(video))
    call_ffmpeg([
        "-i", video, "-i", os.path.join(SCRIPT_DIR, "resources", "watermark.png"),
        "-t", str(duration),
        "-filter_complex", "overlay=main_w/2-overlay_w/2:main_h/2-overlay_h/2",
        "-threads", "1",
        output,
    ])
    return output


OPERATIONS = {"extract-gif": to_gif, "watermark": watermark}


def handler(event):
    bucket = event["bucket"]["bucket"]
    input_prefix = event["bucket"]["input"]
    output_prefix = event["bucket"]["output"]
    key = event["object"]["key"]
    duration = event["object"]["duration"]
    op = event["object"]["op"]
    if op not in OPERATIONS:
        raise ValueError("unknown operation %r; expected one of %s" % (op, sorted(OPERATIONS)))
    tmp = os.environ.get("TMPDIR", "/tmp")
    download_path = os.path.join(tmp, key)

    download_begin = datetime.datetime.now()
    client.download(bucket, os.path.join(input_prefix, key), download_path)
    download_size = os.path.getsize(download_path)
    download_end = datetime.datetime.now()

    process_begin = datetime.datetime.now()
    upload_path = OPERATIONS[op](download_path, duration, tmp)
    process_end = datetime.datetime.now()

    upload_begin = datetime.datetime.now()
    filename = os.path.basename(upload_path)
    upload_size = os.path.getsize(upload_path)
    key_name = client.upload(bucket, os.path.join(output_prefix, filename), upload_path)
    upload_end = datetime.datetime.now()
    os.remove(download_path)
    os.remove(upload_path)

    return {
        "result": {"bucket": bucket, "key": key_name},
        "measurement": {
            "download_time": _us(download_begin, download_end),
            "download_size": download_size,
            "upload_time": _us(upload_begin, upload_end),
            "upload_size": upload_size,
            "compute_time": _us(process_begin, process_end),
        },
    }
