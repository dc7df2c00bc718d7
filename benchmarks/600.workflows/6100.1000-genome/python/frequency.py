"""6100.1000-genome, per population: how many sifted mutations are shared by how many individuals,
over `RUNS` random groups of half the population (the workflow's frequency step, without plots).

The groups are drawn from a generator seeded with the population's name, so a run is reproducible;
the full histograms are stored as JSON, the summary travels in the payload."""

import collections
import hashlib
import json
import random

from . import genome, storage

RUNS = 1000


def handler(event):
    population = event["array_element"]
    sifting, merged = event["sifting"], event["individuals_merge"]
    client = storage.storage.get_instance()
    ids, _sifted, carried = genome.load_population(client, sifting, merged, population)
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
    key = client.upload_stream(
        sifting["bucket"],
        "%s/frequency/%s.json" % (sifting["output"], population),
        text.encode("utf-8"),
    )
    return {
        "population": population,
        "individuals": len(ids),
        "group": group,
        "runs": RUNS,
        "carriers": sum(len(v) for v in carried.values()),
        "distinct": len(set().union(*carried.values())) if carried else 0,
        "histograms_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "key": key,
    }
