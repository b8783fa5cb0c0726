//! TLS listeners on the server's builder (the `tls` feature).

use std::fmt;
use std::net::ToSocketAddrs;
use std::time::Duration;

use warden_worker::TlsConfig;

use crate::server::Builder;

impl Builder {
    /// Adds an address whose connections speak TLS, with the certificates of `tls`
    /// (TLS 1.2 and 1.3, ALPN `http/1.1`). Plain and TLS listeners mix in one server;
    /// listeners given clones of one [`TlsConfig`] share its certificates, reloads and
    /// sessions.
    ///
    /// Handshakes never run on a worker's event loop: the handshake pool makes them
    /// ([`Builder::max_handshakes`], [`Builder::handshake_timeout`],
    /// [`Builder::handshake_threads`]) and hands each established connection to a worker.
    /// A plain HTTP request to a TLS listener gets `400` and a closed connection.
    /// Requests on TLS connections say so ([`Request::is_tls`](crate::Request::is_tls));
    /// they cannot be upgraded ([`Request::upgrade`](crate::Request::upgrade)).
    ///
    /// ```no_run
    /// use warden::{Response, Server, TlsConfig};
    ///
    /// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// let reload = tls.handle(); // e.g. on SIGHUP: reload.reload()
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .bind_tls("127.0.0.1:0", tls)
    ///     .serve(|_: &warden::Request<'_>| Response::text("hello"))?;
    /// # let _ = reload;
    /// # server.shutdown(std::time::Duration::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bind_tls<A: ToSocketAddrs + fmt::Debug>(self, addr: A, tls: TlsConfig) -> Builder {
        self.add_listener(addr, None, Some(tls))
    }

    /// The most TLS handshakes in flight in the whole server; past it, new connections
    /// to TLS listeners wait in the kernel's accept queue (never reset). Default 512.
    pub fn max_handshakes(mut self, n: usize) -> Builder {
        self.handshakes.max_in_flight = n.max(1);
        self
    }

    /// How long a TLS handshake may take from the accept; past it the connection is
    /// closed and counted (`warden_tls_handshakes_total{result="timeout"}`), not reported
    /// as a failure: slow or broken clients are normal. Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Builder {
        self.handshakes.timeout = timeout;
        self
    }

    /// How long a client of a TLS listener may stay silent after the accept; past it the
    /// connection is closed and counted as a handshake `timeout`. A ClientHello follows
    /// the TCP handshake at once, so connections that never speak give their handshake
    /// place back long before [`Builder::handshake_timeout`]. Default 3 s (at most the
    /// handshake timeout).
    pub fn tls_first_byte_timeout(mut self, timeout: Duration) -> Builder {
        self.handshakes.first_byte_timeout = timeout;
        self
    }

    /// Threads of the handshake pool. Default: half the CPUs, at least one.
    pub fn handshake_threads(mut self, n: usize) -> Builder {
        self.handshakes.threads = n.max(1);
        self
    }
}
