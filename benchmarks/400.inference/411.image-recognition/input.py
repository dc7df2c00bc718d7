"""Inputs for 411.image-recognition: a ResNet-50 ONNX model and ImageNet-style images.

Prefix 0 holds the model, prefix 1 the images (SeBS's layout). The model is `model/resnet50.onnx`
(real, pretrained weights) when the data directory has one, else the seeded random-weight
`model/resnet50-random.onnx` that `sebs data generate` writes. Every size classifies the first
image of `fake-resnet/val_map.txt`, as in SeBS.
"""
import glob
import hashlib
import os

REAL_MODEL = "resnet50.onnx"
GENERATED_MODEL = "resnet50-random.onnx"
LABELS = "imagenet_class_index.json"
# Top-3 classes of the first image with the generated model, by the model file's MD5
# (sebs data generate, seed 42). Top-3 rather than top-5: lower ranks can be near ties whose
# order depends on the CPU's floating-point kernels.
RECORDED_TOP3 = {
    "f43e117872edd0f88595280acf73c29d": [953, 506, 754],
}


def buckets_count():
    return (2, 0)


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    model_dir = os.path.join(data_dir, "model")
    pretrained = os.path.isfile(os.path.join(model_dir, REAL_MODEL))
    model = REAL_MODEL if pretrained else GENERATED_MODEL
    if not os.path.isfile(os.path.join(model_dir, model)):
        raise FileNotFoundError(
            "%s has neither %s nor %s; run `sebs data generate` or pass --data-dir"
            % (model_dir, REAL_MODEL, GENERATED_MODEL)
        )
    upload_func(0, model, os.path.join(model_dir, model))
    obj = {"model": model}
    if os.path.isfile(os.path.join(model_dir, LABELS)):
        upload_func(0, LABELS, os.path.join(model_dir, LABELS))
        obj["labels"] = LABELS
    images_dir = os.path.join(data_dir, "fake-resnet")
    for path in sorted(glob.glob(os.path.join(images_dir, "*.jpg"))):
        upload_func(1, os.path.basename(path), path)
    with open(os.path.join(images_dir, "val_map.txt")) as f:
        image, expected = f.readline().split()
    obj["input"] = image
    return {
        "object": obj,
        "bucket": {"bucket": benchmarks_bucket, "input": input_paths[1], "model": input_paths[0]},
        # For validate_output (the function ignores it).
        "expected": {
            "pretrained": pretrained,
            "idx": int(expected),
            "model_md5": _md5(os.path.join(model_dir, model)),
        },
    }


def validate_output(data_dir, input_config, output, language, storage=None):
    result = output["result"]
    if result.get("classes") != 1000:
        return "the model produced %r scores; ResNet-50 has 1000 classes" % result.get("classes")
    total = result.get("probability_sum")
    if not isinstance(total, float) or abs(total - 1.0) > 1e-4:
        return "class probabilities sum to %r, not 1" % (total,)
    top5 = result.get("top5") or []
    if len(top5) != 5 or len({i for i, _ in top5}) != 5 or not all(0 <= i < 1000 for i, _ in top5):
        return "top5 is %r; expected 5 distinct class indices" % (top5,)
    probs = [p for _, p in top5]
    if probs != sorted(probs, reverse=True):
        return "top5 probabilities %r are not in decreasing order" % probs
    if result.get("idx") != top5[0][0]:
        return "idx %r is not the top-1 class %r" % (result.get("idx"), top5[0][0])
    expected = input_config["expected"]
    if expected["pretrained"]:
        if result["idx"] != expected["idx"]:
            return "classified %s as %r (%s); val_map.txt says %d" % (
                input_config["object"]["input"], result["idx"], result.get("class"), expected["idx"]
            )
        return None
    recorded = RECORDED_TOP3.get(expected["model_md5"])
    if recorded is not None and [i for i, _ in top5[:3]] != recorded:
        return "top-3 classes %r differ from the recorded %r for this model (MD5 %s)" % (
            [i for i, _ in top5[:3]], recorded, expected["model_md5"]
        )
    return None
