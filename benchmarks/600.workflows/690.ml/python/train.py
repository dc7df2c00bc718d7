"""690.ml, map state: train one classifier on the stored data set and score it on a held-out 40 %."""

import io
import time

import numpy as np
from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import storage

CLASSIFIERS = {
    "SVC": SVC,
    "RandomForestClassifier": RandomForestClassifier,
    "AdaBoostClassifier": AdaBoostClassifier,
}


def handler(event):
    spec = dict(event["classifier"])
    name = spec.pop("name")
    if name not in CLASSIFIERS:
        raise ValueError("unknown classifier %r; one of %s" % (name, ", ".join(CLASSIFIERS)))
    client = storage.storage.get_instance()
    X = np.load(io.BytesIO(client.download_stream(event["bucket"], event["features"])))
    y = np.load(io.BytesIO(client.download_stream(event["bucket"], event["labels"])))
    begin = time.perf_counter()
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=123)
    clf = CLASSIFIERS[name](random_state=123, **spec)
    clf.fit(X_train, y_train)
    score = float(clf.score(X_test, y_test))
    return {
        "name": name,
        "params": spec,
        "score": score,
        "train_samples": int(len(y_train)),
        "test_samples": int(len(y_test)),
        "majority_rate": float(max(np.mean(y_test), 1 - np.mean(y_test))),
        "compute_time": time.perf_counter() - begin,
    }
