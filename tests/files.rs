//! Files as responses over sockets: the whole file and its validators, HEAD, conditional
//! requests (304), a single range (206), past the end (416), If-Range, pipelining behind a
//! file, a file larger than every buffer; and the binary's `--static`, with no way out.
mod util;

use std::path::{Path, PathBuf};

use util::{Binary, Client, get};
use warden::{Request, Response, Server, ServerHandle};

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("warden-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dirs");
        }
        std::fs::write(&path, bytes).expect("file written");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server answering `/plain` with text and anything else with the file `dir/<path>`.
fn file_server(dir: &Path) -> ServerHandle {
    let dir = dir.to_path_buf();
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/plain" {
                return Response::text("plain");
            }
            let path = dir.join(req.path().trim_start_matches('/'));
            Response::open(req, path).unwrap_or_else(|_| Response::status_page(404))
        })
        .expect("server starts")
}

fn request(path: &str, headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n")
}

#[test]
fn a_file_with_its_validators_then_the_next_request() {
    let dir = TempDir::new("file");
    dir.write("hello.txt", b"hello, file\n");
    let server = file_server(&dir.0);
    let mut client = Client::to(&server);
    client.send(format!("{}{}", get("/hello.txt"), get("/plain")));
    let reply = client.reply().expect("the file");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello, file\n");
    assert_eq!(reply.header("content-length"), Some("12"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("accept-ranges"), Some("bytes"));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let modified = reply
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    assert!(modified.ends_with(" GMT"), "{modified}");
    // Pipelined behind the file: after it, in order.
    assert_eq!(client.reply().expect("next").text(), "plain");

    // HEAD: the same head, no body; the connection goes on.
    client.send("HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = client.head_reply().expect("head");
    assert_eq!(head.header("content-length"), Some("12"));
    assert_eq!(
        client.send(get("/plain")).reply().expect("next").text(),
        "plain"
    );

    // Conditional: the client's copy is current.
    for condition in [
        format!("If-None-Match: {etag}\r\n"),
        format!("If-None-Match: \"other\", W/{etag}\r\n"),
        "If-None-Match: *\r\n".to_owned(),
        format!("If-Modified-Since: {modified}\r\n"),
    ] {
        let reply = client
            .send(request("/hello.txt", &condition))
            .reply()
            .expect("an answer");
        assert_eq!(reply.status, 304, "{condition}");
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("etag"), Some(etag.as_str()));
    }
    // Not current: the whole file. If-None-Match wins over If-Modified-Since.
    for condition in [
        "If-None-Match: \"other\"\r\n".to_owned(),
        format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}\r\n"),
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n".to_owned(),
        "If-Modified-Since: not a date\r\n".to_owned(),
    ] {
        let reply = client
            .send(request("/hello.txt", &condition))
            .reply()
            .expect("an answer");
        assert_eq!(reply.status, 200, "{condition}");
        assert_eq!(reply.text(), "hello, file\n");
    }
}

#[test]
fn ranges_partial_unsatisfiable_and_if_range() {
    let dir = TempDir::new("ranges");
    let bytes: Vec<u8> = (0..100u8).collect();
    dir.write("r.bin", &bytes);
    let server = file_server(&dir.0);
    let mut client = Client::to(&server);
    let etag = client
        .send(get("/r.bin"))
        .reply()
        .expect("the file")
        .header("etag")
        .expect("an ETag")
        .to_owned();
    for (range, first, last) in [
        ("bytes=0-9", 0, 9),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=50-500", 50, 99),
    ] {
        let reply = client
            .send(request("/r.bin", &format!("Range: {range}\r\n")))
            .reply()
            .expect("an answer");
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes {first}-{last}/100").as_str())
        );
        assert_eq!(reply.body, &bytes[first..=last], "{range}");
    }
    let reply = client
        .send(request("/r.bin", "Range: bytes=100-\r\n"))
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 416);
    assert_eq!(reply.header("content-range"), Some("bytes */100"));
    // Several ranges, or a stale If-Range: the whole file.
    for headers in [
        "Range: bytes=0-1,5-6\r\n".to_owned(),
        "Range: bytes=0-1\r\nIf-Range: \"stale\"\r\n".to_owned(),
    ] {
        let reply = client
            .send(request("/r.bin", &headers))
            .reply()
            .expect("an answer");
        assert_eq!((reply.status, reply.body.len()), (200, 100), "{headers}");
    }
    let reply = client
        .send(request(
            "/r.bin",
            &format!("Range: bytes=0-1\r\nIf-Range: {etag}\r\n"),
        ))
        .reply()
        .expect("an answer");
    assert_eq!((reply.status, reply.body.as_slice()), (206, &bytes[0..2]));
}

#[test]
fn a_file_larger_than_every_buffer_arrives_whole() {
    let dir = TempDir::new("large");
    let bytes: Vec<u8> = (0..24 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    dir.write("big.bin", &bytes);
    let server = file_server(&dir.0);
    let mut client = Client::to(&server);
    // Two in a row, pipelined, with a request between.
    client.send(format!(
        "{}{}{}",
        get("/big.bin"),
        get("/plain"),
        get("/big.bin")
    ));
    assert!(client.reply().expect("first").body == bytes);
    assert_eq!(client.reply().expect("between").text(), "plain");
    assert!(client.reply().expect("second").body == bytes);
}

#[test]
fn the_binary_serves_static_files_and_nothing_outside_their_directory() {
    let dir = TempDir::new("static");
    dir.write("root/index.html", b"<h1>hi</h1>");
    dir.write("root/sub/data.json", b"{}");
    dir.write("secret.txt", b"secret");
    std::os::unix::fs::symlink(dir.0.join("secret.txt"), dir.0.join("root/escape"))
        .expect("symlink");
    let root = dir.0.join("root");
    let server = Binary::start(
        "",
        &["--workers", "1", "--static", root.to_str().expect("utf-8")],
    );
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(get("/static/index.html"))
        .reply()
        .expect("a file");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(reply.text(), "<h1>hi</h1>");
    let reply = client
        .send(get("/static/sub/data.json"))
        .reply()
        .expect("a file");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    for escape in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/sub/%2E%2E/%2E%2E/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/index.html%00.png",
        "/static/escape",
        "/static/sub",
        "/static/",
    ] {
        assert_eq!(client.get_status(escape), 404, "{escape}");
    }
}

#[test]
fn a_fifo_where_a_file_was_expected_never_blocks_the_loop() {
    let dir = TempDir::new("fifo");
    dir.write("root/index.html", b"<h1>hi</h1>");
    let fifo = dir.0.join("root/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo made the FIFO");
    // A FIFO with no writer: opening it for reading the usual way waits for one.
    let library = file_server(&dir.0.join("root"));
    let mut client = Client::to(&library);
    assert_eq!(client.get_status("/pipe"), 404);
    assert_eq!(client.get_status("/plain"), 200, "the loop goes on");
    let root = dir.0.join("root");
    let binary = Binary::start(
        "",
        &["--workers", "1", "--static", root.to_str().expect("utf-8")],
    );
    let mut client = Client::connect(binary.addr);
    assert_eq!(client.get_status("/static/pipe"), 404);
    assert_eq!(
        client.get_status("/static/index.html"),
        200,
        "the loop goes on"
    );
}
