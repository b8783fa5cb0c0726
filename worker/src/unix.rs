//! Unix domain socket listeners: the usual way to sit behind nginx or a sidecar on the
//! same host, with file permissions instead of a port.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

/// A listening socket of either family, as the pool takes them.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix domain stream socket, and its file when this process made it (removed when
    /// the listener closes).
    Unix(UnixListener, Option<SocketFile>),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Listener {
        Listener::Tcp(listener)
    }
}

/// The file of a Unix socket this process bound: removed when dropped, if it is still
/// the same file (a new process that took the path over keeps its own).
pub struct SocketFile {
    path: PathBuf,
    ino: (u64, u64),
}

impl SocketFile {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for SocketFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SocketFile").field(&self.path).finish()
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.ino);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            log::warn!("cannot remove the socket file {}: {e}", self.path.display());
        }
    }
}

/// Binds a non-blocking Unix domain stream listener at `path`, with the file mode `mode`
/// (e.g. `0o660`; `None`: what the umask gives).
///
/// A file already at `path` is replaced only if it is a socket nobody listens on (left
/// by a process that did not exit cleanly); a live socket is an error naming the path,
/// and so is anything that is not a socket.
///
/// # Errors
///
/// `AddrInUse` for a live socket, `AlreadyExists` for a file that is not a socket, or
/// the OS error of `socket`, `bind`, `listen` or `chmod`.
pub fn bind_unix(path: &Path, mode: Option<u32>, backlog: i32) -> io::Result<Listener> {
    if let Ok(existing) = std::fs::symlink_metadata(path) {
        if !existing.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{}: exists and is not a socket; not replacing it",
                    path.display()
                ),
            ));
        }
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: a server is listening on this socket", path.display()),
                ));
            }
            // Nobody behind it: a stale file.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                log::info!("replacing the stale socket file {}", path.display());
                std::fs::remove_file(path)?;
            }
            Err(e) => return Err(e),
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match mode {
        None => socket.bind(&SockAddr::unix(path)?)?,
        Some(mode) => bind_with_mode(&socket, path, mode)?,
    }
    let meta = std::fs::symlink_metadata(path)?;
    let file = SocketFile {
        path: path.to_owned(),
        ino: (meta.dev(), meta.ino()),
    };
    socket.listen(backlog)?;
    Ok(Listener::Unix(socket.into(), Some(file)))
}

/// Binds `socket` at `path` with the file mode `mode`, without a moment in which the file
/// is at `path` with another mode, and without a `chmod` by path where others can write:
/// in a shared directory (`/run`, `/tmp`) a `chmod` after `bind` follows whatever another
/// user put at `path` in between (a symlink to a file of ours). The socket is bound in a
/// private directory made beside `path` (mode 0700: nobody else can enter it), its mode
/// set there, and it is renamed into place, which is atomic on one filesystem. A umask
/// around `bind` would do it too, but the umask is the whole process's, and other threads
/// of an application create files.
fn bind_with_mode(socket: &Socket, path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let private = parent.join(format!(
        ".warden-bind-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let inside = private.join("s");
    let bound = (|| {
        socket.bind(&SockAddr::unix(&inside)?)?;
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&inside, path)
    })();
    if bound.is_err() {
        let _ = std::fs::remove_file(&inside);
    }
    let _ = std::fs::remove_dir(&private);
    bound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warden-unix-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("s.sock")
    }

    #[test]
    fn a_stale_file_is_replaced_a_live_one_refused_and_the_file_removed_on_close() {
        let path = temp("stale");
        // A socket file nobody listens on.
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
        assert!(path.exists());
        let listener = bind_unix(&path, Some(0o600), 16).expect("replaces the stale file");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = bind_unix(&path, None, 16).expect_err("a live socket");
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        // Bound beside the path in a private directory, which is gone.
        let parent = path.parent().expect("a parent");
        let leftovers: Vec<_> = std::fs::read_dir(parent)
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".warden-bind"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        drop(listener);
        assert!(!path.exists(), "removed when closed");

        std::fs::write(&path, "not a socket").expect("write");
        let e = bind_unix(&path, None, 16).expect_err("not a socket");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
