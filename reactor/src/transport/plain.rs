//! Plain sockets, TCP or Unix domain: read and written directly, files sent from the
//! page cache with sendfile(2) (it takes any socket).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::{TcpStream, UnixStream};

use crate::transport::Transport;
use crate::transport::sendfile;

/// The transport of a socket whose bytes go as they are.
macro_rules! plain_transport {
    ($socket:ty) => {
        impl Transport for $socket {
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

            fn send_file(
                &mut self,
                file: &File,
                offset: &mut u64,
                count: usize,
            ) -> io::Result<usize> {
                sendfile::send(self, file, offset, count)
            }

            fn shutdown_write(&mut self) -> io::Result<()> {
                self.shutdown(Shutdown::Write)
            }
        }
    };
}

plain_transport!(TcpStream);
plain_transport!(UnixStream);
