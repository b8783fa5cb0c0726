//! The whole connection state machine fed arbitrary bytes in arbitrary splits: it never
//! panics, and its answers do not depend on where the bytes were split, nor on whether
//! the connection moved to a fresh one (a worker restart) between any two reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_reactor::testing::Session;
use warden_reactor::{Config, Request, Response};

fn handler(req: &Request<'_>) -> Response {
    match req.path() {
        "/panic" => panic!("fuzz panic"),
        "/bad" => Response::text("x").with_header("X", "a\r\nb"),
        _ => Response::text(format!("{} {} {}", req.method(), req.target(), req.body().len())),
    }
}

fn answer(chunks: &[&[u8]], restarts: u8) -> (Vec<u8>, bool) {
    let mut config = Config::default();
    // Small limits reach the limit paths with small inputs.
    config.max_head = 512;
    config.max_request_line = 256;
    config.max_body = 1024;
    config.read_buffer = 512;
    let mut session = Session::new(config, handler).expect("session");
    for (i, chunk) in chunks.iter().enumerate() {
        session.feed(chunk);
        // Bit i of `restarts`: move the connection after piece i.
        if restarts >> (i % 8) & 1 == 1 {
            session.restart().expect("restart");
        }
    }
    (session.final_output(), session.is_closing())
}

fuzz_target!(|data: &[u8]| {
    // The first bytes choose the split points; the rest is the input.
    let Some((&n, rest)) = data.split_first() else { return };
    let Some((&restarts, rest)) = rest.split_first() else { return };
    let cuts = usize::from(n % 8).min(rest.len());
    let (seeds, input) = rest.split_at(cuts);
    let mut points: Vec<usize> = seeds.iter().map(|&s| usize::from(s) * input.len() / 256).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for p in points {
        chunks.push(&input[at..p]);
        at = p;
    }
    chunks.push(&input[at..]);
    assert_eq!(answer(&chunks, restarts), answer(&[input], 0));
});
