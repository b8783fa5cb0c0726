//! A connection on its way to another reactor.

use crate::buf::ReadBuf;

use super::reading::Reading;
use super::write::Writing;

/// What a connection moving to another reactor takes along: everything but its socket
/// and its place in the old reactor (id, slab key, timer link).
#[derive(Debug)]
pub struct Carried {
    pub(super) reading: Reading,
    pub(super) served: u32,
    pub(super) unread_response: bool,
    pub(super) rbuf: Option<ReadBuf>,
    pub(super) writing: Writing,
}
