"""690.ml, first state: a seeded classification data set, stored as two .npy objects, and one
training schedule per classifier (the schedules carry only the keys)."""

import os
import tempfile

import numpy as np
from sklearn import datasets

from . import storage


def handler(event):
    n_samples, n_features = int(event["n_samples"]), int(event["n_features"])
    X, y = datasets.make_classification(
        n_samples,
        n_features,
        n_redundant=0,
        n_clusters_per_class=2,
        weights=[0.9, 0.1],
        flip_y=0.1,
        random_state=123,
    )
    client = storage.storage.get_instance()
    bucket, prefix = event["bucket"], event["prefix"]
    keys = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, array in (("features", X), ("labels", y)):
            path = os.path.join(tmp, name + ".npy")
            np.save(path, array)
            keys[name] = client.upload(bucket, "%s/%s.npy" % (prefix, name), path)
    schedules = [
        {"classifier": c, "bucket": bucket, "features": keys["features"], "labels": keys["labels"]}
        for c in event["classifiers"]
    ]
    return {"n_samples": n_samples, "n_features": n_features, "schedules": schedules}
