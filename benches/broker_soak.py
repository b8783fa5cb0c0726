#!/usr/bin/env python3
"""Broker soak: ROUNDS times, kill a warden server with SIGKILL and restart Redis (AOF,
appendfsync always) with SIGKILL too, while SUBS subscribers per server follow one topic
and a publisher posts through both servers. Subscribers cut off reconnect to the other
server with their Last-Event-ID. At the end every subscriber must hold every published
event once, in order (one epoch: the AOF kept it), no reset, and each reconnection must
have succeeded within 3 s.

    python3 benches/broker_soak.py            # ROUNDS=20 SUBS=10 RATE=50
Run from the repository after `cargo build --release -p warden-server`.
"""
import os, signal, socket, subprocess, sys, tempfile, threading, time

ROUNDS = int(os.environ.get("ROUNDS", 20))
SUBS = int(os.environ.get("SUBS", 10))
RATE = int(os.environ.get("RATE", 50))
BIN = os.environ.get("WARDEN", "target/release/warden")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


REDIS_PORT = free_port()
WORK = tempfile.mkdtemp()
PORTS = [free_port(), free_port()]


def start_redis():
    p = subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                          "--dir", WORK], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", REDIS_PORT), 0.2).close()
            return p
        except OSError:
            time.sleep(0.02)


def start_node(port):
    p = subprocess.Popen([BIN, "--addr", f"127.0.0.1:{port}", "--workers", "1",
                          "--broker", f"redis://127.0.0.1:{REDIS_PORT}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "RUST_LOG": "error"})
    return p


def request(port, raw, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout)
    s.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s, data


def post(port, body):
    try:
        s, data = request(port, (f"POST /topics/soak HTTP/1.1\r\nHost: a\r\nContent-Length: "
                                 f"{len(body)}\r\nConnection: close\r\n\r\n{body}").encode())
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        if data.startswith(b"HTTP/1.1 202"):
            return data.split(b"id=")[1].split(b"\n")[0].decode()
    except OSError:
        pass
    return None


published = []  # ids answered 202, in order of answers
stop = threading.Event()
stop_publishing = threading.Event()
refused = [0]  # publishes answered 503 by both servers (taken by neither: not expected)


def publisher():
    i = 0
    while not stop_publishing.is_set():
        i += 1
        port = PORTS[i % 2]
        body = f"e{i}"
        ident = post(port, body) or post(PORTS[(i + 1) % 2], body)
        if ident:
            published.append((ident, body))
        else:
            refused[0] += 1
        time.sleep(1 / RATE)


class Subscriber(threading.Thread):
    def __init__(self, home):
        super().__init__(daemon=True)
        self.port = home
        self.events = []  # (id, data)
        self.resets = 0
        self.gaps = []  # seconds from a cut to the next 200

    def run(self):
        last = None
        cut_at = None
        while not stop.is_set():
            header = f"Last-Event-ID: {last}\r\n" if last else ""
            try:
                s, data = request(self.port, f"GET /topics/soak HTTP/1.1\r\nHost: a\r\n{header}\r\n".encode(), 5)
            except OSError:
                data = b""
                s = None
            if not data.startswith(b"HTTP/1.1 200"):
                if s:
                    s.close()
                self.port = PORTS[0] if self.port == PORTS[1] else PORTS[1]
                cut_at = cut_at or time.time()
                time.sleep(0.05)
                continue
            if cut_at:
                self.gaps.append(time.time() - cut_at)
                cut_at = None
            buf = data.split(b"\r\n\r\n", 1)[1]
            s.settimeout(1.0)
            while not stop.is_set():
                # Chunked: size line, payload, CRLF; parse whole events out of `buf`.
                while True:
                    line_end = buf.find(b"\r\n")
                    if line_end < 0:
                        break
                    size = int(buf[:line_end], 16)
                    if len(buf) < line_end + 2 + size + 2:
                        break
                    text = buf[line_end + 2:line_end + 2 + size].decode()
                    buf = buf[line_end + 4 + size:]
                    if text.startswith(":"):
                        continue
                    fields = dict(l.split(": ", 1) for l in text.strip().split("\n") if ": " in l)
                    if fields.get("event") == "reset":
                        self.resets += 1
                    if "id" in fields:
                        last = fields["id"]
                        self.events.append((last, fields.get("data")))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                buf += chunk
            s.close()
            cut_at = time.time()
            self.port = PORTS[0] if self.port == PORTS[1] else PORTS[1]


def main():
    redis = start_redis()
    nodes = [start_node(p) for p in PORTS]
    time.sleep(1.5)
    subs = [Subscriber(PORTS[i % 2]) for i in range(2 * SUBS)]
    for s in subs:
        s.start()
    time.sleep(1)
    threading.Thread(target=publisher, daemon=True).start()
    for round_ in range(ROUNDS):
        time.sleep(1.5)
        victim = round_ % 2
        nodes[victim].send_signal(signal.SIGKILL)
        nodes[victim].wait()
        redis.send_signal(signal.SIGKILL)
        redis.wait()
        redis = start_redis()
        nodes[victim] = start_node(PORTS[victim])
    time.sleep(2)
    stop_publishing.set()
    time.sleep(3)  # every event published reaches every subscriber meanwhile
    stop.set()
    time.sleep(1.5)
    for n in nodes:
        n.kill()
    redis.kill()
    answered = {int(e[0].split(":")[1]) for e in published}
    epochs = {e[0].split(":")[0] for e in published}
    last = max(answered)
    bad = 0
    worst = 0.0
    unanswered = set()
    for i, s in enumerate(subs):
        numbers = [int(e[0].split(":")[1]) for e in s.events]
        epochs |= {e[0].split(":")[0] for e in s.events}
        # Ids count the topic's events: from a subscriber's first, every number once, in
        # order, with no gap, up to the last published.
        whole = numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers else False
        missing = answered - set(numbers) - set(range(0, numbers[0] if numbers else 0))
        if not whole or missing or s.resets or (numbers and numbers[-1] < last):
            bad += 1
            print(f"subscriber {i}: {len(numbers)} events, in order without gap: {whole}, "
                  f"{len(missing)} answered events missing, {s.resets} resets")
        unanswered |= set(numbers) - answered
        worst = max([worst] + s.gaps)
    print(f"{ROUNDS} rounds (kill -9 of a server, kill -9 and restart of Redis with AOF), "
          f"{len(subs)} subscribers, {len(published)} events published (202; {refused[0]} refused by both servers) "
          f"in epochs {sorted(epochs)}; {len(unanswered)} more were published whose answer never came "
          f"(the server was killed mid-request): delivered too, once, in order; "
          f"{bad} subscribers with a loss, a repeat or a reset; longest time back: {worst:.2f} s")
    sys.exit(1 if bad or len(epochs) != 1 or worst > 3 else 0)


main()
