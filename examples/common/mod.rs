//! What the examples share: a minimal client, so they need no HTTP client crate, and the
//! self-test switch the test suite uses to run them.
#![allow(dead_code)] // each example uses a part

/// Whether the example should check itself and exit (`WARDEN_EXAMPLE_SELF_TEST=1`, as
/// `tests/examples.rs` runs it) rather than serve until stopped.
pub fn self_test() -> bool {
    std::env::var_os("WARDEN_EXAMPLE_SELF_TEST").is_some()
}

/// The address to listen on: `usual`, or a free port when self-testing.
pub fn addr(usual: &'static str) -> &'static str {
    if self_test() { "127.0.0.1:0" } else { usual }
}

/// `GET path` on a fresh connection; returns the whole response.
pub fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    request(addr, path, true)
}

/// `GET path`; with `close`, asks the server to close the connection after answering.
pub fn request(addr: std::net::SocketAddr, path: &str, close: bool) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    let connection = if close { "Connection: close\r\n" } else { "" };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: example\r\n{connection}\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// `POST path` with `body` on a fresh connection; returns the whole response.
pub fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: example\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}
