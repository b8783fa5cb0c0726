//! The HPACK decoder on arbitrary blocks: never panics, never keeps more than its bounds
//! (the decoded list, the dynamic table), and what the encoder writes decodes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_reactor::h2::hpack::decode::{Decoded, Decoder, Fields};
use warden_reactor::h2::hpack::encode;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(4096);
    let mut fields = Fields::default();
    // Two blocks from one input: the table carries from the first to the second.
    let (first, second) = data.split_at(data.len() / 2);
    for block in [first, second] {
        if let Ok(decoded) = decoder.decode(block, &mut fields) {
            assert!(decoder.table_size() <= 4096);
            let listed: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
            assert!(listed <= decoder.max_list_size || decoded == Decoded::TooLarge);
            let mut again = Vec::new();
            for (name, value) in fields.iter() {
                encode::field(name, value, &mut again);
            }
            let mut back = Fields::default();
            let mut fresh = Decoder::new(4096);
            fresh.decode(&again, &mut back).expect("what the encoder writes decodes");
            assert!(back.iter().eq(fields.iter()));
        }
    }
});
