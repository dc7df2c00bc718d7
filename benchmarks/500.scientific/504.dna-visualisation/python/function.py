"""504.dna-visualisation: squiggle transform of a FASTA genome; uploads the coordinates as JSON."""
import datetime
import io
import json
import os

from squiggle import transform

from . import storage

client = storage.storage.get_instance()


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def read_fasta(text):
    """The concatenated sequence of a FASTA text (header and comment lines dropped)."""
    return "".join(
        line.strip() for line in text.splitlines() if line and not line.startswith((">", ";"))
    )


def handler(event):
    bucket = event["bucket"]["bucket"]
    input_prefix = event["bucket"]["input"]
    output_prefix = event["bucket"]["output"]
    key = event["object"]["key"]
    download_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), key)

    download_begin = datetime.datetime.now()
    client.download(bucket, os.path.join(input_prefix, key), download_path)
    download_end = datetime.datetime.now()
    download_size = os.path.getsize(download_path)
    with open(download_path) as f:
        sequence = read_fasta(f.read())
    os.remove(download_path)

    process_begin = datetime.datetime.now()
    result = transform(sequence)
    process_end = datetime.datetime.now()

    upload_begin = datetime.datetime.now()
    data = json.dumps(result).encode()
    del result
    key_name = client.upload_stream(bucket, os.path.join(output_prefix, key + ".json"), io.BytesIO(data))
    upload_end = datetime.datetime.now()

    return {
        "result": {"bucket": bucket, "key": key_name, "bases": len(sequence)},
        "measurement": {
            "download_time": _us(download_begin, download_end),
            "download_size": download_size,
            "upload_time": _us(upload_begin, upload_end),
            "upload_size": len(data),
            "compute_time": _us(process_begin, process_end),
        },
    }
