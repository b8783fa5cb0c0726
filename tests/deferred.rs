//! Deferred answers (`Request::defer`): answered from another thread while the loop serves
//! everyone else; order kept on a pipelined connection; a dropped responder, a missed
//! deadline and a client that leaves are each reported with the request's context.
mod util;

use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::{Client, PATIENCE, eventually, get, next_failure, routes};
use warden::{
    FailureKind, Frame, Request, Responder, Response, Server, ServerHandle, Unanswerable,
};

/// A server whose `/later` requests are deferred: their responders arrive on the returned
/// channel, for the test to answer (or drop) when it decides.
fn deferring_server(
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> (ServerHandle, Receiver<Responder>) {
    let (tx, rx) = mpsc::channel::<Responder>();
    let tx = Mutex::new(tx);
    let builder = Server::builder().bind("127.0.0.1:0").workers(1);
    let server = configure(builder)
        .serve(move |req: &Request<'_>| {
            if req.path() == "/later" {
                let (pending, responder) = req.defer();
                tx.lock()
                    .expect("lock")
                    .send(responder)
                    .expect("test alive");
                return pending;
            }
            routes(req)
        })
        .expect("serve");
    (server, rx)
}

fn next(responders: &Receiver<Responder>) -> Responder {
    responders
        .recv_timeout(PATIENCE)
        .expect("a deferred request")
}

#[test]
fn answered_from_another_thread_while_the_loop_serves_others() {
    let (server, responders) = deferring_server(|b| b);
    let mut waiting = Client::to(&server);
    waiting.send(
        "POST /later?x=1 HTTP/1.1\r\nHost: t\r\nX-Tag: seven\r\nX-Request-Id: r-1\r\nContent-Length: 3\r\n\r\nabc",
    );
    let responder = next(&responders);

    // The one worker's loop is free: another client is served meanwhile.
    let mut other = Client::to(&server);
    assert_eq!(other.get_status("/plaintext"), 200);

    // The owned request carries everything the handler saw.
    let request = responder.request();
    assert_eq!((request.method(), request.path()), ("POST", "/later"));
    assert_eq!(request.query(), Some("x=1"));
    assert_eq!(request.header_str("x-tag"), Some("seven"));
    assert_eq!(request.body(), b"abc");
    assert_eq!(request.request_id(), "r-1");
    assert_eq!(
        request.peer_addr(),
        waiting.stream.local_addr().expect("addr")
    );
    assert!(responder.is_wanted());
    std::thread::spawn(move || {
        let body = format!(
            "answered later: {}",
            String::from_utf8_lossy(responder.request().body())
        );
        responder.send(Response::text(body)).expect("sent");
    })
    .join()
    .expect("answering thread");

    let reply = waiting.reply().expect("the deferred answer");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "answered later: abc")
    );
    // The connection is kept alive and serves on.
    assert_eq!(waiting.get_status("/plaintext"), 200);
    // Published once per loop turn, after the writes.
    eventually("three requests counted", || server.stats().requests == 3);
}

#[test]
fn a_pipelined_request_behind_a_deferred_one_is_answered_after_it() {
    let (server, responders) = deferring_server(|b| b);
    let mut client = Client::to(&server);
    client.send(format!(
        "{}{}{}",
        get("/plaintext"),
        get("/later"),
        get("/json")
    ));
    let responder = next(&responders);
    // The first answer is out; the third waits behind the second.
    let first = client.reply().expect("first");
    assert_eq!(first.text(), "Hello, World!");
    responder
        .send(Response::text("second"))
        .expect("the connection waits for it");
    assert_eq!(client.reply().expect("second").text(), "second");
    assert_eq!(
        client.reply().expect("third").text(),
        r#"{"message":"Hello, World!"}"#
    );
}

#[test]
fn a_dropped_responder_answers_500_and_reports_the_request() {
    let (server, responders) = deferring_server(|b| b);
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/later?drop"));
    drop(next(&responders));
    assert_eq!(client.reply().expect("an answer").status, 500);
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Unanswered);
    assert_eq!(failure.frame, Frame::Request);
    assert_eq!(
        (failure.method.as_deref(), failure.path.as_deref()),
        (Some("GET"), Some("/later"))
    );
    assert_eq!(
        failure.peer,
        Some(client.stream.local_addr().expect("addr"))
    );
    // The request frame's default keeps the connection.
    assert_eq!(client.get_status("/plaintext"), 200);
}

#[test]
fn past_the_handler_deadline_the_client_gets_503_and_a_hung_failure() {
    let (server, responders) =
        deferring_server(|b| b.handler_deadline(Some(Duration::from_millis(100))));
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/later?never"));
    let responder = next(&responders);
    assert_eq!(client.reply().expect("503").status, 503);
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Hung);
    // Hung in the request frame: the worker is fine, it is not restarted.
    assert_eq!(failure.frame, Frame::Request);
    assert_eq!(failure.path.as_deref(), Some("/later"));
    assert!(
        failure
            .ran
            .is_some_and(|ran| ran >= Duration::from_millis(100))
    );
    // A late answer is handed back, never written.
    let late = responder
        .send(Response::text("too late"))
        .expect_err("refused");
    assert_eq!(late.reason(), Unanswerable::Expired);
    assert_eq!(late.into_response().body(), b"too late");
    assert_eq!(client.get_status("/plaintext"), 200);
    assert_eq!(server.stats().worker_restarts, 0);
}

#[test]
fn an_answer_for_a_client_that_left_is_discarded_and_counted() {
    let (server, responders) = deferring_server(|b| b);
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/later?leaving"));
    let responder = next(&responders);
    // A reset: the server sees it at once, while the answer is still pending.
    client.reset();
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::ClientGone);
    assert_eq!(failure.path.as_deref(), Some("/later"));
    eventually("the connection is closed", || {
        server.stats().active_connections == 0
    });
    let refused = responder.send(Response::text("nobody")).expect_err("gone");
    assert_eq!(refused.reason(), Unanswerable::Gone);
    assert_eq!(server.stats().failures_of(FailureKind::ClientGone), 1);
}

#[test]
fn a_deferred_answer_for_a_slot_reused_by_another_client_never_reaches_it() {
    let (server, responders) = deferring_server(|b| b);
    let failures = server.failures();
    let mut first = Client::to(&server);
    first.send(get("/later?first"));
    let stale = next(&responders);
    first.reset();
    assert_eq!(next_failure(&failures).kind, FailureKind::ClientGone);
    // The next connection takes the freed slot and defers too.
    let mut second = Client::to(&server);
    second.send(get("/later?second"));
    let fresh = next(&responders);
    assert!(stale.send(Response::text("for the first")).is_err());
    fresh.send(Response::text("for the second")).expect("sent");
    assert_eq!(second.reply().expect("answer").text(), "for the second");
}

#[test]
fn a_drain_waits_for_deferred_answers_within_the_grace() {
    let (server, responders) = deferring_server(|b| b);
    let mut idle = Client::to(&server);
    assert_eq!(idle.get_status("/plaintext"), 200);
    let mut client = Client::to(&server);
    client.send(get("/later?draining"));
    let responder = next(&responders);
    server.shutdown(PATIENCE);
    // The drain has begun once the idle keep-alive connection is closed.
    assert!(
        idle.is_closed(),
        "a draining worker closes idle connections"
    );
    std::thread::spawn(move || {
        responder
            .send(Response::text("answered during the drain"))
            .expect("still wanted");
    })
    .join()
    .expect("answering thread");
    let reply = client.reply().expect("the deferred answer, not a reset");
    assert_eq!(reply.text(), "answered during the drain");
    assert_eq!(reply.header("connection"), Some("close"));
    server.wait().expect("a clean stop");
}

#[test]
fn a_handler_that_answers_itself_after_deferring_withdraws_the_responder() {
    let kept: Arc<Mutex<Option<Responder>>> = Arc::default();
    let keep = Arc::clone(&kept);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| {
            let (_pending, responder) = req.defer();
            *keep.lock().expect("lock") = Some(responder);
            Response::text("answered at once")
        })
        .expect("serve");
    let mut client = Client::to(&server);
    let reply = client.send(get("/x")).reply().expect("reply");
    assert_eq!(reply.text(), "answered at once");
    let responder = kept.lock().expect("lock").take().expect("kept");
    let refused = responder
        .send(Response::text("second answer"))
        .expect_err("withdrawn");
    assert_eq!(refused.reason(), Unanswerable::Withdrawn);
}
