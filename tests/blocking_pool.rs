//! The blocking pool (`Request::blocking`): slow work off the loop, a bounded queue that
//! says 503 when full, a deadline per job, panics answered in the request's frame with a
//! fresh thread, per-thread resources, and jobs of clients that left.
mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::{Client, PATIENCE, eventually, get, next_failure, routes};
use warden::{Builder, FailureKind, Frame, Request, Response, Server, ServerHandle, with_resource};

/// Lets a test hold blocking jobs inside their closures and release them one by one.
#[derive(Clone)]
struct Gate {
    started: Sender<String>,
    release: Arc<Mutex<Receiver<()>>>,
}

/// The test's side of a [`Gate`].
struct Control {
    started: Receiver<String>,
    release: Sender<()>,
}

impl Control {
    /// Waits until a job has started, and says which path it serves.
    fn started(&self) -> String {
        self.started.recv_timeout(PATIENCE).expect("a job started")
    }

    fn release(&self) {
        self.release.send(()).expect("a job waits");
    }
}

fn gate() -> (Gate, Control) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    (
        Gate {
            started: started_tx,
            release: Arc::new(Mutex::new(release_rx)),
        },
        Control { started, release },
    )
}

/// A one-worker server: `/held` runs on the pool until the gate releases it, `/boom`
/// panics on the pool, `/quick` answers from the pool at once; the rest are the usual
/// routes, on the loop.
fn server(gate: Gate, configure: impl FnOnce(Builder) -> Builder) -> ServerHandle {
    let builder = Server::builder().bind("127.0.0.1:0").workers(1);
    configure(builder)
        .serve(move |req: &Request<'_>| match req.path() {
            "/held" => {
                let gate = gate.clone();
                req.blocking(move |req| {
                    let _ = gate.started.send(req.target().to_owned());
                    let _ = gate.release.lock().expect("lock").recv();
                    Response::text(format!("released {}", req.target()))
                })
            }
            "/boom" => {
                req.blocking(|req| -> Response { panic!("pool job failed for {}", req.path()) })
            }
            "/quick" => req.blocking(|req| Response::text(format!("pooled {}", req.path()))),
            _ => routes(req),
        })
        .expect("serve")
}

#[test]
fn slow_work_runs_off_the_loop() {
    let (gate, control) = gate();
    let server = server(gate, |b| b);
    let mut slow = Client::to(&server);
    slow.send(get("/held?n=1"));
    assert_eq!(control.started(), "/held?n=1");
    // The one worker's loop answers others while the job is held.
    let mut other = Client::to(&server);
    for _ in 0..3 {
        assert_eq!(other.get_status("/plaintext"), 200);
    }
    assert_eq!(server.stats().blocking.busy, 1);
    control.release();
    assert_eq!(slow.reply().expect("answer").text(), "released /held?n=1");
    assert_eq!(slow.get_status("/quick"), 200);
    eventually("jobs counted", || server.stats().blocking.done == 2);
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_reports_overload() {
    let (gate, control) = gate();
    let server = server(gate, |b| b.blocking_threads(1).blocking_queue(1));
    let failures = server.failures();
    let mut running = Client::to(&server);
    running.send(get("/held?n=1"));
    assert_eq!(control.started(), "/held?n=1");
    let mut queued = Client::to(&server);
    queued.send(get("/held?n=2"));
    eventually("the second job is queued", || {
        server.stats().blocking.queued == 1
    });

    let mut refused = Client::to(&server);
    let reply = refused
        .send(get("/held?n=3"))
        .reply()
        .expect("refused at once");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Overload);
    assert_eq!(failure.frame, Frame::Request);
    assert_eq!(
        (failure.method.as_deref(), failure.path.as_deref()),
        (Some("GET"), Some("/held"))
    );

    control.release();
    assert_eq!(running.reply().expect("first").text(), "released /held?n=1");
    assert_eq!(control.started(), "/held?n=2");
    control.release();
    assert_eq!(queued.reply().expect("second").text(), "released /held?n=2");
    assert_eq!(server.stats().blocking.rejected, 1);
    // The refused client's connection is still good.
    assert_eq!(refused.get_status("/plaintext"), 200);
}

#[test]
fn a_job_past_its_deadline_answers_503_and_its_thread_is_replaced() {
    let (gate, control) = gate();
    let server = server(gate, |b| {
        b.blocking_threads(1)
            .blocking_timeout(Duration::from_millis(100))
    });
    let failures = server.failures();
    let mut stuck = Client::to(&server);
    stuck.send(get("/held?late"));
    assert_eq!(control.started(), "/held?late");
    assert_eq!(stuck.reply().expect("503 at the deadline").status, 503);
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(failure.frame, Frame::Request);
    assert_eq!(failure.path.as_deref(), Some("/held"));
    assert_eq!(failure.peer, Some(stuck.stream.local_addr().expect("addr")));
    let (waited, ran) = (failure.waited.expect("waited"), failure.ran.expect("ran"));
    assert!(
        waited + ran >= Duration::from_millis(100),
        "{waited:?} + {ran:?}"
    );
    assert!(failure.message.contains("ran"), "{}", failure.message);

    // The stuck thread is counted lost and a replacement serves the next job.
    eventually("the thread is counted lost", || {
        server.stats().blocking.lost == 1
    });
    assert_eq!(stuck.get_status("/quick"), 200);

    // Released, the lost thread's answer is discarded and the thread retires.
    control.release();
    eventually("the lost thread retired", || {
        let stats = server.stats().blocking;
        stats.lost == 0 && stats.timed_out == 1 && stats.busy == 0 && stats.idle == 1
    });
    assert_eq!(stuck.get_status("/plaintext"), 200);
}

#[test]
fn a_panic_on_the_pool_is_answered_in_the_request_frame_and_the_thread_replaced() {
    let (gate, _control) = gate();
    let server = server(gate, |b| b.blocking_threads(1));
    let failures = server.failures();
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/boom"), 500);
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.message, "pool job failed for /boom");
    assert_eq!(failure.path.as_deref(), Some("/boom"));
    assert!(
        failure
            .location
            .as_deref()
            .is_some_and(|l| l.contains("blocking_pool.rs")),
        "{:?}",
        failure.location
    );
    // The connection is kept, and a fresh thread serves the next job.
    assert_eq!(client.get_status("/quick"), 200);
    // Counted once the thread is back from delivering the answer.
    eventually("one job panicked, one done, one thread", || {
        let stats = server.stats().blocking;
        (stats.panicked, stats.done, stats.busy + stats.idle) == (1, 1, 1)
    });
}

#[test]
fn a_policy_answers_a_pool_failure_its_own_way() {
    let (gate, _control) = gate();
    let server = server(gate, |b| {
        b.on_error(|failure| match failure.kind {
            FailureKind::Panic => {
                warden::Restart::Respond(Response::text("we are on it").with_status(502))
            }
            _ => failure.default_restart(),
        })
    });
    let mut client = Client::to(&server);
    let reply = client.send(get("/boom")).reply().expect("reply");
    assert_eq!((reply.status, reply.text().as_str()), (502, "we are on it"));
}

#[test]
fn a_client_that_leaves_while_its_job_runs_lets_the_job_finish_and_is_counted() {
    let (gate, control) = gate();
    let cleaned = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&cleaned);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| {
            let gate = gate.clone();
            let cleanup = Cleanup(Arc::clone(&counter));
            req.blocking(move |req| {
                let _cleanup = cleanup;
                let _ = gate.started.send(req.path().to_owned());
                let _ = gate.release.lock().expect("lock").recv();
                Response::text("nobody reads this")
            })
        })
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/leaving"));
    assert_eq!(control.started(), "/leaving");
    client.reset();

    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::ClientGone);
    assert_eq!(failure.path.as_deref(), Some("/leaving"));
    // The job is never interrupted: released, it runs to its end and cleans up.
    assert_eq!(cleaned.load(Ordering::SeqCst), 0);
    control.release();
    eventually("the job's cleanup ran", || {
        cleaned.load(Ordering::SeqCst) == 1
    });
    eventually("its answer was discarded and counted", || {
        server.stats().blocking.abandoned == 1
    });
}

/// Counts its drop: the cleanup of a job's closure.
struct Cleanup(Arc<AtomicUsize>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A per-thread resource: which one it is, and how often it was used.
struct Connection {
    id: usize,
    queries: usize,
}

#[test]
fn pool_threads_hold_a_resource_rebuilt_after_a_panic() {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&made);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .blocking_threads(1)
        .blocking_resource(move || Connection {
            id: counter.fetch_add(1, Ordering::SeqCst),
            queries: 0,
        })
        .serve(|req: &Request<'_>| {
            let fail = req.path() == "/fail";
            req.blocking(move |_| {
                let (id, queries) = with_resource(|c: &mut Connection| {
                    c.queries += 1;
                    (c.id, c.queries)
                })
                .expect("a resource on every pool thread");
                assert!(!fail, "the query broke connection {id}");
                Response::text(format!("{id}:{queries}"))
            })
        })
        .expect("serve");
    let mut client = Client::to(&server);
    let mut answer = |path: &str| client.send(get(path)).reply().expect("reply");
    assert_eq!(answer("/q").text(), "0:1");
    assert_eq!(answer("/q").text(), "0:2");
    assert_eq!(answer("/fail").status, 500);
    // A fresh thread, a fresh connection.
    assert_eq!(answer("/q").text(), "1:1");
    assert_eq!(made.load(Ordering::SeqCst), 2);
}

#[test]
fn lost_threads_are_capped_and_reaching_the_cap_is_reported() {
    let (gate, control) = gate();
    // One thread, so at most one lost at once.
    let server = server(gate, |b| {
        b.blocking_threads(1)
            .blocking_timeout(Duration::from_millis(100))
    });
    let failures = server.failures();
    let mut first = Client::to(&server);
    first.send(get("/held?n=1"));
    assert_eq!(control.started(), "/held?n=1");
    assert_eq!(first.reply().expect("503").status, 503);
    assert_eq!(next_failure(&failures).kind, FailureKind::Timeout);
    // Its replacement takes the next job, which gets stuck too: one lost thread more than
    // the cap allows, so no replacement, and the cap is reported.
    let mut second = Client::to(&server);
    second.send(get("/held?n=2"));
    assert_eq!(control.started(), "/held?n=2");
    assert_eq!(second.reply().expect("503").status, 503);
    let mut kinds = Vec::new();
    let capped = loop {
        let failure = next_failure(&failures);
        kinds.push(failure.kind);
        if failure.frame == Frame::Pool {
            break failure;
        }
        assert!(kinds.len() < 4, "no report of the cap: {kinds:?}");
    };
    assert_eq!(capped.kind, FailureKind::Overload);
    assert!(capped.message.contains("cap"), "{}", capped.message);
    // Released, both return; a thread serves again.
    control.release();
    control.release();
    eventually("a thread is back", || {
        let stats = server.stats().blocking;
        stats.lost == 0 && stats.idle >= 1
    });
    assert_eq!(first.get_status("/quick"), 200);
}

#[test]
fn a_job_whose_deadline_passes_in_the_queue_never_runs() {
    let (gate, control) = gate();
    // One thread, and one lost thread at most: two stuck jobs take every thread there
    // may be, so a third can only wait in the queue.
    let server = server(gate, |b| {
        b.blocking_threads(1)
            .blocking_timeout(Duration::from_millis(100))
    });
    let failures = server.failures();
    let mut stuck = Vec::new();
    for n in 1..=2 {
        let mut client = Client::to(&server);
        client.send(get(&format!("/held?n={n}")));
        assert_eq!(control.started(), format!("/held?n={n}"));
        assert_eq!(client.reply().expect("503 at its deadline").status, 503);
        stuck.push(client);
    }
    let mut queued = Client::to(&server);
    queued.send(get("/held?n=3"));
    assert_eq!(queued.reply().expect("503 at its deadline").status, 503);
    let me = queued.stream.local_addr().expect("addr");
    let failure = loop {
        let failure = next_failure(&failures);
        if failure.peer == Some(me) {
            break failure;
        }
    };
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(
        failure.message.contains("never started"),
        "{}",
        failure.message
    );
    assert_eq!(failure.ran, Some(Duration::ZERO));
    control.release();
    control.release();
    // The expired job is skipped, not run, once a thread is free again.
    eventually("the skipped job is counted", || {
        server.stats().blocking.timed_out == 3
    });
    assert!(control.started.try_recv().is_err(), "the expired job ran");
}
