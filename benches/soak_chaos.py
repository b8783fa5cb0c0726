#!/usr/bin/env python3
"""The misbehaving clients of benches/soak.sh, until stdin closes or DURATION seconds pass:
malformed requests, clients that leave mid-request or mid-response, slow partial heads,
and now and then a worker crash (/fault/crash, spaced under the restart intensity)."""
import random
import socket
import sys
import time

host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(42)
MALFORMED = [
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
]
counts = {"malformed": 0, "aborted": 0, "reset": 0, "crash": 0}
end = time.time() + duration
next_crash = time.time() + 2.0
while time.time() < end:
    try:
        s = socket.create_connection((host, port), timeout=5)
        kind = rng.random()
        if time.time() >= next_crash:
            s.sendall(b"GET /fault/crash HTTP/1.1\r\nHost: a\r\n\r\n")
            s.recv(4096)
            counts["crash"] += 1
            next_crash = time.time() + 2.0  # 5 per 10 s: under the default intensity
        elif kind < 0.5:
            s.sendall(rng.choice(MALFORMED))
            s.recv(4096)
            counts["malformed"] += 1
        elif kind < 0.8:
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHo")  # leaves mid-request
            counts["aborted"] += 1
        else:
            s.sendall(b"GET /json HTTP/1.1\r\nHost: a\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            counts["reset"] += 1  # resets before reading its response
        s.close()
    except OSError:
        pass
print(" ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
