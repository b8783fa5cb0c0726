//! A client that leaves while its handler runs: the handler is never cut short (its
//! cleanup runs), the response is discarded, and `ClientGone` is reported.
mod util;

use std::sync::{Arc, Barrier, Mutex};

use util::{Client, get, next_failure, routes};
use warden::{FailureKind, Request, Response, Server};

#[test]
fn handler_completes_its_cleanup_and_the_failure_is_reported() {
    let resource = Arc::new(Mutex::new(0u32));
    let inside = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (res, i, r) = (
        Arc::clone(&resource),
        Arc::clone(&inside),
        Arc::clone(&release),
    );
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| {
            if req.path() != "/locked" {
                return routes(req);
            }
            // The guard is released by Drop, which only runs if the handler completes.
            let Ok(mut guard) = res.try_lock() else {
                return Response::status_page(409);
            };
            *guard += 1;
            if *guard == 1 {
                i.wait();
                r.wait();
            }
            Response::text(format!("used {} times", *guard))
        })
        .expect("serve");
    let failures = server.failures();

    let mut leaver = Client::to(&server);
    leaver.send(get("/locked"));
    inside.wait(); // the handler holds the lock
    leaver.reset();
    release.wait();

    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::ClientGone);
    assert_eq!(failure.path.as_deref(), Some("/locked"));
    assert!(failure.message.contains("discarded"), "{}", failure.message);

    // The handler ran to completion: its guard was dropped, the next request gets the lock.
    let mut next = Client::to(&server);
    let reply = next.send(get("/locked")).reply().expect("reply");
    assert_eq!((reply.status, reply.text().as_str()), (200, "used 2 times"));
    assert_eq!(server.stats().failures_of(FailureKind::ClientGone), 1);
}

#[test]
fn a_client_that_leaves_between_requests_is_not_a_failure() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/plaintext"), 200);
    drop(client);
    let mut polite = Client::to(&server);
    polite.send("GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(polite.reply().expect("reply").status, 200);
    assert!(polite.is_closed());
    server.shutdown(std::time::Duration::from_secs(5));
    server.wait().expect("clean");
    assert!(
        failures.try_recv().is_err(),
        "ordinary comings and goings report nothing"
    );
}
