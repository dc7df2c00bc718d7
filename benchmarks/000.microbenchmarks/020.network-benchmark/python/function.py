"""020.network-benchmark: UDP ping-pong with the driver's echo server."""
import csv
import os
import socket
import tempfile
import time

from . import storage

FIRST_TIMEOUT_S = 3.0
TIMEOUT_S = 2.0
MAX_CONSECUTIVE_FAILURES = 5


def _settings(event):
    address = event.get("server-address")
    port = event.get("server-port")
    if not address or not port:
        raise ValueError(
            "020.network-benchmark needs `server-address` and `server-port` of a UDP echo "
            "server in the event; it is driven by the network-ping-pong experiment"
        )
    return address, int(port), int(event.get("repetitions", 1000))


def ping_pong(address, port, repetitions):
    """`repetitions` echo round trips after one warm-up exchange (id 0, not recorded).

    Returns (rows, consecutive failures at the end): rows are (id, client_send, client_rcv).
    """
    rows = []
    failures = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(FIRST_TIMEOUT_S)
    try:
        for i in range(repetitions + 1):
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
            sock.settimeout(TIMEOUT_S)
            if i > 0:
                rows.append((i, send, rcv))
        sock.sendto(b"stop", (address, port))
    finally:
        sock.close()
    return rows, failures


def handler(event):
    address, port, repetitions = _settings(event)
    rows, failures = ping_pong(address, port, repetitions)
    if failures == MAX_CONSECUTIVE_FAILURES:
        raise RuntimeError(
            "%d consecutive datagrams to %s:%d were lost after %d round trips; is the driver's "
            "UDP server reachable from the function?" % (failures, address, port, len(rows))
        )
    request_id = event.get("request-id", "unknown")
    key = None
    bucket = event.get("bucket") or {}
    if bucket.get("bucket"):
        path = os.path.join(tempfile.gettempdir(), "ping-pong-%s.csv" % request_id)
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
    return {"result": {"bucket-key": key, "measurements": [list(r) for r in rows]}}
