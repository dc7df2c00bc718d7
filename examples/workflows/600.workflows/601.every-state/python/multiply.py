import time


def handler(event):
    time.sleep(0.02)  # map elements run concurrently
    # A map element with common_params: {"array_element": n, "factor": f}.
    return event["array_element"] * event["factor"]
