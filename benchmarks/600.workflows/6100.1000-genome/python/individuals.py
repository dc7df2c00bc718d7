"""6100.1000-genome, map state: one chunk of the individuals VCF to one file per individual,
listing the variants whose minor allele it carries (`rs pos ref alt af`), archived as tar.gz."""

from . import genome, storage


def handler(event):
    chunk, bucket = event["array_element"], event["bucket"]
    client = storage.storage.get_instance()
    columns = (
        client.download_stream(bucket, event["columns"]).decode("utf-8").rstrip("\n").split("\t")
    )
    samples = columns[9:]
    text = client.download_stream(bucket, chunk["key"]).decode("utf-8")
    rows = {sample: [] for sample in samples}
    variants = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        af = genome.allele_frequency(fields[7])
        if af is None:
            continue
        variants += 1
        row = "%s %s %s %s %s\n" % (fields[2], fields[1], fields[3], fields[4], af)
        for sample, genotype in zip(samples, fields[9:]):
            if genome.carries(af, genotype):
                rows[sample].append(row)
    archive = genome.write_tar({genome.sample_file(s): "".join(r) for s, r in rows.items()})
    key = client.upload_stream(
        bucket, "%s/individuals/chunk-%03d.tar.gz" % (event["output"], chunk["index"]), archive
    )
    return {"index": chunk["index"], "key": key, "variants": variants}
