//! The HTTP/2 frame reader on arbitrary bytes: never panics, a frame's every prefix is
//! `Partial`, and the bytes a frame takes are what its header says.
#![no_main]

use httparse::Status;
use libfuzzer_sys::fuzz_target;
use warden_reactor::h2::frame::{HEADER_LEN, parse};

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while at < data.len() {
        match parse(&data[at..], 16384) {
            Ok(Status::Complete((_, used))) => {
                let length = u32::from_be_bytes([0, data[at], data[at + 1], data[at + 2]]);
                assert_eq!(used, HEADER_LEN + length as usize);
                for end in [0, used / 2, used - 1] {
                    assert!(matches!(parse(&data[at..at + end], 16384), Ok(Status::Partial)));
                }
                at += used;
            }
            Ok(Status::Partial) | Err(_) => break,
        }
    }
});
