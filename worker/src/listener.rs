//! Listening sockets, made with socket2 so that backlog and options are ours to set, or
//! taken over from systemd's socket activation.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Domain, Protocol, Socket, Type};

use crate::unix::Listener;

/// Default listen backlog: how many completed handshakes the kernel holds while the
/// acceptor is paused or busy (Linux caps it at `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: i32 = 1024;

/// How to make a listener.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ListenOptions {
    /// The listen backlog.
    pub backlog: i32,
    /// `SO_REUSEPORT`: several processes may listen on the same port and the kernel
    /// spreads new connections among them, so a new process can take over a port while
    /// the old one drains (a zero-downtime restart).
    pub reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
        }
    }
}

/// Binds a non-blocking listener on `addr` with `SO_REUSEADDR` (a restarted server can
/// bind while old connections sit in TIME_WAIT). IPv6 addresses get an IPv6 socket; the
/// kernel's default decides whether `[::]` also accepts IPv4.
///
/// # Errors
///
/// The OS error of `socket`, `bind` or `listen`, e.g. `AddrInUse`.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    bind_with(
        addr,
        ListenOptions {
            backlog,
            ..ListenOptions::default()
        },
    )
}

/// [`bind`] with every option.
///
/// # Errors
///
/// The OS error of `socket`, `setsockopt`, `bind` or `listen`.
pub fn bind_with(addr: SocketAddr, options: ListenOptions) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    // Accepted sockets inherit TCP_NODELAY on Linux: set once here rather than once per
    // connection. Responses are written whole, once per batch: Nagle would only delay
    // them.
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(options.backlog)?;
    Ok(socket.into())
}

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// Takes the listening sockets systemd passed to this process, TCP or Unix (socket
/// activation: the
/// `LISTEN_PID` and `LISTEN_FDS` variables, descriptors from 3 on), set non-blocking.
/// They are taken once per process: later calls return an empty list. Without the
/// variables, or when they name another process (a child that inherited them), the list
/// is empty.
///
/// # Errors
///
/// A passed descriptor that is not a listening TCP socket, or that cannot be made
/// non-blocking.
pub fn systemd_listeners() -> io::Result<Vec<Listener>> {
    let pid = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok());
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(Vec::new());
    };
    static TAKEN: AtomicBool = AtomicBool::new(false);
    if pid != std::process::id() || TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    (LISTEN_FDS_START..LISTEN_FDS_START + count)
        .map(|fd| {
            let socket = socket_from_passed_fd(fd);
            if !socket.is_listener()? || socket.r#type()? != Type::STREAM {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("descriptor {fd} from systemd is not a listening stream socket"),
                ));
            }
            socket.set_nonblocking(true)?;
            if socket.domain()? == Domain::UNIX {
                // The file is systemd's to keep.
                return Ok(Listener::Unix(socket.into(), None));
            }
            socket.set_tcp_nodelay(true)?;
            Ok(Listener::Tcp(socket.into()))
        })
        .collect()
}

#[allow(unsafe_code)]
fn socket_from_passed_fd(fd: i32) -> Socket {
    use std::os::fd::FromRawFd;
    // SAFETY: under the socket activation protocol the descriptors LISTEN_FDS_START ..
    // LISTEN_FDS_START + LISTEN_FDS are open, belong to this process (LISTEN_PID was
    // checked) and are owned by no one else in it; `TAKEN` lets them be claimed once, so
    // each descriptor is wrapped exactly once.
    unsafe { Socket::from_raw_fd(fd) }
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

    #[test]
    fn accepted_sockets_inherit_nodelay() {
        let listener = bind("127.0.0.1:0".parse().expect("addr"), 16).expect("bind");
        let _client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        listener.set_nonblocking(false).expect("blocking");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(accepted.nodelay().expect("getsockopt"));
    }

    #[test]
    fn reuse_port_lets_two_listeners_share_a_port() {
        let options = ListenOptions {
            reuse_port: true,
            ..ListenOptions::default()
        };
        let first = bind_with("127.0.0.1:0".parse().expect("addr"), options).expect("bind");
        let addr = first.local_addr().expect("addr");
        let second = bind_with(addr, options).expect("a second listener on the same port");
        assert_eq!(second.local_addr().expect("addr"), addr);
    }

    #[test]
    fn no_systemd_variables_means_no_listeners() {
        assert!(systemd_listeners().expect("no error").is_empty());
    }
}
