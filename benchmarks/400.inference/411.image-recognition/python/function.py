"""411.image-recognition: ResNet-50 inference on CPU with onnxruntime.

Downloads the model (once per instance: it is kept in a module global across warm invocations, as
SeBS does) and an image, preprocesses it like torchvision (resize 256, center crop 224, ImageNet
mean/std), and returns the top class and the top 5.
"""
import datetime
import json
import os

import numpy as np
import onnxruntime
from PIL import Image

from . import storage

client = storage.storage.get_instance()

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

session = None
labels = None


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def preprocess(path):
    with Image.open(path) as image:
        image = image.convert("RGB")
        w, h = image.size
        scale = 256 / min(w, h)
        image = image.resize((max(256, round(w * scale)), max(256, round(h * scale))), Image.BILINEAR)
        w, h = image.size
        left, top = (w - 224) // 2, (h - 224) // 2
        image = image.crop((left, top, left + 224, top + 224))
        array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - MEAN) / STD
    return np.ascontiguousarray(array.transpose(2, 0, 1)[np.newaxis])


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def handler(event):
    global session, labels
    bucket = event["bucket"]["bucket"]
    model_prefix = event["bucket"]["model"]
    input_prefix = event["bucket"]["input"]
    model_key = event["object"]["model"]
    image_key = event["object"]["input"]
    tmp = os.environ.get("TMPDIR", "/tmp")

    image_path = os.path.join(tmp, "image-" + os.path.basename(image_key))
    download_begin = datetime.datetime.now()
    client.download(bucket, os.path.join(input_prefix, image_key), image_path)
    download_end = datetime.datetime.now()

    model_download_time = 0.0
    model_process_time = 0.0
    if session is None:
        model_path = os.path.join(tmp, os.path.basename(model_key))
        model_download_begin = datetime.datetime.now()
        client.download(bucket, os.path.join(model_prefix, model_key), model_path)
        labels_key = event["object"].get("labels")
        if labels_key:
            labels_path = os.path.join(tmp, "labels.json")
            client.download(bucket, os.path.join(model_prefix, labels_key), labels_path)
            with open(labels_path) as f:
                labels = json.load(f)
        model_download_end = datetime.datetime.now()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = onnxruntime.InferenceSession(
            model_path, sess_options=options, providers=["CPUExecutionProvider"]
        )
        os.remove(model_path)
        model_process_end = datetime.datetime.now()
        model_download_time = _us(model_download_begin, model_download_end)
        model_process_time = _us(model_download_end, model_process_end)

    process_begin = datetime.datetime.now()
    batch = preprocess(image_path)
    os.remove(image_path)
    name = session.get_inputs()[0].name
    logits = session.run(None, {name: batch})[0][0]
    probabilities = softmax(logits.astype(np.float64))
    top5 = np.argsort(-probabilities, kind="stable")[:5]
    idx = int(top5[0])
    process_end = datetime.datetime.now()

    label = labels.get(str(idx), [None, str(idx)])[1] if isinstance(labels, dict) else str(idx)
    return {
        "result": {
            "idx": idx,
            "class": label,
            "top5": [[int(i), float(probabilities[i])] for i in top5],
            "classes": int(logits.shape[0]),
            "probability_sum": float(probabilities.sum()),
        },
        "measurement": {
            "download_time": _us(download_begin, download_end),
            "compute_time": _us(process_begin, process_end),
            "model_time": model_process_time,
            "model_download_time": model_download_time,
        },
    }
