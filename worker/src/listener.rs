//! Listening sockets, made with socket2 so that backlog and options are ours to set.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Default listen backlog: how many completed handshakes the kernel holds while the
/// acceptor is paused or busy (Linux caps it at `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: i32 = 1024;

/// Binds a non-blocking listener on `addr` with `SO_REUSEADDR` (a restarted server can
/// bind while old connections sit in TIME_WAIT). IPv6 addresses get an IPv6 socket; the
/// kernel's default decides whether `[::]` also accepts IPv4.
///
/// # Errors
///
/// The OS error of `socket`, `bind` or `listen`, e.g. `AddrInUse`.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_port_zero_and_reports_the_port() {
        let listener = bind("127.0.0.1:0".parse().expect("addr"), 16).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        assert_ne!(addr.port(), 0);
        let again = bind(addr, 16).expect_err("the port is taken");
        assert_eq!(again.kind(), io::ErrorKind::AddrInUse);
    }
}
