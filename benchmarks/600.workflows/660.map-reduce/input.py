"""Inputs for 660.map-reduce: word count through object storage (split → map → shuffle → reduce).

The text is generated here: lines of 8-16 words drawn, with a Zipf-like skew, from a fixed
vocabulary, seeded so every machine makes the same file. SeBS shuffled 5 words repeated
50/1,000/100,000 times; the sizes here are 2,000 words and 8 distinct (test, 3 mappers), 100,000
and 20 (small, 4 mappers), 2,000,000 and 50 (large, 8 mappers). Validation counts the words of
the generated text itself and compares every reducer's total.
"""

import os
import random
import tempfile

VOCABULARY = (
    "cat dog bird horse pig cow sheep goat duck goose fox wolf bear deer hare mole owl hawk crow "
    "swan frog toad newt carp pike trout eel crab lobster shrimp snail slug worm ant bee wasp moth "
    "fly gnat flea tick mite lynx otter badger beaver bison camel llama zebra"
).split()
SIZES = {"test": (2000, 8, 3), "small": (100_000, 20, 4), "large": (2_000_000, 50, 8)}
BENCHMARK = "660.map-reduce"
SEED = 660


def buckets_count():
    return (1, 1)


def _lines(words, distinct):
    rng = random.Random(SEED)
    vocabulary = VOCABULARY[:distinct]
    weights = [1.0 / (rank + 1) for rank in range(distinct)]
    left = words
    while left > 0:
        n = min(left, rng.randint(8, 16))
        yield " ".join(rng.choices(vocabulary, weights, k=n)) + "\n"
        left -= n


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


def _text_file(data_dir, name, words, distinct):
    root = _data_root(data_dir)
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        partial = "%s.%d.partial" % (path, os.getpid())
        with open(partial, "w") as f:
            f.writelines(_lines(words, distinct))
        os.replace(partial, path)
    return path


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    words, distinct, mappers = SIZES[size]
    name = "words-%d-%d.txt" % (words, distinct)
    upload_func(0, name, _text_file(data_dir, name, words, distinct))
    return {
        "bucket": benchmarks_bucket,
        "text": input_paths[0] + "/" + name,
        "output": output_paths[0],
        "n_mappers": mappers,
        "words": words,
        "distinct": distinct,
    }


def validate_output(data_dir, input_config, output, language, storage=None):
    want = {}
    for line in _lines(input_config["words"], input_config["distinct"]):
        for word in line.split():
            want[word] = want.get(word, 0) + 1
    results = output.get("list")
    if not isinstance(results, list):
        return "the output has no `list` of reducer results: %r" % (output,)
    got = {r.get("word"): r.get("count") for r in results}
    if len(got) != len(results):
        return "some word was reduced twice: %r" % [r.get("word") for r in results]
    if got != want:
        wrong = sorted(w for w in set(got) | set(want) if got.get(w) != want.get(w))
        return "counts differ for %s: got %r, expected %r" % (
            ", ".join(wrong[:5]),
            [got.get(w) for w in wrong[:5]],
            [want.get(w) for w in wrong[:5]],
        )
    if any(r.get("mappers", 0) > input_config["n_mappers"] for r in results):
        return "a reducer summed more partial counts than there are mappers"
    return None
