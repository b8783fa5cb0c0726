//! A file's bytes to a socket without copying them through the process: `sendfile(2)` on
//! Linux, a read and a write elsewhere.

use std::fs::File;
use std::io;

/// Sends up to `count` bytes of `file` from `*offset` to `socket`, advancing `*offset` by
/// what was sent. `WouldBlock` when the socket is full, like a write.
#[cfg(target_os = "linux")]
pub(crate) fn send(
    socket: &impl std::os::fd::AsRawFd,
    file: &File,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    // SAFETY: both descriptors are borrowed from live owners (`socket`, `file`) for the
    // whole call, so neither can be closed or reused meanwhile; `off` is a valid, aligned
    // local the kernel reads and updates; no Rust memory is written otherwise.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = u64::try_from(off).expect("the kernel returns a non-negative offset");
    Ok(usize::try_from(sent).expect("checked non-negative"))
}

/// Sends up to `count` bytes of `file` from `*offset` to `socket`: a positioned read into
/// a buffer, then a write.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send(
    socket: &impl std::os::fd::AsRawFd,
    file: &File,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; count.min(64 * 1024)];
    let n = file.read_at(&mut buf, *offset)?;
    let mut socket = socket;
    let sent = socket.write(&buf[..n])?;
    *offset += sent as u64;
    Ok(sent)
}
