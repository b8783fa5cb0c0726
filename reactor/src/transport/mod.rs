//! How a connection's bytes move: the one small interface a connection reads and writes
//! through ([`Transport`]), and its plain TCP implementation. A second transport (TLS)
//! goes beside it, behind the same interface.
//!
//! A connection holds its transport by value, not as a trait object: every call is
//! resolved at compile time, and the plain path costs what a direct socket call costs.
//! Uses `http` and `supervise` only.

use std::fs::File;
use std::io;

pub(crate) mod plain;
pub(crate) mod sendfile;

/// What a connection needs of the thing that carries its bytes.
pub(crate) trait Transport {
    /// Reads into `buf`: `Ok(0)` is the peer's end of input; `WouldBlock` means nothing
    /// more until the next readiness event.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes from `buf`, as much as the kernel takes now.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// Writes from `bufs` in order, as much as the kernel takes now (one `writev`).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;

    /// Sends up to `count` bytes of `file` from `*offset`, advancing it.
    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize>;

    /// Ends our side of the byte stream: nothing more will be written.
    fn shutdown_write(&mut self) -> io::Result<()>;
}
