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

/// A one-worker server on a free port writing its access log in `format`.
fn logged(format: AccessLog) -> warden::Builder {
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .access_log(Some(format))
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
    let server = logged(AccessLog::Logfmt)
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
    let server = logged(AccessLog::Common).serve(routes).expect("serve");
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

#[test]
fn fields_a_client_chose_cannot_end_a_field_or_a_line() {
    capture();
    for format in [AccessLog::Common, AccessLog::Logfmt] {
        let server = logged(format).serve(routes).expect("serve");
        let mut client = Client::to(&server);
        let tag = format!("{format:?}").to_lowercase();
        client.send(format!(
            "GET /esc-{tag}/a\"b\\c HTTP/1.1\r\nHost: a\r\nUser-Agent: ev\"il\\ é\r\nX-Request-Id: q\"{tag}\r\n\r\n"
        ));
        assert_eq!(client.reply().expect("reply").status, 404);
        let line = line_with(&format!("/esc-{tag}/"));
        assert!(line.contains(&format!("/esc-{tag}/a\\\"b\\\\c")), "{line}");
        assert!(line.contains("ev\\\"il\\\\ \\xc3\\xa9"), "{line}");
        assert!(line.contains(&format!("id=\"q\\\"{tag}\"")), "{line}");
        // Every quote left in the line is escaped or one of the format's own.
        let unescaped = line
            .char_indices()
            .filter(|&(i, c)| c == '"' && !line[..i].ends_with('\\'))
            .count();
        assert_eq!(unescaped % 2, 0, "quotes pair up: {line}");
        assert!(!line.contains('\r') && !line.contains('\n'), "{line}");
    }
}

#[test]
fn refused_requests_get_their_line_and_their_id_echoed() {
    capture();
    let server = logged(AccessLog::Logfmt)
        .echo_request_id(true)
        .max_body(10)
        .serve(routes)
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("GET /refused HTTP/1.1\r\nHost: a\r\nX-Request-Id: ref-400\r\nBad Header\r\n\r\n");
    let reply = client.reply().expect("400");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-request-id"), Some("ref-400"));
    let line = line_with("id=ref-400");
    assert!(
        line.contains("method=GET target=\"/refused\" status=400 bytes="),
        "{line}"
    );

    let mut client = Client::to(&server);
    client.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nX-Request-Id: ref-413\r\nContent-Length: 11\r\n\r\n",
    );
    let reply = client.reply().expect("413");
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("x-request-id"), Some("ref-413"));
    assert!(line_with("id=ref-413").contains("status=413"));

    // No id sent: one is made, echoed and logged alike.
    let mut client = Client::to(&server);
    client.send("GET /made HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n");
    let reply = client.reply().expect("400");
    let made = reply.header("x-request-id").expect("a made id").to_owned();
    assert!(line_with(&format!("id={made}")).contains("target=\"/made\""));
}

#[test]
fn trace_context_reaches_the_log_and_failures() {
    capture();
    let server = logged(AccessLog::Logfmt)
        .serve(|req: &Request<'_>| match req.path() {
            "/trace/boom" => panic!("boom"),
            _ => Response::text(req.trace_id().unwrap_or("none").to_owned()),
        })
        .expect("serve");
    let failures = server.failures();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let parent = format!("00-{trace}-b7ad6b7169203331-01");
    let mut client = Client::to(&server);
    client.send(format!(
        "GET /trace/ok HTTP/1.1\r\nHost: a\r\ntraceparent: {parent}\r\nX-Request-Id: tr-1\r\n\r\n"
    ));
    assert_eq!(client.reply().expect("reply").text(), trace);
    assert!(line_with("id=tr-1").contains(&format!("trace={trace}")));

    client.send(format!(
        "GET /trace/boom HTTP/1.1\r\nHost: a\r\ntraceparent: {parent}\r\n\r\n"
    ));
    assert_eq!(client.reply().expect("500").status, 500);
    let failure = util::next_failure(&failures);
    assert_eq!(failure.trace_id.as_deref(), Some(trace));
    assert!(failure.to_string().contains(trace), "{failure}");

    // An invalid one (uppercase hex) is ignored, and never echoed into the log.
    client.send("GET /trace/bad HTTP/1.1\r\nHost: a\r\ntraceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\r\nX-Request-Id: tr-2\r\n\r\n");
    assert_eq!(client.reply().expect("reply").text(), "none");
    let line = line_with("id=tr-2");
    assert!(!line.contains("trace=") && !line.contains("0AF7"), "{line}");
}

#[test]
fn a_file_logs_the_bytes_it_sends() {
    capture();
    let dir = std::env::temp_dir().join(format!("warden-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("f.bin");
    std::fs::write(&path, vec![7u8; 12_345]).expect("file");
    let served = path.clone();
    let server = logged(AccessLog::Logfmt)
        .serve(move |req: &Request<'_>| {
            Response::open(req, &served).unwrap_or_else(|_| Response::status_page(404))
        })
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("GET /file HTTP/1.1\r\nHost: a\r\nX-Request-Id: file-1\r\n\r\n");
    assert_eq!(client.reply().expect("file").body.len(), 12_345);
    assert!(line_with("id=file-1").contains("status=200 bytes=12345"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stream_is_logged_when_it_ends_with_its_bytes() {
    use std::io::Write;
    capture();
    let server = logged(AccessLog::Logfmt)
        .serve(|req: &Request<'_>| {
            req.stream_blocking(Response::new(200), |_, body| {
                for _ in 0..3 {
                    body.write_all(&[b'x'; 1000])?;
                    body.flush()?;
                }
                Ok(())
            })
        })
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("GET /streamed HTTP/1.1\r\nHost: a\r\nX-Request-Id: st-1\r\n\r\n");
    assert_eq!(client.reply().expect("the stream").body.len(), 3000);
    let line = line_with("id=st-1");
    let bytes: u64 = line
        .split(' ')
        .find_map(|f| f.strip_prefix("bytes="))
        .and_then(|b| b.parse().ok())
        .expect("a bytes field");
    // The body, and its chunk framing (as nginx's $body_bytes_sent counts it).
    assert!((3000..3100).contains(&bytes), "{line}");
    assert!(line.contains("status=200"), "{line}");
}
