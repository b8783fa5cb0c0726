#!/usr/bin/env python3
"""Opens N Server-Sent Events streams to HOST:PORT (GET /events?n=E&ms=M), reads every
stream until it ends, and reports when the first event has arrived on all of them
("ready": the moment to measure the server's memory) and, for each later event, how far
apart its arrival on the first and the last stream was (the fan-out spread).

Used by streaming.sh to measure what an idle event stream costs the server and how one
ticker thread fans events out to all of them."""
import selectors
import socket
import sys
import time

host, port, count, events, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
request = f"GET /events?n={events}&ms={ms} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
sel = selectors.DefaultSelector()
state = {}
for i in range(count):
    s = socket.create_connection((host, port))
    s.sendall(request)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    state[i] = [b"", 0]  # buffer, events seen
arrivals = {}  # event number -> [first, last] arrival times
done = 0
ready_said = False
start = time.monotonic()
while done < count:
    for key, _ in sel.select(timeout=60):
        s = key.fileobj
        data = s.recv(65536)
        st = state[key.data]
        if not data:
            sel.unregister(s)
            s.close()
            done += 1
            continue
        st[0] += data
        while b"\ndata: " in st[0] and b"\n\n" in st[0].split(b"\ndata: ", 1)[1]:
            head, rest = st[0].split(b"\ndata: ", 1)
            _, rest = rest.split(b"\n\n", 1)
            st[0] = rest
            st[1] += 1
            now = time.monotonic()
            first_last = arrivals.setdefault(st[1], [now, now])
            first_last[1] = now
        if b"0\r\n\r\n" in st[0]:  # the last chunk: the stream ended
            sel.unregister(s)
            s.close()
            done += 1
    if not ready_said and sum(1 for st in state.values() if st[1] >= 1) == count:
        ready_said = True
        print(f"ready: {count} streams open, first event on each after {time.monotonic() - start:.2f} s", flush=True)
        sys.stdin.readline()  # the caller measures, then lets us go on
for n in sorted(arrivals):
    first, last = arrivals[n]
    print(f"event {n}: on all {count} streams within {1000 * (last - first):.1f} ms", flush=True)
