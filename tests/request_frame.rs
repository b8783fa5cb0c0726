//! The request frame: a handler's panic or invalid response is caught, reported with its
//! request, and answered as the policy says (a 500 by default) on a connection that stays
//! usable.
mod util;

use std::sync::{Arc, Mutex};

use util::{Client, fault_routes, get, next_failure};
use warden::{FailureKind, Request, Response, Restart, Server};

#[test]
fn panic_is_answered_500_and_reported_with_its_request() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(fault_routes)
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(format!("{}{}", get("/panic?x=1"), get("/plaintext")));
    assert_eq!(client.reply().expect("500").status, 500);
    assert_eq!(
        client.reply().expect("the connection stays usable").status,
        200
    );

    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.message, "handler asked to panic");
    assert_eq!(
        (failure.method.as_deref(), failure.path.as_deref()),
        (Some("GET"), Some("/panic"))
    );
    assert_eq!(failure.worker, 0);
    assert!(failure.conn.is_some());
    assert_eq!(
        failure.peer,
        Some(client.stream.local_addr().expect("addr"))
    );
    assert!(
        failure
            .location
            .as_deref()
            .is_some_and(|l| l.contains("tests/util/mod.rs")),
        "{failure:?}"
    );
    let line = failure.to_string();
    assert!(
        line.contains("panic") && line.contains("GET /panic") && !line.contains('\n'),
        "{line}"
    );
    assert_eq!(server.stats().failures_of(FailureKind::Panic), 1);
}

#[test]
fn invalid_response_is_never_written_and_reported() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(fault_routes)
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);
    let reply = client.send(get("/bad-header")).reply().expect("500");
    assert_eq!(reply.status, 500);
    assert!(reply.header("x-evil").is_none());
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::InvalidResponse);
    assert!(failure.message.contains("X-Evil"), "{}", failure.message);
    assert_eq!(failure.path.as_deref(), Some("/bad-header"));
}

#[test]
fn the_policy_runs_on_the_worker_thread_and_picks_the_response() {
    let seen_on = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&seen_on);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .on_error(move |failure| {
            *seen.lock().expect("lock") = std::thread::current().name().map(str::to_owned);
            match failure.kind {
                FailureKind::Panic => {
                    Restart::Respond(Response::status_page(503).with_header("Retry-After", "1"))
                }
                _ => failure.default_restart(),
            }
        })
        .serve(fault_routes)
        .expect("serve");
    let mut client = Client::to(&server);
    let reply = client.send(get("/panic")).reply().expect("503");
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (503, Some("1"))
    );
    assert_eq!(
        seen_on.lock().expect("lock").as_deref(),
        Some("warden-worker-0")
    );
    assert_eq!(client.get_status("/plaintext"), 200);
}

#[test]
fn close_connection_answers_nothing_more() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .on_error(|_| Restart::CloseConnection)
        .serve(fault_routes)
        .expect("serve");
    let mut client = Client::to(&server);
    client.send(format!(
        "{}{}{}",
        get("/plaintext"),
        get("/panic"),
        get("/plaintext")
    ));
    assert_eq!(
        client
            .reply()
            .expect("the earlier answer still goes out")
            .status,
        200
    );
    assert!(
        client.is_closed(),
        "nothing for the failed request or after it"
    );
}

#[test]
fn a_panicking_policy_means_the_default() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .on_error(|_| panic!("the policy itself is broken"))
        .serve(fault_routes)
        .expect("serve");
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/panic"), 500);
    assert_eq!(client.get_status("/plaintext"), 200);
}

#[test]
fn each_listener_has_its_own_policy() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .bind_with("127.0.0.1:0", |_| {
            Restart::Respond(Response::text("admin keeps calm"))
        })
        .workers(1)
        .on_error(|_| Restart::Respond(Response::status_page(502)))
        .serve(fault_routes)
        .expect("serve");
    let (public, admin) = (server.local_addrs()[0], server.local_addrs()[1]);
    assert_eq!(
        Client::connect(public)
            .send(get("/panic"))
            .reply()
            .expect("public")
            .status,
        502
    );
    let reply = Client::connect(admin)
        .send(get("/panic"))
        .reply()
        .expect("admin");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "admin keeps calm")
    );
}

#[test]
fn a_handler_can_be_fine_after_another_request_failed() {
    // Failures are per request: the worker and its handler state carry on.
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve_with(|_| {
            let count = std::cell::Cell::new(0);
            move |req: &Request<'_>| {
                count.set(count.get() + 1);
                if req.path() == "/panic" {
                    panic!("boom");
                }
                Response::text(count.get().to_string())
            }
        })
        .expect("serve");
    let mut client = Client::to(&server);
    client.send(format!("{}{}{}", get("/a"), get("/panic"), get("/b")));
    assert_eq!(client.reply().expect("1").text(), "1");
    assert_eq!(client.reply().expect("2").status, 500);
    assert_eq!(
        client.reply().expect("3").text(),
        "3",
        "same handler, same state"
    );
}

#[test]
fn a_policy_can_restart_the_worker_from_the_request_frame() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .on_error(|failure| match failure.kind {
            FailureKind::Panic => Restart::RestartWorker,
            _ => failure.default_restart(),
        })
        .serve_with(|_| {
            let seen = std::cell::Cell::new(0);
            move |req: &Request<'_>| {
                seen.set(seen.get() + 1);
                match req.path() {
                    "/panic" => panic!("poisoned state"),
                    _ => Response::text(seen.get().to_string()),
                }
            }
        })
        .expect("serve");
    let mut client = Client::to(&server);
    assert_eq!(client.send(get("/a")).reply().expect("1").text(), "1");
    let reply = client.send(get("/panic")).reply().expect("500");
    assert_eq!(
        (reply.status, reply.header("connection")),
        (500, Some("close"))
    );
    assert!(client.is_closed());
    util::eventually("replaced", || server.stats().worker_restarts == 1);
    let mut again = Client::to(&server);
    assert_eq!(
        again.send(get("/a")).reply().expect("fresh").text(),
        "1",
        "a fresh handler"
    );
}

#[test]
fn a_failure_carries_the_request_id_incoming_or_made() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(|req: &Request<'_>| -> Response {
            match req.path() {
                "/id" => Response::text(req.request_id().to_string()),
                _ => panic!("failing {}", req.request_id()),
            }
        })
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);

    // A proxy's id is kept, on the request and in the failure.
    client.send("GET /panic HTTP/1.1\r\nHost: a\r\nX-Request-Id: edge-42\r\n\r\n");
    assert_eq!(client.reply().expect("500").status, 500);
    let failure = next_failure(&failures);
    assert_eq!(failure.request_id.as_deref(), Some("edge-42"));
    assert_eq!(failure.message, "failing edge-42");
    assert!(
        failure.to_string().contains("(request edge-42)"),
        "{failure}"
    );

    // Without one (or with an unusable one), one is made: distinct per request.
    client.send("GET /panic HTTP/1.1\r\nHost: a\r\nX-Request-Id: has space\r\n\r\n");
    assert_eq!(client.reply().expect("500").status, 500);
    let made = next_failure(&failures).request_id.expect("an id");
    assert_ne!(made, "has space");
    let first = client.send(get("/id")).reply().expect("id").text();
    let second = client.send(get("/id")).reply().expect("id").text();
    assert_ne!(first, second);
    assert_ne!(first, made);
}

#[test]
fn the_request_id_is_echoed_when_asked_failures_included() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .echo_request_id(true)
        .serve(|req: &Request<'_>| -> Response {
            match req.path() {
                "/id" => Response::text(req.request_id().to_string()),
                "/own" => Response::text("x").with_header("X-Request-Id", "handler's"),
                _ => panic!("failing {}", req.request_id()),
            }
        })
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);

    // The client's id comes back, on a success and on a failure's 500.
    client.send("GET /id HTTP/1.1\r\nHost: a\r\nX-Request-Id: edge-7\r\n\r\n");
    let reply = client.reply().expect("200");
    assert_eq!(reply.header("x-request-id"), Some("edge-7"));
    assert_eq!(reply.text(), "edge-7");
    client.send("GET /panic HTTP/1.1\r\nHost: a\r\nX-Request-Id: edge-8\r\n\r\n");
    let reply = client.reply().expect("500");
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("x-request-id"), Some("edge-8"));
    assert_eq!(
        next_failure(&failures).request_id.as_deref(),
        Some("edge-8")
    );

    // A made id is the one the handler and the failure saw.
    let reply = client.send(get("/id")).reply().expect("200");
    assert_eq!(reply.header("x-request-id"), Some(reply.text().as_str()));
    client.send(get("/panic"));
    let reply = client.reply().expect("500");
    let failure = next_failure(&failures);
    assert_eq!(reply.header("x-request-id"), failure.request_id.as_deref());

    // A handler's own header wins, once.
    let reply = client.send(get("/own")).reply().expect("200");
    let ids: Vec<_> = reply
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(reply.header("x-request-id"), Some("handler's"));
}
