//! Plain TCP: the socket itself, read and written directly, files sent from the page
//! cache with sendfile(2).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use crate::transport::Transport;
use crate::transport::sendfile;

impl Transport for TcpStream {
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
