"""Inputs for 6100.1000-genome: the 1000 Genomes workflow (as SeBS-Flow ports it from Pegasus) on a
generated chromosome 21 at a reduced size.

input.py writes, from a fixed seed, an individuals VCF (phased genotypes of every sample), the
sites annotation VCF (a VEP-like `CSQ` with SIFT predictions for about 45 % of the variants), the
columns header and five population panels (AFR, AMR, EAS, EUR, SAS), and cuts the VCF into one
object per `individuals` job. Sizes (samples × variants, jobs): test 25 × 300, 2 (SeBS's test
file had 300 lines); small 100 × 1,000, 4; large 500 × 5,000, 10. The real data is 2,504 samples
and about a million variants; the steps are the same, the plots are left out (their statistics
are stored as JSON instead).

Validation regenerates the data and recomputes, per population, what both final steps report:
individuals, carried sifted mutations, the frequency histograms (same seeded groups; compared by
SHA-256, and against the stored JSON) and the pairwise overlaps.
"""

import collections
import hashlib
import itertools
import json
import os
import random
import tempfile

BENCHMARK = "6100.1000-genome"
SEED = 1000
POPULATIONS = ["AFR", "AMR", "EAS", "EUR", "SAS"]
SIZES = {"test": (25, 300, 2), "small": (100, 1000, 4), "large": (500, 5000, 10)}
FIXED = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
RUNS = 1000


def buckets_count():
    return (1, 1)


def _dataset(samples, variants):
    """(sample names, VCF data lines, sites lines); the same for the same sizes everywhere."""
    rng = random.Random("%d-%d-%d" % (SEED, samples, variants))
    names = ["HG%05d" % (96 + 7 * i) for i in range(samples)]
    vcf, sites = [], []
    position = 9411190
    for v in range(variants):
        position += rng.randint(15, 400)
        rs = "rs%d" % (5000000 + 13 * v + rng.randint(0, 12)) if rng.random() > 0.03 else "."
        ref, alt = rng.sample("ACGT", 2)
        af = round(min(0.98, rng.random() ** 2.2 + 0.002), 4)
        genotypes = []
        alt_count = 0
        for _ in names:
            a, b = int(rng.random() < af), int(rng.random() < af)
            alt_count += a + b
            genotypes.append("%d|%d" % (a, b))
        info = "AC=%d;AF=%s;AN=%d;NS=%d;VT=SNP" % (alt_count, af, 2 * samples, samples)
        vcf.append(
            "\t".join(["21", str(position), rs, ref, alt, "100", "PASS", info, "GT"] + genotypes)
        )
        kind = rng.random()
        gene = "ENSG%011d" % (154000 + v // 20)
        if kind < 0.2:
            csq = "%s|missense_variant|%s|deleterious(%.2f)|probably_damaging(0.9%d)" % (
                alt,
                gene,
                rng.random() * 0.05,
                rng.randint(0, 9),
            )
        elif kind < 0.45:
            csq = "%s|missense_variant|%s|tolerated(%.2f)|benign(0.0%d)" % (
                alt,
                gene,
                0.05 + rng.random() * 0.95,
                rng.randint(0, 9),
            )
        else:
            csq = "%s|intron_variant|%s||" % (alt, gene)
        sites.append(
            "\t".join(
                ["21", str(position), rs, ref, alt, "100", "PASS", "AF=%s;CSQ=%s" % (af, csq)]
            )
        )
    return names, vcf, sites


def _panel(names):
    return {
        pop: [n for i, n in enumerate(names) if i % len(POPULATIONS) == p]
        for p, pop in enumerate(POPULATIONS)
    }


def _data_root(data_dir, *sub):
    """Where the generated files go: the benchmark's data directory, or (when there is none, or
    it is read-only, as a benchmarks-data checkout may be) a directory under the system's temp."""
    fallback = os.path.join(tempfile.gettempdir(), "sebs-workflow-data", BENCHMARK)
    for root in ([data_dir] if data_dir else []) + [fallback]:
        path = os.path.join(root, *sub)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise OSError("cannot write the generated inputs to %s or %s" % (data_dir, fallback))


def _write(root, name, text):
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        partial = "%s.%d.partial" % (path, os.getpid())
        with open(partial, "w") as f:
            f.write(text)
        os.replace(partial, path)
    return path


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    samples, variants, jobs = SIZES[size]
    tag = "%dx%d" % (samples, variants)
    root = _data_root(data_dir, tag)
    names, vcf, sites = _dataset(samples, variants)
    header = "##fileformat=VCFv4.1\n"
    files = {
        "columns.txt": "\t".join(FIXED + names) + "\n",
        "ALL.chr21.sites.annotation.vcf": header
        + "\t".join(FIXED[:8])
        + "\n"
        + "\n".join(sites)
        + "\n",
    }
    files.update({pop: "\n".join(ids) + "\n" for pop, ids in _panel(names).items()})
    per_job = -(-variants // jobs)
    chunks = []
    for i in range(jobs):
        name = "ALL.chr21.%s.part-%03d.vcf" % (tag, i)
        files[name] = "\n".join(vcf[i * per_job : (i + 1) * per_job]) + "\n"
        chunks.append({"index": i, "key": "%s/%s/%s" % (input_paths[0], tag, name)})
    for name, text in files.items():
        upload_func(0, tag + "/" + name, _write(root, name, text))
    prefix = input_paths[0] + "/" + tag
    return {
        "bucket": benchmarks_bucket,
        "input": prefix,
        "output": output_paths[0],
        "columns": prefix + "/columns.txt",
        "sites": prefix + "/ALL.chr21.sites.annotation.vcf",
        "populations": POPULATIONS,
        "chunks": chunks,
        "samples": samples,
        "variants": variants,
    }


def _carried(samples, variants):
    """{population: {sample: sorted sifted rs numbers it carries}}, computed from scratch."""
    names, vcf, sites = _dataset(samples, variants)
    sifted = set()
    for line in sites:
        fields = line.split("\t")
        sift = fields[7].split("CSQ=")[1].split("|")[3]
        if fields[2].startswith("rs") and (
            sift.startswith("deleterious") or sift.startswith("tolerated")
        ):
            sifted.add(fields[2])
    carried = {n: set() for n in names}
    for line in vcf:
        fields = line.split("\t")
        af = float(fields[7].split("AF=")[1].split(";")[0])
        for name, genotype in zip(names, fields[9:]):
            first = genotype[0]
            if (first == "0" if af >= 0.5 else first == "1") and fields[2] in sifted:
                carried[name].add(fields[2])
    return {pop: {n: sorted(carried[n]) for n in sorted(ids)} for pop, ids in _panel(names).items()}


def _frequency(population, carried):
    ids = sorted(carried)
    rng = random.Random("frequency-" + population)
    group = max(1, len(ids) // 2)
    histograms = []
    for _ in range(RUNS):
        counts = collections.Counter()
        for sample in rng.sample(ids, group):
            counts.update(carried[sample])
        shared = collections.Counter(counts.values())
        histograms.append({str(k): shared[k] for k in sorted(shared)})
    text = json.dumps(
        {"population": population, "group": group, "histograms": histograms}, sort_keys=True
    )
    return {
        "population": population,
        "individuals": len(ids),
        "group": group,
        "runs": RUNS,
        "carriers": sum(len(v) for v in carried.values()),
        "distinct": len(set().union(*carried.values())) if carried else 0,
        "histograms_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def _overlap(population, carried):
    sets = [set(carried[s]) for s in sorted(carried)]
    overlaps = [len(a & b) for a, b in itertools.combinations(sets, 2)]
    pairs = collections.Counter()
    for sample in sorted(carried):
        pairs.update(itertools.combinations(carried[sample], 2))
    return {
        "population": population,
        "individuals": len(sets),
        "pairs": len(overlaps),
        "overlap_total": sum(overlaps),
        "overlap_max": max(overlaps, default=0),
        "mutation_pairs": len(pairs),
        "top_pair_count": max(pairs.values(), default=0),
    }


def _results(output, branch):
    try:
        return output[branch]["sifting"]["populations"]
    except (KeyError, TypeError):
        return None


def validate_output(data_dir, input_config, output, language, storage=None):
    expected = _carried(input_config["samples"], input_config["variants"])
    for branch, compute in (("frequency", _frequency), ("mutation_overlap", _overlap)):
        results = _results(output, branch)
        if not isinstance(results, list) or len(results) != len(POPULATIONS):
            return "no per-population results at %s.sifting.populations: %r" % (branch, results)
        for population, got in zip(POPULATIONS, results):
            want = compute(population, expected[population])
            differ = sorted(k for k in want if got.get(k) != want[k])
            if differ:
                return "%s of %s: %s differ (got %r, expected %r)" % (
                    branch,
                    population,
                    ", ".join(differ),
                    [got.get(k) for k in differ],
                    [want[k] for k in differ],
                )
    if storage is not None:
        got = _results(output, "frequency")[0]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "frequency.json")
            storage.download(input_config["bucket"], got["key"], path)
            with open(path, "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != got["histograms_sha256"]:
                    return (
                        "the stored frequency histograms %s differ from the reported digest"
                        % got["key"]
                    )
    return None
