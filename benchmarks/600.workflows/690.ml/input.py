"""Inputs for 690.ml: train scikit-learn classifiers in parallel (a map state) on one generated data
set (make_classification, seeded, 90/10 classes, 10 % flipped labels), as SeBS-Flow's 690.ml.
Sizes: test 2 classifiers on 200 × 8, small 2 on 500 × 1,024 (SeBS's), large all 4 on
1,000 × 1,024 (SeBS's large had 3).

Validation: one result per classifier in order, with its parameters, a 60/40 split of the samples,
and an accuracy in [0, 1] at least that of always answering the majority class less 0.1 (a trained
classifier that does worse than that has not learnt).
"""

import math

CLASSIFIERS = [
    {"name": "SVC", "kernel": "linear", "C": 0.025},
    {"name": "RandomForestClassifier", "max_depth": 5, "n_estimators": 10},
    {"name": "RandomForestClassifier", "max_depth": 5, "n_estimators": 15},
    {"name": "AdaBoostClassifier"},
]
SIZES = {"test": (2, 200, 8), "small": (2, 500, 1024), "large": (4, 1000, 1024)}


def buckets_count():
    return (0, 1)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    n_classifiers, n_samples, n_features = SIZES[size]
    return {
        "classifiers": CLASSIFIERS[:n_classifiers],
        "bucket": benchmarks_bucket,
        "prefix": output_paths[0],
        "n_samples": n_samples,
        "n_features": n_features,
    }


def validate_output(data_dir, input_config, output, language, storage=None):
    results = output.get("schedules")
    classifiers = input_config["classifiers"]
    if not isinstance(results, list) or len(results) != len(classifiers):
        return "expected %d training results in `schedules`, got %r" % (len(classifiers), results)
    n = input_config["n_samples"]
    test = math.ceil(0.4 * n)
    for spec, result in zip(classifiers, results):
        params = {k: v for k, v in spec.items() if k != "name"}
        if result.get("name") != spec["name"] or result.get("params") != params:
            return "result %r/%r for classifier %r" % (
                result.get("name"),
                result.get("params"),
                spec,
            )
        if (result.get("test_samples"), result.get("train_samples")) != (test, n - test):
            return "%s split %r/%r samples, expected %d/%d" % (
                spec["name"],
                result.get("train_samples"),
                result.get("test_samples"),
                n - test,
                test,
            )
        score, majority = result.get("score"), result.get("majority_rate")
        if not (isinstance(score, float) and 0.0 <= score <= 1.0):
            return "%s scored %r, not an accuracy" % (spec["name"], score)
        if not (isinstance(majority, float) and 0.5 <= majority <= 1.0) or score < majority - 0.1:
            return "%s scored %.3f against a majority-class rate of %r" % (
                spec["name"],
                score,
                majority,
            )
    return None
