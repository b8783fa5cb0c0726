//! What an error of `accept` says: one client's trouble, or the process out of something.

use std::io;

/// Errors of `accept` that concern one client, not the listener: "Linux accept() passes
/// already-pending network errors on the new socket as an error code from accept() ...
/// In the case of TCP/IP, these are ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET,
/// EHOSTUNREACH, EOPNOTSUPP, and ENETUNREACH" (accept(2)); plus ECONNABORTED, and EPERM
/// from a firewall rule (Linux numbering).
pub(crate) fn is_one_clients(e: &io::Error) -> bool {
    const EPERM: i32 = 1;
    const ENONET: i32 = 64;
    const EPROTO: i32 = 71;
    const ENOPROTOOPT: i32 = 92;
    const EOPNOTSUPP: i32 = 95;
    const ENETDOWN: i32 = 100;
    const ENETUNREACH: i32 = 101;
    const ECONNABORTED: i32 = 103;
    const EHOSTDOWN: i32 = 112;
    const EHOSTUNREACH: i32 = 113;
    matches!(
        e.raw_os_error(),
        Some(
            EPERM
                | ENONET
                | EPROTO
                | ENOPROTOOPT
                | EOPNOTSUPP
                | ENETDOWN
                | ENETUNREACH
                | ECONNABORTED
                | EHOSTDOWN
                | EHOSTUNREACH
        )
    ) || e.kind() == io::ErrorKind::ConnectionAborted
}

/// Errors that mean the process or system is out of something, not that one client
/// failed: EMFILE, ENFILE, ENOBUFS, ENOMEM (Linux numbering).
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    const ENOBUFS: i32 = 105;
    matches!(e.raw_os_error(), Some(ENOMEM | ENFILE | EMFILE | ENOBUFS))
        || e.kind() == io::ErrorKind::OutOfMemory
}
