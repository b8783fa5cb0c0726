//! Micro-benchmarks of the per-request work: parsing heads, decoding chunked bodies,
//! encoding responses. `cargo bench --bench codec`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden_reactor::bench::{Encoder, decode_chunked, parse_heads};
use warden_reactor::{Config, Response};

const SHORT_GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A request as TechEmpower's benchmark client and browsers send it.
const BROWSER_GET: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
Host: tfb-server:8080\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20130501 Firefox/30.0 AppleWebKit/600.00 Chrome/30.0.0000.0 Trident/10.0 Safari/600.00\r\n\
Cookie: uid=12345678901234567890; __utma=1.1234567890.1234567890.1234567890.1234567890.12; wd=2560x1600\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Connection: keep-alive\r\n\r\n";

fn parsing(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("short GET", |b| {
        b.iter(|| parse_heads(black_box(SHORT_GET), &config))
    });
    group.bench_function("browser GET", |b| {
        b.iter(|| parse_heads(black_box(BROWSER_GET), &config))
    });
    let pipelined = SHORT_GET.repeat(16);
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 pipelined GETs", |b| {
        b.iter(|| assert_eq!(parse_heads(black_box(&pipelined), &config), 16));
    });
    group.finish();
}

fn chunked(c: &mut Criterion) {
    let mut encoded = Vec::new();
    for _ in 0..64 {
        encoded.extend_from_slice(b"400\r\n");
        encoded.extend(std::iter::repeat_n(b'x', 0x400));
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"0\r\n\r\n");
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("64 chunks of 1 KiB", |b| {
        b.iter_batched_ref(
            || encoded.clone(),
            |buf| assert_eq!(decode_chunked(black_box(buf)), 64 * 1024),
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let encoder = Encoder::default();
    let plaintext = Response::bytes("text/plain", &b"Hello, World!"[..]);
    let json = Response::json(r#"{"message":"Hello, World!"}"#);
    let custom = Response::text("created")
        .with_status(201)
        .with_header("Location", "/items/7");
    let mut out = Vec::with_capacity(4096);
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for (name, response) in [
        ("plaintext", &plaintext),
        ("json", &json),
        ("201 with a header", &custom),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                encoder.encode(black_box(response), &mut out);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, chunked, encoding);
criterion_main!(benches);
