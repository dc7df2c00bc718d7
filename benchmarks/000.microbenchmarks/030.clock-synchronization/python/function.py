"""030.clock-synchronization: UDP clock synchronisation with the driver's echo server."""
import csv
import os
import socket
import tempfile
import time

from . import storage

MAX_EXCHANGES = 1000
TIMEOUT_S = 4.0
MAX_CONSECUTIVE_FAILURES = 7


def _settings(event):
    address = event.get("server-address")
    port = event.get("server-port")
    if not address or not port:
        raise ValueError(
            "030.clock-synchronization needs `server-address` and `server-port` of a UDP echo "
            "server in the event; it is driven by the invocation-overhead experiment"
        )
    return address, int(port), int(event.get("repetitions", 20))


def synchronise(address, port, repetitions):
    """Exchange datagrams until `repetitions` consecutive round trips are not below the minimum.

    Returns (rows, completed): rows are (id, client_send, client_rcv), id 0 (warm-up) excluded.
    """
    rows = []
    failures = 0
    not_smaller = 0
    minimum = 0.0
    completed = False
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT_S)
    try:
        for i in range(MAX_EXCHANGES):
            message = str(i).encode()
            try:
                send = time.time()
                sock.sendto(message, (address, port))
                while True:
                    reply, _ = sock.recvfrom(1024)
                    if reply == message:
                        break  # a late echo of an earlier, timed-out datagram is skipped
                rcv = time.time()
            except socket.timeout:
                failures += 1
                if failures == MAX_CONSECUTIVE_FAILURES:
                    break
                continue
            failures = 0
            if i > 0:
                rows.append((i, send, rcv))
            rtt = rcv - send
            if minimum > 0 and rtt > minimum:
                not_smaller += 1
                if not_smaller == repetitions:
                    completed = True
                    break
            else:
                minimum = rtt
                not_smaller = 0
        sock.sendto(b"stop", (address, port))
    finally:
        sock.close()
    return rows, completed


def handler(event):
    address, port, repetitions = _settings(event)
    rows, completed = synchronise(address, port, repetitions)
    if not rows:
        raise RuntimeError(
            "no datagram came back from %s:%d; is the driver's UDP server reachable from the "
            "function?" % (address, port)
        )
    request_id = event.get("request-id", "unknown")
    key = None
    bucket = event.get("bucket") or {}
    if bucket.get("bucket") and rows:
        path = os.path.join(tempfile.gettempdir(), "clock-sync-%s.csv" % request_id)
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "client_send", "client_rcv"])
            writer.writerows(rows)
        client = storage.storage.get_instance()
        key = client.upload(
            bucket["bucket"],
            os.path.join(bucket.get("output", ""), "results-%s.csv" % request_id),
            path,
        )
        os.remove(path)
    return {
        "result": {
            "bucket-key": key,
            # When the invocation reached the function (injected by the wrapper).
            "timestamp": event.get("income-timestamp"),
            "completed": completed,
            "measurements": [list(r) for r in rows],
        }
    }
