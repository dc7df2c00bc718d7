"""6100.1000-genome: what the steps share (VCF fields, the carrier rule, tar.gz archives in memory)."""

import io
import tarfile

CHROMOSOME = 21


def info_field(info, name):
    """The value of `name=` in a VCF INFO column, or None."""
    for entry in info.split(";"):
        key, _, value = entry.partition("=")
        if key == name:
            return value
    return None


def allele_frequency(info):
    """The first AF value of the INFO column as a float, or None when there is none."""
    value = info_field(info, "AF")
    try:
        return float(value.split(",")[0]) if value else None
    except ValueError:
        return None


def carries(af, genotype):
    """The 1000 Genomes workflow's rule: an individual carries the variant when its first
    haplotype holds the minor allele (ALT if AF < 0.5, REF otherwise)."""
    first = genotype.split("|")[0]
    return first == "0" if af >= 0.5 else first == "1"


def write_tar(files):
    """A tar.gz (bytes) holding `files` (name -> text), in sorted name order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name in sorted(files):
            data = files[name].encode("utf-8")
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def read_tar(data):
    """name -> text of every file in a tar.gz given as bytes."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name] = tar.extractfile(member).read().decode("utf-8")
    return files


def sample_file(sample):
    return "chr%d.%s" % (CHROMOSOME, sample)


def load_population(client, sifting, merged, population):
    """(ids, sifted rs numbers, {id: sorted sifted rs numbers it carries}) for one population."""
    bucket = sifting["bucket"]
    columns = client.download_stream(bucket, sifting["columns"]).decode("utf-8").split()
    members = (
        client.download_stream(bucket, sifting["input"] + "/" + population).decode("utf-8").split()
    )
    ids = sorted(set(members) & set(columns))
    sifted = set()
    for line in client.download_stream(bucket, sifting["sifted"]).decode("utf-8").splitlines():
        fields = line.split()
        if len(fields) > 2:
            sifted.add(fields[1])
    files = read_tar(client.download_stream(bucket, merged["merged"]))
    carried = {}
    for sample in ids:
        text = files.get(sample_file(sample), "")
        carried[sample] = sorted(
            {line.split()[0] for line in text.splitlines() if line.strip()} & sifted
        )
    return ids, sifted, carried
