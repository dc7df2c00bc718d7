import time


def handler(event):
    time.sleep(0.01)  # loop elements run one after another: 3 x 10 ms
    # A loop element: the bare array element.
    return event + 1
