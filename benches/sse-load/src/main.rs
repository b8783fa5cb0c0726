//! Load for warden's broadcast benchmarks, on one mio poll (one thread keeps up with
//! tens of thousands of streams, which a Python loop does not).
//!
//! ```text
//! sse-load subscribe ADDRS COUNT TOPIC EVENTS   # COUNT subscribers; report EVENTS events
//! sse-load idle ADDRS COUNT                      # COUNT keep-alive connections, idle
//! sse-load publish ADDR TOPIC RATE SECONDS      # RATE events a second, stamped
//! ```
//!
//! ADDRS is a comma-separated list of server addresses; connections go to them in turn.
//! `subscribe` and `idle` print `ready: ...` once every connection is in place and then
//! wait for a line on stdin (the caller measures memory meanwhile). `subscribe` then reads
//! EVENTS events on every stream and prints, per event, on how many streams it arrived
//! and the largest delay from its publication (the event's data is the publisher's
//! wall-clock time in nanoseconds), then the p50, p99 and max of every delay and how many
//! were missing.

use std::io::{self, BufRead, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || io::Error::new(io::ErrorKind::InvalidInput, "see the usage in the source");
    match args.first().map(String::as_str) {
        Some("subscribe") if args.len() == 5 => {
            let count = args[2].parse().map_err(|_| usage())?;
            let events = args[4].parse().map_err(|_| usage())?;
            subscribe(&addrs(&args[1])?, count, &args[3], events)
        }
        Some("idle") if args.len() == 3 => {
            let count = args[2].parse().map_err(|_| usage())?;
            idle(&addrs(&args[1])?, count)
        }
        Some("publish") if args.len() == 5 => {
            let addr = args[1].parse().map_err(|_| usage())?;
            let rate: u64 = args[3].parse().map_err(|_| usage())?;
            let seconds: u64 = args[4].parse().map_err(|_| usage())?;
            publish(addr, &args[2], rate, seconds)
        }
        _ => Err(usage()),
    }
}

fn addrs(list: &str) -> io::Result<Vec<SocketAddr>> {
    list.split(',')
        .map(|a| {
            a.parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an address"))
        })
        .collect()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// One connection and what was read of it that is not yet understood.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    /// The response head has been read.
    head: bool,
    /// The id of the last event seen (0: none).
    last_id: u64,
}

/// Opens `count` connections spread over `addrs`, sends `request` on each, and polls until
/// each has its response head (`ready`). Returns the poll and the connections.
fn open(addrs: &[SocketAddr], count: usize, request: &[u8]) -> io::Result<(Poll, Vec<Conn>)> {
    let mut poll = Poll::new()?;
    let mut conns: Vec<Conn> = Vec::with_capacity(count);
    let mut events = Events::with_capacity(4096);
    let started = Instant::now();
    let mut sent = vec![false; count];
    let mut ready = 0;
    // Readiness is edge-triggered: every event is handled, whenever it is polled.
    let mut handle = |events: &Events, conns: &mut Vec<Conn>, ready: &mut usize| -> io::Result<()> {
        for event in events.iter() {
            let i = event.token().0;
            let conn = &mut conns[i];
            if event.is_writable() && !sent[i] && conn.stream.write_all(request).is_ok() {
                sent[i] = true;
            }
            if event.is_readable() && !conn.head {
                read_into(conn)?;
                if let Some(end) = find(&conn.pending, b"\r\n\r\n") {
                    conn.pending.drain(..end + 4);
                    conn.head = true;
                    *ready += 1;
                }
            }
        }
        Ok(())
    };
    for i in 0..count {
        let mut stream = TcpStream::connect(addrs[i % addrs.len()])?;
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)?;
        conns.push(Conn {
            stream,
            pending: Vec::new(),
            head: false,
            last_id: 0,
        });
        // Keep the kernel's accept queue from overflowing: settle every 256.
        if i % 256 == 255 {
            poll.poll(&mut events, Some(Duration::from_millis(1)))?;
            handle(&events, &mut conns, &mut ready)?;
        }
    }
    while ready < count {
        poll.poll(&mut events, Some(Duration::from_secs(30)))?;
        if events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{ready} of {count} ready after 30 s without progress"),
            ));
        }
        handle(&events, &mut conns, &mut ready)?;
    }
    eprintln!(
        "{count} connections ready in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok((poll, conns))
}

fn read_into(conn: &mut Conn) -> io::Result<usize> {
    let mut total = 0;
    let mut buf = [0u8; 16384];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                conn.pending.extend_from_slice(&buf[..n]);
                total += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The decimal number after `key` in `text`, if any.
fn number_after(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(text, key)? + key.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    let mut any = false;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn wait_for_go(what: &str) -> io::Result<()> {
    println!("ready: {what}");
    io::stdout().flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(())
}

fn idle(addrs: &[SocketAddr], count: usize) -> io::Result<()> {
    let (_poll, _conns) = open(addrs, count, b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n")?;
    wait_for_go(&format!("{count} idle keep-alive connections"))
}

fn subscribe(addrs: &[SocketAddr], count: usize, topic: &str, events: u64) -> io::Result<()> {
    let request = format!("GET /topics/{topic} HTTP/1.1\r\nHost: bench\r\n\r\n");
    let (mut poll, mut conns) = open(addrs, count, request.as_bytes())?;
    wait_for_go(&format!("{count} subscribers of {topic}"))?;
    // Per event id (1-based): streams it reached, and its largest delay.
    let mut reached = vec![0usize; events as usize + 1];
    let mut worst = vec![0u64; events as usize + 1];
    let mut delays: Vec<u64> = Vec::with_capacity(count * events as usize);
    let mut done = conns.iter().filter(|c| c.last_id >= events).count();
    let mut repeated = 0u64;
    let mut poll_events = Events::with_capacity(4096);
    let mut quiet = Instant::now();
    while done < count && quiet.elapsed() < Duration::from_secs(10) {
        poll.poll(&mut poll_events, Some(Duration::from_millis(200)))?;
        for event in poll_events.iter() {
            let conn = &mut conns[event.token().0];
            if read_into(conn)? > 0 {
                quiet = Instant::now();
            }
            let arrived = now_ns();
            // Events are `id: N\ndata: TS\n\n` inside chunks: read the pairs, in place.
            let mut from = 0;
            while let Some(at) = find(&conn.pending[from..], b"\n\n") {
                let text = &conn.pending[from..from + at];
                from += at + 2;
                // An id is `N`, or `EPOCH:N` from a hub with a broker.
                let id = match find(text, b"id: ") {
                    Some(at) => {
                        let line = &text[at..];
                        let line = &line[..find(line, b"\n").unwrap_or(line.len())];
                        let value = &line[4..];
                        match find(value, b":") {
                            Some(colon) => number_after(&value[colon..], b":"),
                            None => number_after(line, b"id: "),
                        }
                    }
                    None => None,
                };
                let (Some(id), Some(stamp)) = (id, number_after(text, b"data: "))
                else {
                    continue; // a keep-alive comment
                };
                if id <= conn.last_id {
                    // Seen already, or out of order: never expected.
                    repeated += 1;
                    continue;
                }
                if id <= events {
                    conn.last_id = id;
                    let delay = arrived.saturating_sub(stamp);
                    reached[id as usize] += 1;
                    worst[id as usize] = worst[id as usize].max(delay);
                    delays.push(delay);
                    if id == events {
                        done += 1;
                    }
                }
            }
            conn.pending.drain(..from);
        }
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    for id in 1..=events as usize {
        if events <= 20 || reached[id] < count {
            println!(
                "event {id}: on {} of {count} streams, the last {:.1} ms after its publication",
                reached[id],
                ms(worst[id])
            );
        }
    }
    delays.sort_unstable();
    let at = |q: f64| delays.get(((delays.len() as f64 * q) as usize).min(delays.len().saturating_sub(1)));
    let missing = count * events as usize - delays.len();
    println!(
        "{} deliveries of {events} events to {count} streams: {missing} missing, {repeated} repeated or out of order; delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        delays.len(),
        at(0.5).map_or(f64::NAN, |&d| ms(d)),
        at(0.99).map_or(f64::NAN, |&d| ms(d)),
        delays.last().map_or(f64::NAN, |&d| ms(d)),
    );
    Ok(())
}

/// Publishes `rate` events a second for `seconds`, each stamped with the wall-clock time,
/// over one keep-alive connection (blocking: one at a time, each answered 202).
fn publish(addr: SocketAddr, topic: &str, rate: u64, seconds: u64) -> io::Result<()> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let start = Instant::now();
    let total = rate * seconds;
    let mut buf = [0u8; 1024];
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate.max(1));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let body = now_ns().to_string();
        write!(
            stream,
            "POST /topics/{topic} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        // The answer: a head with Content-Length, then that many bytes.
        let mut answer = Vec::new();
        let whole = loop {
            if let Some(h) = find(&answer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..h]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if answer.len() >= h + 4 + length {
                    break h + 4 + length;
                }
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            answer.extend_from_slice(&buf[..n]);
        };
        answer.truncate(whole);
        if !answer.starts_with(b"HTTP/1.1 202") {
            return Err(io::Error::other(String::from_utf8_lossy(&answer).into_owned()));
        }
    }
    eprintln!(
        "published {total} events in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
