//! The chunked decoder on arbitrary bytes: never panics, never writes past what it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_reactor::bench::decode_chunked;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let decoded = decode_chunked(&mut buf);
    assert!(decoded <= data.len());
});
