#!/usr/bin/env python3
"""One established TLS keep-alive connection sending GET /plaintext one after another for
SECONDS, each timed; prints how many were answered and their latency (p50, p99, max, in
ms). Used by tls.sh to see what a handshake storm on the same server does to a client that
is already connected."""
import socket
import ssl
import sys
import time

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["http/1.1"])
s = context.wrap_socket(socket.create_connection((host, port)), server_hostname="localhost")
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n"


def ask():
    s.sendall(request)
    got = b""
    while not got.endswith(b"Hello, World!"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("the probe's connection closed")
        got += chunk


ask()
# Ready: the storm may start.
print("ready", flush=True)
sys.stdin.readline()
latencies = []
end = time.monotonic() + seconds
while time.monotonic() < end:
    start = time.perf_counter()
    ask()
    latencies.append((time.perf_counter() - start) * 1000)
    # About a thousand requests a second: a steady client, not a second load.
    time.sleep(0.001)
latencies.sort()
n = len(latencies)
print(f"{n} {latencies[n // 2]:.2f} {latencies[int(n * 0.99)]:.2f} {latencies[-1]:.2f}")
