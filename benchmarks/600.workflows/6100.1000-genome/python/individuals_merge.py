"""6100.1000-genome: merge the chunks' per-individual files (in chunk order) into one archive."""

from . import genome, storage


def handler(event):
    bucket, output = event["bucket"], event["output"]
    client = storage.storage.get_instance()
    merged = {}
    for chunk in sorted(event["chunks"], key=lambda c: c["index"]):
        for name, text in genome.read_tar(client.download_stream(bucket, chunk["key"])).items():
            merged[name] = merged.get(name, "") + text
    key = client.upload_stream(
        bucket, "%s/merged/chr%dn.tar.gz" % (output, genome.CHROMOSOME), genome.write_tar(merged)
    )
    return {
        "bucket": bucket,
        "merged": key,
        "individuals": len(merged),
        "variants": sum(c["variants"] for c in event["chunks"]),
    }
