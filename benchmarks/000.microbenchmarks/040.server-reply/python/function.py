"""040.server-reply: connect to the driver's TCP server and return what it says."""
import socket


def handler(event):
    address = event.get("ip-address")
    port = event.get("port")
    if not address or not port:
        raise ValueError(
            "040.server-reply needs `ip-address` and `port` of a TCP server in the event; "
            "it is driven by the eviction-model experiment"
        )
    with socket.create_connection((address, int(port)), timeout=10) as conn:
        chunks = []
        while True:
            data = conn.recv(1024)
            if not data:
                break
            chunks.append(data)
    return {"result": b"".join(chunks).decode()}
