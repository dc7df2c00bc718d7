"""Inputs for 110.dynamic-html: render a page with `random_len` random numbers."""
import re

SIZES = {"test": 10, "small": 1000, "large": 100000}


def buckets_count():
    return (0, 0)


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return {"username": "testname", "random_len": SIZES[size]}


def validate_output(data_dir, input_config, output, language, storage=None):
    page = output["result"]
    if not isinstance(page, str):
        return "expected the rendered page as a string, got %s" % type(page).__name__
    greeting = "Welcome %s!" % input_config["username"]
    if greeting not in page:
        return "the page does not greet the user: %r not found" % greeting
    if "Data generated at:" not in page:
        return "the page lacks the generation timestamp ('Data generated at:')"
    items = re.findall(r"<li>\s*(-?\d+)\s*</li>", page)
    if len(items) != input_config["random_len"]:
        return "expected %d <li> items, found %d" % (input_config["random_len"], len(items))
    return None
