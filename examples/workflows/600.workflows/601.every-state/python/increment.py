def handler(event):
    # A loop element: the bare array element.
    return event + 1
