//! The methods of [`Request`] that hand work off the loop: answer later
//! ([`Request::defer`]), on the blocking pool ([`Request::blocking`],
//! [`Request::stream_blocking`], [`Request::stream_reader`]), read a streamed body
//! ([`Request::body_reader`]), or switch protocols ([`Request::upgrade`]). Written here,
//! beside the machinery they use, so that the wire format's `Request` knows none of it.

use std::sync::Arc;

use crate::answer::dispatch::{Deferral, Dispatch};
use crate::answer::inflow::{BodyReader, Inflow};
use crate::answer::job::{Job, Offload, Work};
use crate::answer::responder::Responder;
use crate::answer::ticket::{Deadline, Ticket};
use crate::answer::topic::Subscription;
use crate::answer::upgrade::{Upgrade, Upgraded};
use crate::answer::writer::BodyWriter;
use crate::http::owned::OwnedRequest;
use crate::http::parse::Version;
use crate::http::request::Carrier;
use crate::http::request::Request;
use crate::http::response::Response;

impl<'a> Request<'a> {
    /// Answers later, from any thread: returns the placeholder to return from the handler
    /// now, and the [`Responder`] that sends the real answer, with an owned copy of the
    /// request. The loop serves its other connections meanwhile; this connection parses
    /// no further request until the answer is written, so responses stay in order. Past
    /// the handler deadline ([`Config::handler_deadline`](crate::Config::handler_deadline))
    /// the client gets 503 and a `Hung` failure names the request.
    ///
    /// The placeholder means "deferred" only when returned by the handler that asked for
    /// it; returned by anything else it is an invalid response (500).
    ///
    /// # Panics
    ///
    /// If the request was already deferred (a handler bug: caught by the request frame,
    /// answered 500), or if it was made outside a reactor.
    pub fn defer(&self) -> (Response, Responder) {
        self.defer_until(Deadline::Handler)
    }

    /// Runs `work` on the blocking pool and answers with what it returns; returns the
    /// placeholder to return from the handler. This is how a handler calls a database, hashes
    /// a password or reads a file without stalling the loop that serves every other
    /// connection of its worker.
    ///
    /// The job waits in a bounded first-come queue: when it is full the client gets 503
    /// with `Retry-After` at once and an `Overload` failure is reported. Its deadline
    /// ([`Config::blocking_timeout`](crate::Config::blocking_timeout)) counts from the
    /// moment it is queued: past it the client gets 503 and a `Timeout` failure says how
    /// long the job queued and ran. A panic in `work` is a failure of this request's frame
    /// (500 unless the policy answers otherwise). A job whose client left while it queued
    /// is not run; one already running runs to its end, and its answer is discarded.
    ///
    /// A reactor without a pool (run on its own, not by `warden`) runs `work` right here.
    ///
    /// ```
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     req.blocking(|req| {
    ///         std::thread::sleep(std::time::Duration::from_millis(5)); // a database call
    ///         Response::text(format!("looked up {}", req.path()))
    ///     })
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn blocking<F>(&self, work: F) -> Response
    where
        F: FnOnce(&OwnedRequest) -> Response + Send + 'static,
    {
        let Some(offload) = self.dispatch().and_then(|d| d.offload.as_deref()) else {
            return work(&self.to_owned_request());
        };
        self.offload(offload, Work::Answer(Box::new(work)))
    }

    /// Queues `work` on the pool; a full queue is answered 503 by the request frame.
    fn offload(&self, offload: &dyn Offload, work: Work) -> Response {
        let (pending, responder) = self.defer_until(Deadline::Blocking);
        let dispatch = self.dispatch().expect("a pool comes with a dispatch");
        // A body read on the job waits no longer than the job may run.
        let deadline = responder.queued_at() + dispatch.patience.blocking();
        dispatch.with_inflow(|inflow| inflow.bound_by(deadline));
        if let Err(job) = offload.submit(Job::new(work, responder)) {
            job.reject();
            dispatch.taken.set(Deferral::Overloaded);
        }
        pending
    }

    /// Sends `head`, then runs `work` on the blocking pool to write the body as it is
    /// made (through a [`BodyWriter`]: chunked, with backpressure, see
    /// [`Responder::stream`]); returns the placeholder to return from the handler. `Ok`
    /// ends the body; an error other than the client leaving (`BrokenPipe`), or a panic,
    /// cuts it short and is reported. The job's deadline (the blocking timeout) applies
    /// until the head is sent; a pool thread busy past it is counted lost and replaced,
    /// so a body that takes longer than that is better written from a thread of its own
    /// (`defer` and [`Responder::stream`]). Without a pool, `work` runs on a new thread.
    ///
    /// ```
    /// use std::io::Write;
    /// use warden_reactor::{Request, Response};
    ///
    /// fn report(req: &Request<'_>) -> Response {
    ///     let head = Response::new(200).with_content_type("text/csv");
    ///     req.stream_blocking(head, |_, body| {
    ///         for row in 0..1000 {
    ///             writeln!(body, "{row},{}", row * row)?; // rows from a database, say
    ///         }
    ///         Ok(())
    ///     })
    /// }
    /// # let _ = report;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn stream_blocking<F>(&self, head: Response, work: F) -> Response
    where
        F: FnOnce(&OwnedRequest, &mut BodyWriter) -> std::io::Result<()> + Send + 'static,
    {
        let Some(offload) = self.dispatch().and_then(|d| d.offload.as_deref()) else {
            let (pending, responder) = self.defer();
            let job = Job::new(Work::Stream(Box::new(head), Box::new(work)), responder);
            let spawned = std::thread::Builder::new()
                .name("warden-stream".to_owned())
                .spawn(move || job.run());
            if let Err(e) = spawned {
                // The job, dropped with the closure, answers 500 through its responder.
                log::warn!("no thread for a streamed response: {e}");
            }
            return pending;
        };
        self.offload(offload, Work::Stream(Box::new(head), Box::new(work)))
    }

    /// Sends `head` and then everything `reader` gives, read on the blocking pool (see
    /// [`Request::stream_blocking`]): the simple case of a streamed body.
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn stream_reader<R>(&self, head: Response, mut reader: R) -> Response
    where
        R: std::io::Read + Send + 'static,
    {
        self.stream_blocking(head, move |_, body| {
            std::io::copy(&mut reader, body)?;
            Ok(())
        })
    }

    /// The body of a request whose body streams (see
    /// [`Config::stream_bodies`](crate::Config::stream_bodies)), to read as it arrives, on
    /// the blocking pool or a thread of your own (never on the loop: it delivers the
    /// bytes). `None` for a buffered body ([`Request::body`]), or once taken. An
    /// `Expect: 100-continue` is answered at the first read, so a handler that answers
    /// without reading (401, 413, 417) refuses the upload before it is sent; the
    /// connection then closes after that answer.
    ///
    /// ```
    /// use std::io::Read;
    /// use warden_reactor::{Request, Response};
    ///
    /// fn upload(req: &Request<'_>) -> Response {
    ///     let Some(mut body) = req.body_reader() else {
    ///         return Response::text(format!("{} bytes, buffered\n", req.body().len()));
    ///     };
    ///     req.blocking(move |_| {
    ///         let mut total = 0u64;
    ///         let mut buf = vec![0u8; 64 * 1024];
    ///         loop {
    ///             match body.read(&mut buf) {
    ///                 Ok(0) => break Response::text(format!("{total} bytes, streamed\n")),
    ///                 Ok(n) => total += n as u64,
    ///                 Err(e) => break Response::text(format!("{e}\n")).with_status(400),
    ///             }
    ///         }
    ///     })
    /// }
    /// # let _ = upload;
    /// ```
    pub fn body_reader(&self) -> Option<BodyReader> {
        self.dispatch()?.with_inflow(Inflow::reader).flatten()
    }

    /// The protocol the client asks to switch to: its `Upgrade` header, when `Connection`
    /// lists `upgrade` and the request is HTTP/1.1 ("A server MUST ignore an Upgrade
    /// header field that is received in an HTTP/1.0 request", RFC 9110 7.8).
    pub fn upgrade_requested(&self) -> Option<&'a str> {
        if self.version() != Version::Http11 {
            return None;
        }
        let asked = self.headers().any(|(name, value)| {
            name.eq_ignore_ascii_case("connection")
                && std::str::from_utf8(value).is_ok_and(|v| {
                    v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                })
        });
        if asked {
            self.header_str("upgrade")
        } else {
            None
        }
    }

    /// Accepts the protocol upgrade the client asked for ([`Request::upgrade_requested`]):
    /// `head` (a `101` naming the protocol in its `Upgrade` header, with whatever else
    /// the protocol's handshake needs) is written, then the connection leaves the worker
    /// and `then` gets it as a blocking [`TcpStream`](std::net::TcpStream), with the bytes
    /// the client already sent after the request. `then` runs on the worker's loop: hand
    /// the connection to a thread of your own and return. Returns the placeholder to
    /// return from the handler.
    ///
    /// An invalid `head` (not 101, no `Upgrade` header) is a failure of the request
    /// frame: 500, and the connection stays HTTP.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     if req.upgrade_requested() != Some("echo") {
    ///         return Response::status_page(426).with_header("Upgrade", "echo");
    ///     }
    ///     let head = Response::new(101).with_header("Upgrade", "echo");
    ///     req.upgrade(head, |upgraded| {
    ///         std::thread::spawn(move || {
    ///             let mut stream = upgraded.stream;
    ///             let _ = stream.write_all(&upgraded.buffered);
    ///             let mut buf = [0; 4096];
    ///             while let Ok(n @ 1..) = stream.read(&mut buf) {
    ///                 if stream.write_all(&buf[..n]).is_err() {
    ///                     break;
    ///                 }
    ///             }
    ///         });
    ///     })
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`]; and on a TLS connection ([`Request::is_tls`]): Upgrade is
    /// not offered over TLS, since the upgraded side is handed a plain socket. The panic
    /// is caught by the request frame, like any other: the client gets 500 and the
    /// failure says why.
    pub fn upgrade<F>(&self, head: Response, then: F) -> Response
    where
        F: FnOnce(Upgraded) + Send + 'static,
    {
        let dispatch = self
            .dispatch()
            .expect("only requests made by a reactor can be upgraded");
        if dispatch.with_inflow(|_| ()).is_some() {
            panic!(
                "a request whose body streams cannot be upgraded: the switch comes after the \
                 whole request, and its body is still arriving"
            );
        }
        match dispatch.carrier.get() {
            Carrier::Tcp => {}
            Carrier::Tls => panic!(
                "a request on a TLS connection cannot be upgraded: the upgraded side gets a \
                 plain socket, and the TLS session stays with the server"
            ),
            Carrier::Unix => panic!(
                "a request on a Unix domain socket cannot be upgraded: the upgraded side is \
                 handed a TCP stream"
            ),
        }
        let upgrade = Upgrade {
            head,
            then: Box::new(then),
            request: self.to_owned_request(),
        };
        match dispatch.taken.replace(Deferral::Upgrade(Box::new(upgrade))) {
            Deferral::None => {}
            Deferral::Pending(earlier) => {
                earlier.withdraw();
                panic!("a request can be deferred or upgraded once");
            }
            Deferral::Overloaded | Deferral::Upgrade(_) | Deferral::Subscribe(_) => {
                panic!("a request can be deferred or upgraded once");
            }
        }
        Response::placeholder()
    }

    fn defer_until(&self, deadline: Deadline) -> (Response, Responder) {
        let dispatch = self
            .dispatch()
            .expect("only requests made by a reactor can be deferred");
        let ticket = Arc::new(Ticket::new(
            self.to_owned_request(),
            dispatch.key.get(),
            dispatch.listener.get(),
            deadline,
            dispatch.patience,
        ));
        match dispatch
            .taken
            .replace(Deferral::Pending(Arc::clone(&ticket)))
        {
            Deferral::None => {}
            Deferral::Pending(earlier) => {
                earlier.withdraw();
                ticket.withdraw();
                panic!("a request can be deferred once: defer() or blocking() was called twice");
            }
            Deferral::Overloaded | Deferral::Upgrade(_) | Deferral::Subscribe(_) => {
                ticket.withdraw();
                panic!("a request can be deferred once: blocking() or upgrade() was called too");
            }
        }
        (
            Response::placeholder(),
            Responder::new(ticket, dispatch.door.clone()),
        )
    }

    /// Makes the connection a subscriber (see [`Broadcast::subscribe`](crate::Broadcast::subscribe)).
    pub(crate) fn subscribe_to(&self, subscription: Subscription) -> Response {
        let dispatch = self
            .dispatch()
            .expect("only requests made by a reactor can subscribe");
        if dispatch.with_inflow(|_| ()).is_some() {
            panic!("a request whose body streams cannot subscribe: its body is still arriving");
        }
        match dispatch
            .taken
            .replace(Deferral::Subscribe(Box::new(subscription)))
        {
            Deferral::None => {}
            Deferral::Pending(earlier) => {
                earlier.withdraw();
                panic!("a request can be deferred, upgraded or subscribed once");
            }
            _ => panic!("a request can be deferred, upgraded or subscribed once"),
        }
        Response::placeholder()
    }

    /// The loop's side of this request: `None` for a request made outside a reactor.
    /// The load balancer's address, when it named the client with a PROXY protocol
    /// header ([`Config::proxy_protocol`](crate::Config::proxy_protocol)): then
    /// [`Request::peer_addr`] is the client it named, and this is the connection's own
    /// peer. `None` otherwise.
    pub fn proxy_addr(&self) -> Option<std::net::SocketAddr> {
        self.dispatch().and_then(|d| d.proxy.get())
    }

    /// Whether the request came over TLS (an `https` request, as the application's
    /// redirects and cookies need to know). Not from a forwarding proxy's headers: only
    /// this connection's own transport.
    pub fn is_tls(&self) -> bool {
        self.dispatch()
            .is_some_and(|d| d.carrier.get() == Carrier::Tls)
    }

    fn dispatch(&self) -> Option<&'a Dispatch> {
        self.handoff()?.downcast_ref::<Dispatch>()
    }
}
