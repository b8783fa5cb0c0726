//! The access log: one line per answered request, in either format, with the request id;
//! failures and deferred answers are logged with what was actually sent.
mod util;

use std::sync::{Mutex, OnceLock};

use util::{Client, get, routes};
use warden::{AccessLog, Request, Response, Server};

/// Every `warden::access` line this test process logs.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "warden::access"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES.lock().expect("lock").push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        log::set_logger(&Capture).expect("the only logger");
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// The captured line that mentions `needle`.
fn line_with(needle: &str) -> String {
    util::eventually(needle, || {
        LINES
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains(needle))
    });
    let lines = LINES.lock().expect("lock");
    lines
        .iter()
        .find(|l| l.contains(needle))
        .cloned()
        .expect("found above")
}

#[test]
fn logfmt_lines_say_who_asked_what_and_what_was_sent() {
    capture();
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .access_log(Some(AccessLog::Logfmt))
        .serve(|req: &Request<'_>| match req.path() {
            "/later" => req.blocking(|_| Response::text("later")),
            "/boom" => panic!("boom"),
            _ => routes(req),
        })
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("GET /plaintext?logfmt HTTP/1.1\r\nHost: a\r\nX-Request-Id: lf-1\r\n\r\n");
    assert_eq!(client.reply().expect("reply").status, 200);
    let line = line_with("id=lf-1");
    let peer = client.stream.local_addr().expect("addr");
    assert!(
        line.starts_with(&format!(
            "peer={peer} method=GET target=\"/plaintext?logfmt\" status=200 bytes=13 us="
        )),
        "{line}"
    );
    assert!(line.contains(" worker=0 conn="), "{line}");

    // A failure: what the policy sent.
    client.send("GET /boom?logfmt HTTP/1.1\r\nHost: a\r\nX-Request-Id: lf-2\r\n\r\n");
    assert_eq!(client.reply().expect("500").status, 500);
    assert!(line_with("id=lf-2").contains("status=500"));

    // A deferred answer, logged when it is sent.
    client.send("GET /later?logfmt HTTP/1.1\r\nHost: a\r\nX-Request-Id: lf-3\r\n\r\n");
    assert_eq!(client.reply().expect("later").text(), "later");
    assert!(line_with("id=lf-3").contains("status=200 bytes=5"));
}

#[test]
fn common_log_format_lines() {
    capture();
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .access_log(Some(AccessLog::Common))
        .serve(routes)
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("HEAD /plaintext?common HTTP/1.1\r\nHost: a\r\nX-Request-Id: cl-1\r\n\r\n");
    assert_eq!(client.head_reply().expect("reply").status, 200);
    let line = line_with("id=cl-1");
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    // A HEAD answer sends no body.
    assert!(
        line.contains("] \"HEAD /plaintext?common HTTP/1.1\" 200 0 "),
        "{line}"
    );
    let _ = client.send(get("/plaintext")).reply();
}

#[test]
fn off_by_default() {
    capture();
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("GET /plaintext?off HTTP/1.1\r\nHost: a\r\nX-Request-Id: off-1\r\n\r\n");
    assert_eq!(client.reply().expect("reply").status, 200);
    assert!(
        !LINES
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains("off-1")),
        "logged although off"
    );
}
