#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one request on each, reads the
response, then holds them all open until stdin closes or a line is read. With a fourth
argument `tls`, each connection is TLS (certificate not checked: a benchmark's own).

Used by idle_memory.sh and tls.sh to measure what an idle keep-alive connection costs the
server."""
import socket
import ssl
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["http/1.1"])
request = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n"
conns = []
for i in range(count):
    s = socket.create_connection((host, port))
    if tls:
        s = context.wrap_socket(s, server_hostname="localhost")
    s.sendall(request)
    got = b""
    while not got.endswith(b"Hello, World!"):
        chunk = s.recv(4096)
        if not chunk:
            sys.exit(f"connection {i} closed early")
        got += chunk
    conns.append(s)
print(f"{count} idle keep-alive connections open", flush=True)
sys.stdin.readline()
