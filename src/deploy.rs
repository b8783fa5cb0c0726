//! Settings for running behind infrastructure: the PROXY protocol of load balancers, and
//! a limit on the connections of each client.

use warden_reactor::{Cidr, ClientLimit, ProxyProtocol};

use std::fmt;
use std::net::ToSocketAddrs;

use crate::listeners::{PLAIN, Source};
use crate::server::Builder;

impl Builder {
    /// Requires the PROXY protocol (v1 or v2, as HAProxy and AWS's NLB send it) on every
    /// listener, from the `trusted` sources only: a connection from one of them must begin
    /// with a header naming the real client, which becomes the request's
    /// [`peer_addr`](crate::Request::peer_addr) in logs, failures and limits (the
    /// balancer's address stays at [`proxy_addr`](crate::Request::proxy_addr)). A missing
    /// or malformed header closes the connection; a connection from any other source is
    /// refused at once. Both are counted
    /// (`warden_proxy_protocol_refused_total{reason="bad_header"|"untrusted"}`). The
    /// header must arrive within the header timeout, in as many pieces as it likes. A v2
    /// `LOCAL` header (the balancer's own health check) keeps the connection's own peer.
    ///
    /// Not on TLS listeners yet: the header comes before the TLS handshake, which the
    /// handshake pool does not look for (the server refuses to start with both).
    ///
    /// ```
    /// use warden::{Cidr, Response, Server};
    ///
    /// let nlb: Cidr = "10.0.0.0/8".parse().expect("a range");
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .proxy_protocol([nlb])
    ///     .serve(|req: &warden::Request<'_>| Response::text(req.peer_addr().to_string()))?;
    /// # server.shutdown(std::time::Duration::ZERO);
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn proxy_protocol(mut self, trusted: impl IntoIterator<Item = Cidr>) -> Builder {
        self.config.proxy_protocol = ProxyProtocol::Every(trusted.into_iter().collect());
        self
    }

    /// Adds an address whose connections must begin with a PROXY protocol header from
    /// the `trusted` sources, as [`Builder::proxy_protocol`] does for every listener: a
    /// listener for the balancer beside one for clients that connect directly (an
    /// admin port, a health check from inside).
    ///
    /// ```
    /// use warden::{Cidr, Response, Server};
    ///
    /// let nlb: Cidr = "10.0.0.0/8".parse().expect("a range");
    /// let server = Server::builder()
    ///     .bind_proxied("127.0.0.1:0", [nlb])  // behind the balancer
    ///     .bind("127.0.0.1:0")                 // direct
    ///     .serve(|req: &warden::Request<'_>| Response::text(req.peer_addr().to_string()))?;
    /// # server.shutdown(std::time::Duration::ZERO);
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn bind_proxied<A: ToSocketAddrs + fmt::Debug>(
        self,
        addr: A,
        trusted: impl IntoIterator<Item = Cidr>,
    ) -> Builder {
        let trusted: Vec<Cidr> = trusted.into_iter().collect();
        let first = self.addrs.len();
        let mut builder = self.bind(addr);
        for i in first..builder.addrs.len() {
            builder.proxied.push((i, trusted.clone()));
        }
        builder
    }

    /// The PROXY protocol of each listener: its own sources if it was bound by
    /// `bind_proxied`, else those of `proxy_protocol` if set. `sources[i]` is the entry
    /// of `addrs` listener `i` came from.
    pub(crate) fn proxy_by_listener(&self, sources: &[usize]) -> ProxyProtocol {
        if self.proxied.is_empty() {
            return self.config.proxy_protocol.clone();
        }
        let every = match &self.config.proxy_protocol {
            ProxyProtocol::Every(trusted) => Some(trusted.clone()),
            _ => None,
        };
        ProxyProtocol::PerListener(
            sources
                .iter()
                .map(|j| {
                    self.proxied
                        .iter()
                        .find(|(k, _)| k == j)
                        .map(|(_, trusted)| trusted.clone())
                        .or_else(|| every.clone())
                })
                .collect(),
        )
    }

    /// At most `n` connections from one client address at once, across every worker
    /// (nginx's `limit_conn`; off by default). The acceptor counts a connection as it
    /// accepts it: one past the limit is closed before a byte is read or a handshake made
    /// (counted in `warden_connections_over_client_limit_total`), so silent connections
    /// of one address cannot fill a worker or the TLS handshake pool. Behind a PROXY
    /// protocol balancer the address is the client the header names: past the limit,
    /// that connection is answered `503` with `Retry-After: 1` as soon as the header is
    /// read (the balancer relays it), counted in
    /// `warden_http_refused_requests_total{status="503"}`, and closed. The counts live in
    /// one table shared by the workers, touched when a connection opens and closes,
    /// never per request; an address leaves it with its last connection. Unix socket
    /// clients are not counted.
    pub fn max_connections_per_ip(mut self, n: u32) -> Builder {
        self.config.max_connections_per_ip = Some(ClientLimit::new(n));
        self
    }

    /// Adds a Unix domain socket listener at `path` (mixable with TCP listeners): the
    /// usual way to sit behind nginx or a sidecar on the same host. A stale socket file
    /// (nobody listening) is replaced; a live one is an error naming the path
    /// ([`Error::BindUnix`](crate::Error::BindUnix)). The file is removed when the server
    /// stops. Peers show as `unix` in logs and failures
    /// ([`UNIX_PEER`](crate::UNIX_PEER) is their [`peer_addr`](crate::Request::peer_addr));
    /// Upgrade is refused on them, as over TLS. Everything else (supervision, drains,
    /// restarts that move connections, metrics) is the same.
    ///
    /// ```
    /// use warden::{Response, Server};
    ///
    /// let path = std::env::temp_dir().join(format!("warden-doc-{}.sock", std::process::id()));
    /// let server = Server::builder()
    ///     .bind_unix(&path)
    ///     .unix_mode(0o660)
    ///     .serve(|_: &warden::Request<'_>| Response::text("hello"))?;
    /// # server.shutdown(std::time::Duration::ZERO);
    /// # server.wait()?;
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn bind_unix(mut self, path: impl AsRef<std::path::Path>) -> Builder {
        let path = path.as_ref().to_owned();
        self.addrs.push((Source::Unix(path), None, PLAIN));
        self
    }

    /// The file mode of the Unix domain sockets this server makes (e.g. `0o660`: the
    /// owner and group may connect). Default: what the process's umask gives.
    pub fn unix_mode(mut self, mode: u32) -> Builder {
        self.unix_mode = Some(mode & 0o7777);
        self
    }
}
