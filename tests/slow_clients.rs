//! Slow and greedy clients: dripping heads are cut at the header timeout while everyone
//! else is served; a flood beyond the connection limit waits in the backlog and is served.
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use util::{Client, PATIENCE, server_with};

#[test]
fn hundreds_of_dripping_clients_are_cut_while_others_are_served() {
    let server = server_with(|b| b.header_timeout(Duration::from_millis(300)));
    let addr = server.local_addrs()[0];
    let head = b"GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Slow: ";
    let mut drippers: Vec<(TcpStream, Option<Vec<u8>>)> = (0..200)
        .map(|_| {
            let s = TcpStream::connect(addr).expect("connect");
            s.set_nonblocking(true).expect("nonblocking");
            (s, None)
        })
        .collect();

    let mut steady = Client::to(&server);
    let start = std::time::Instant::now();
    let mut sent = 0usize;
    while drippers.iter().any(|(_, answer)| answer.is_none()) {
        assert!(start.elapsed() < PATIENCE * 2, "drippers were never cut");
        // One more byte from each dripper still waiting: never a complete head.
        let byte = [head.get(sent).copied().unwrap_or(b'x')];
        sent += 1;
        for (stream, answer) in &mut drippers {
            if answer.is_some() {
                continue;
            }
            let _ = stream.write(&byte);
            let mut buf = [0u8; 512];
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => *answer = Some(buf[..n].to_vec()),
                Ok(_) => *answer = Some(Vec::new()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => *answer = Some(Vec::new()),
            }
        }
        // Meanwhile an ordinary client is served as usual.
        assert_eq!(steady.get_status("/plaintext"), 200);
        std::thread::sleep(Duration::from_millis(10));
    }
    for (_, answer) in &drippers {
        let answer = answer.as_deref().expect("answered");
        assert!(
            answer.starts_with(b"HTTP/1.1 408 "),
            "{:?}",
            String::from_utf8_lossy(answer)
        );
    }
}

#[test]
fn a_flood_beyond_the_connection_limit_waits_and_is_served() {
    let server = server_with(|b| b.max_connections(20).workers(2));
    let mut clients: Vec<Client> = (0..300).map(|_| Client::to(&server)).collect();
    for client in &mut clients {
        client.send("GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    }
    for client in &mut clients {
        assert_eq!(client.reply().expect("served in turn").status, 200);
    }
    util::eventually("all counted", || server.stats().accepted == 300);
}
