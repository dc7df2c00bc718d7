"""6100.1000-genome: the variants with a SIFT prediction (deleterious or tolerated) and an rs
number, from the sites annotation VCF: `line rs gene prediction score` per variant."""

from . import genome, storage


def handler(event):
    bucket = event["bucket"]
    client = storage.storage.get_instance()
    text = client.download_stream(bucket, event["sites"]).decode("utf-8")
    rows = []
    line_number = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        line_number += 1
        fields = line.split("\t")
        csq = genome.info_field(fields[7], "CSQ")
        if not csq or not fields[2].startswith("rs"):
            continue
        _allele, _consequence, gene, sift, _polyphen = csq.split("|")
        if not sift.startswith(("deleterious", "tolerated")):
            continue
        prediction, _, score = sift.rstrip(")").partition("(")
        rows.append("%d %s %s %s %s\n" % (line_number, fields[2], gene, prediction, score))
    key = client.upload_stream(
        bucket,
        "%s/sifting/sifted.SIFT.chr%d.txt" % (event["output"], genome.CHROMOSOME),
        "".join(rows).encode("utf-8"),
    )
    return {
        "bucket": bucket,
        "input": event["input"],
        "output": event["output"],
        "columns": event["columns"],
        "sifted": key,
        "sifted_variants": len(rows),
        "populations": event["populations"],
    }
