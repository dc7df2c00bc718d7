"""6100.1000-genome, per population: sifted mutations shared by pairs of individuals, and pairs of
mutations carried together (the workflow's mutation-overlap step, without plots)."""

import collections
import itertools
import json

from . import genome, storage


def handler(event):
    population = event["array_element"]
    sifting, merged = event["sifting"], event["individuals_merge"]
    client = storage.storage.get_instance()
    ids, _sifted, carried = genome.load_population(client, sifting, merged, population)
    sets = [set(carried[sample]) for sample in ids]
    overlaps = [len(a & b) for a, b in itertools.combinations(sets, 2)]
    gene_pairs = collections.Counter()
    for sample in ids:
        gene_pairs.update(itertools.combinations(carried[sample], 2))
    per_individual = {sample: len(carried[sample]) for sample in ids}
    text = json.dumps(
        {"population": population, "mutations": per_individual, "pair_overlaps": overlaps},
        sort_keys=True,
    )
    key = client.upload_stream(
        sifting["bucket"],
        "%s/overlap/%s.json" % (sifting["output"], population),
        text.encode("utf-8"),
    )
    return {
        "population": population,
        "individuals": len(ids),
        "pairs": len(overlaps),
        "overlap_total": sum(overlaps),
        "overlap_max": max(overlaps, default=0),
        "mutation_pairs": len(gene_pairs),
        "top_pair_count": max(gene_pairs.values(), default=0),
        "key": key,
    }
