//! The connection state machine answers the same bytes the same way however they are
//! split: property-tested on every run (the fuzzers in `fuzz/` go further).
use proptest::prelude::*;
use warden_reactor::testing::Session;
use warden_reactor::{Config, Request, Response};

fn handler(req: &Request<'_>) -> Response {
    match req.path() {
        "/panic" => panic!("property-test panic"),
        "/bad" => Response::text("x").with_header("X", "a\r\nb"),
        _ => Response::text(format!(
            "{} {} {}",
            req.method(),
            req.target(),
            req.body().len()
        )),
    }
}

/// Pieces of input a client might send: valid requests of every framing, and each kind
/// of malformed one.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
        Just(b"GET /q?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_vec()),
        Just(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".to_vec()),
        Just(b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n".to_vec()),
        Just(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
        Just(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
        Just(b"GET /bad HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
        Just(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok".to_vec()),
        Just(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec()),
        Just(b"GET / HTTP/2.0\r\n\r\n".to_vec()),
        Just(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn answer(chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    answer_restarting(chunks, false)
}

/// With `restart`, the connection moves to a fresh one between any two pieces, as when
/// its worker is restarted.
fn answer_restarting(chunks: &[&[u8]], restart: bool) -> (Vec<u8>, bool) {
    let mut session = Session::new(Config::default(), handler).expect("session");
    for chunk in chunks {
        session.feed(chunk);
        if restart {
            session.restart().expect("restart");
        }
    }
    (session.final_output(), session.is_closing())
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn any_split_gives_the_same_answers(
        fragments in proptest::collection::vec(fragment(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let input: Vec<u8> = fragments.concat();
        let whole = answer(&[&input]);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut chunks = Vec::new();
        let mut at = 0;
        for p in points {
            chunks.push(&input[at..p]);
            at = p;
        }
        chunks.push(&input[at..]);
        prop_assert_eq!(answer(&chunks), whole.clone());
        // A restart between any two reads loses nothing either.
        prop_assert_eq!(answer_restarting(&chunks, true), whole);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_answers(fragments in proptest::collection::vec(fragment(), 1..5)) {
        let input: Vec<u8> = fragments.concat();
        let whole = answer(&[&input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(answer(&bytes), whole);
    }
}
