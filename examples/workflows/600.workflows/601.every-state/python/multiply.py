def handler(event):
    # A map element with common_params: {"array_element": n, "factor": f}.
    return event["array_element"] * event["factor"]
