#!/usr/bin/env python3
"""Slow subscribers hold nobody back: opens STALLED event streams that never read (a 4 KiB
receive buffer, events as fast as the server makes them, so they block at once) and
READERS event streams that read (E events M ms apart), on HOST:PORT's GET /events. For
each reader, event k is due at its first event's arrival plus (k-1) M ms; prints how late
the readers' events arrived (max and p99) and whether every reader got every event.

    python3 benches/sse_stalled.py HOST PORT STALLED READERS E M"""
import selectors
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
stalled_n, readers_n, events, ms = (int(a) for a in sys.argv[3:7])
stalled = []
for _ in range(stalled_n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.sendall(b"GET /events?n=1000000&ms=0 HTTP/1.1\r\nHost: bench\r\n\r\n")
    stalled.append(s)  # never read
time.sleep(1)  # the stalled streams fill their buffers and block
sel = selectors.DefaultSelector()
state = {}
request = f"GET /events?n={events}&ms={ms} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
for i in range(readers_n):
    s = socket.create_connection((host, port))
    s.sendall(request)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    state[i] = {"buf": b"", "seen": 0, "first": None}
late = []
done = 0
deadline = time.monotonic() + events * ms / 1000 + 30
while done < readers_n and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        s, st = key.fileobj, state[key.data]
        data = s.recv(65536)
        if not data:
            sel.unregister(s)
            done += 1
            continue
        st["buf"] += data
        now = time.monotonic()
        while b"\ndata: " in st["buf"] and b"\n\n" in st["buf"].split(b"\ndata: ", 1)[1]:
            _, rest = st["buf"].split(b"\ndata: ", 1)
            _, st["buf"] = rest.split(b"\n\n", 1)
            st["seen"] += 1
            if st["first"] is None:
                st["first"] = now
            due = st["first"] + (st["seen"] - 1) * ms / 1000
            late.append(max(0.0, now - due))
        if b"0\r\n\r\n" in st["buf"]:
            sel.unregister(s)
            done += 1
complete = sum(1 for st in state.values() if st["seen"] == events)
late.sort()
if not late:
    print(f"{stalled_n} stalled streams, {readers_n} readers x {events} events every {ms} ms: "
          f"no reader got any event within {events * ms / 1000 + 30:.0f} s")
    sys.exit(0)
p99 = late[int(len(late) * 0.99) - 1] if late else float("nan")
print(f"{stalled_n} stalled streams, {readers_n} readers x {events} events every {ms} ms: "
      f"{complete} readers got every event; lateness max {1000 * late[-1]:.1f} ms, "
      f"p99 {1000 * p99:.1f} ms ({len(late)} events)")
for s in stalled:
    s.close()
