//! `Server::builder()`: addresses, workers, limits and timeouts, then `serve`.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use warden_reactor::{Config, Handler, Request, Response};
use warden_worker::{Acceptor, AcceptorConfig, DEFAULT_BACKLOG, Worker, WorkerSlot};

use crate::error::Error;
use crate::handle::ServerHandle;

/// Default connection limit per worker (actix: 25,600); past it the acceptor pauses.
pub const DEFAULT_MAX_CONNECTIONS: usize = 25_000;

/// Default grace period of a shutdown (actix: 30 s).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The entry point: `Server::builder()`.
#[derive(Debug)]
pub struct Server {
    _private: (),
}

impl Server {
    /// A builder with every default of `DESIGN.md`.
    ///
    /// ```
    /// use warden::{Request, Response, Server};
    ///
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .workers(2)
    ///     .serve(|req: &Request<'_>| Response::text(format!("you asked for {}", req.path())))?;
    /// println!("listening on {:?}", server.local_addrs());
    /// server.shutdown(std::time::Duration::from_secs(1));
    /// server.wait()?;
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder {
            addrs: Vec::new(),
            errors: Vec::new(),
            workers: None,
            config: Config::default(),
            backlog: DEFAULT_BACKLOG,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Configures and starts a server. Every setting has a default; see `DESIGN.md`.
pub struct Builder {
    addrs: Vec<SocketAddr>,
    errors: Vec<Error>,
    workers: Option<usize>,
    config: Config,
    backlog: i32,
    max_connections: usize,
    shutdown_grace: Duration,
}

impl Builder {
    /// Adds an address to listen on; may be called several times. Port 0 picks a free
    /// port: read it back with [`ServerHandle::local_addrs`]. A name that resolves to
    /// several addresses listens on each.
    pub fn bind<A: ToSocketAddrs + fmt::Debug>(mut self, addr: A) -> Builder {
        match addr.to_socket_addrs() {
            Ok(addrs) => self.addrs.extend(addrs),
            Err(e) => self.errors.push(Error::Resolve {
                addr: format!("{addr:?}"),
                source: Arc::new(e),
            }),
        }
        self
    }

    /// Number of worker threads, each with its own event loop. Default: the available
    /// cores.
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Replaces every reactor setting at once.
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// Time allowed for a complete request head; then 408 and close. Default 10 s.
    pub fn header_timeout(mut self, timeout: Duration) -> Builder {
        self.config.header_timeout = timeout;
        self
    }

    /// Time a keep-alive connection may idle between requests. Default 15 s.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Builder {
        self.config.keepalive_timeout = timeout;
        self
    }

    /// Time a request body may make no progress; then 408 and close. Default 30 s.
    pub fn body_timeout(mut self, timeout: Duration) -> Builder {
        self.config.body_timeout = timeout;
        self
    }

    /// Time a response may wait for the client to read any of it. Default 30 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Builder {
        self.config.write_timeout = timeout;
        self
    }

    /// Largest request body after decoding; larger gets 413. Default 1 MiB.
    pub fn max_body(mut self, bytes: usize) -> Builder {
        self.config.max_body = bytes;
        self
    }

    /// Largest request head; larger gets 431. Default 16 KiB.
    pub fn max_head(mut self, bytes: usize) -> Builder {
        self.config.max_head = bytes;
        self
    }

    /// Longest request line; longer gets 414. Default 8 KiB.
    pub fn max_request_line(mut self, bytes: usize) -> Builder {
        self.config.max_request_line = bytes;
        self
    }

    /// Most header fields; more gets 431. Default 64, at most
    /// [`HEADER_SLOTS`](warden_reactor::HEADER_SLOTS).
    pub fn max_headers(mut self, n: usize) -> Builder {
        self.config.max_headers = n;
        self
    }

    /// Connections one worker holds before the acceptor stops giving it more; when every
    /// worker is full, new clients wait in the listen backlog. Default 25,000.
    pub fn max_connections(mut self, n: usize) -> Builder {
        self.max_connections = n;
        self
    }

    /// The listen backlog. Default 1024.
    pub fn backlog(mut self, n: i32) -> Builder {
        self.backlog = n;
        self
    }

    /// The grace period used when the server shuts itself down (the last handle is
    /// dropped). Default 30 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Builder {
        self.shutdown_grace = grace;
        self
    }

    /// Starts serving with one handler shared by every worker.
    ///
    /// # Errors
    ///
    /// See [`Builder::serve_with`].
    pub fn serve<H>(self, handler: H) -> Result<ServerHandle, Error>
    where
        H: Handler + Send + Sync,
    {
        let handler = Arc::new(handler);
        self.serve_with(move |_| {
            let handler = Arc::clone(&handler);
            move |req: &Request<'_>| -> Response { handler.call(req) }
        })
    }

    /// Starts serving with a handler made per worker: `factory(worker_id)` runs on each
    /// worker's thread when it starts, so the handler may own per-worker resources
    /// without locks.
    ///
    /// # Errors
    ///
    /// [`Error::NoAddress`] without `bind`; [`Error::Resolve`] or [`Error::Bind`] naming
    /// the address and the OS error; [`Error::Config`] for `workers(0)`,
    /// `max_connections(0)` or an invalid server name; [`Error::Start`] if a thread or
    /// poll cannot be created.
    pub fn serve_with<H, F>(self, factory: F) -> Result<ServerHandle, Error>
    where
        H: Handler,
        F: Fn(usize) -> H + Send + Sync + 'static,
    {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        if self.addrs.is_empty() {
            return Err(Error::NoAddress);
        }
        let workers = match self.workers {
            Some(0) => {
                return Err(Error::Config {
                    reason: "workers must be at least 1",
                });
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        if self.max_connections == 0 {
            return Err(Error::Config {
                reason: "max_connections must be at least 1",
            });
        }
        let name_ok = self
            .config
            .server_name
            .bytes()
            .all(|b| b == b'\t' || b >= b' ')
            && !self.config.server_name.contains('\x7f');
        if !name_ok {
            return Err(Error::Config {
                reason: "server_name must be a valid header value",
            });
        }
        if self.config.max_request_line > self.config.max_head {
            return Err(Error::Config {
                reason: "max_request_line must not exceed max_head",
            });
        }

        let mut listeners = Vec::with_capacity(self.addrs.len());
        for addr in &self.addrs {
            let listener = warden_worker::bind(*addr, self.backlog).map_err(|e| Error::Bind {
                addr: *addr,
                source: Arc::new(e),
            })?;
            listeners.push(listener);
        }
        let prepared = Acceptor::prepare(
            listeners,
            AcceptorConfig {
                max_connections_per_worker: self.max_connections,
            },
        )
        .map_err(|e| Error::start("the acceptor", e))?;
        let local_addrs = prepared
            .local_addrs()
            .map_err(|e| Error::start("the acceptor", e))?;

        let factory = Arc::new(factory);
        let mut started = Vec::with_capacity(workers);
        for id in 0..workers {
            let factory = Arc::clone(&factory);
            let worker = Worker::spawn(
                id,
                self.config.clone(),
                move || factory(id),
                Some(prepared.signal()),
            );
            match worker {
                Ok(worker) => started.push(worker),
                Err(e) => {
                    stop_workers(started);
                    return Err(Error::start(format!("worker {id}"), e));
                }
            }
        }
        let slots = started
            .iter()
            .map(|w| WorkerSlot::new(w.id(), w.inbox().clone(), Arc::clone(w.stats())))
            .collect();
        let acceptor = match prepared.start(slots) {
            Ok(acceptor) => acceptor,
            Err(e) => {
                stop_workers(started);
                return Err(Error::start("the acceptor", e));
            }
        };
        for addr in &local_addrs {
            log::info!("listening on {addr} with {workers} workers");
        }
        Ok(ServerHandle::new(
            local_addrs,
            acceptor,
            started,
            self.shutdown_grace,
        ))
    }
}

fn stop_workers(workers: Vec<Worker>) {
    for worker in workers {
        worker.shutdown(Duration::ZERO);
        let _ = worker.join();
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("addrs", &self.addrs)
            .field("workers", &self.workers)
            .field("config", &self.config)
            .field("backlog", &self.backlog)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}
