//! Unix domain stream sockets: read and written directly like TCP, files sent with
//! sendfile(2) too (it takes any socket).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::UnixStream;

use crate::transport::Transport;
use crate::transport::sendfile;

impl Transport for UnixStream {
    #[inline(always)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }

    #[inline(always)]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
    }

    #[inline(always)]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        Write::write_vectored(self, bufs)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
        sendfile::send(self, file, offset, count)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}
