//! Connection buffers and the per-reactor pool they return to when a connection goes idle.
//!
//! An idle keep-alive connection holds no buffer at all: it borrows one when bytes arrive
//! and gives it back once everything buffered is answered and written. Under load a
//! handful of buffers circulate among thousands of connections.

/// Input bytes: `data[start..end]` is unconsumed. `data` is zero-filled once when the
/// buffer is made and never again, so reading into it costs no memset per read.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub(crate) fn new(capacity: usize) -> ReadBuf {
        ReadBuf {
            data: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// The unconsumed bytes, writable (the chunked decoder works in place).
    pub(crate) fn filled_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Room to read into, after the unconsumed bytes.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes read into [`ReadBuf::spare`] as filled.
    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.data.len());
    }

    /// Consumes `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops unconsumed bytes from `at` (relative to the front) on: what the chunked
    /// decoder compacted away.
    pub(crate) fn truncate(&mut self, at: usize) {
        self.end = self.start + at;
    }

    /// Drops every unconsumed byte.
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Makes room for at least `needed` unconsumed bytes in total, moving them to the
    /// front and growing the buffer only when that is not enough.
    pub(crate) fn reserve_total(&mut self, needed: usize) {
        if self.start > 0 && self.start + needed > self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if needed > self.data.len() {
            self.data.resize(needed, 0);
        }
    }

    /// Makes room to read into: moves the unconsumed bytes to the front, and if that is
    /// not enough, doubles the buffer up to `limit` bytes. `false` when it is full at
    /// the limit.
    pub(crate) fn make_room(&mut self, limit: usize) -> bool {
        if !self.spare().is_empty() {
            return true;
        }
        self.compact();
        if !self.spare().is_empty() {
            return true;
        }
        let grown = (self.capacity() * 2).min(limit);
        if grown <= self.capacity() {
            return false;
        }
        self.reserve_total(grown);
        true
    }

    /// Moves the unconsumed bytes to the front when that frees room at the end.
    pub(crate) fn compact(&mut self) {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

/// Output bytes: `data[pos..]` is still to be written.
#[derive(Debug, Default)]
pub(crate) struct WriteBuf {
    pub(crate) data: Vec<u8>,
    pub(crate) pos: usize,
}

impl WriteBuf {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }
}

/// Free buffers of one reactor. No lock: a pool belongs to one thread.
#[derive(Debug)]
pub(crate) struct Pool {
    reads: Vec<ReadBuf>,
    writes: Vec<WriteBuf>,
    read_size: usize,
    max_pooled: usize,
}

/// A write buffer that grew past this is freed rather than pooled, so one large response
/// does not pin memory for the life of the reactor.
const MAX_POOLED_WRITE: usize = 64 * 1024;

impl Pool {
    pub(crate) fn new(read_size: usize, max_pooled: usize) -> Pool {
        Pool {
            reads: Vec::new(),
            writes: Vec::new(),
            read_size,
            max_pooled,
        }
    }

    pub(crate) fn take_read(&mut self) -> ReadBuf {
        self.reads
            .pop()
            .unwrap_or_else(|| ReadBuf::new(self.read_size))
    }

    pub(crate) fn put_read(&mut self, mut buf: ReadBuf) {
        if buf.capacity() == self.read_size && self.reads.len() < self.max_pooled {
            buf.clear();
            self.reads.push(buf);
        }
    }

    pub(crate) fn take_write(&mut self) -> WriteBuf {
        self.writes.pop().unwrap_or_default()
    }

    pub(crate) fn put_write(&mut self, mut buf: WriteBuf) {
        if buf.data.capacity() <= MAX_POOLED_WRITE && self.writes.len() < self.max_pooled {
            buf.data.clear();
            buf.pos = 0;
            self.writes.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_buffer_lifecycle() {
        let mut buf = ReadBuf::new(8);
        buf.spare()[..5].copy_from_slice(b"abcde");
        buf.commit(5);
        assert_eq!(buf.filled(), b"abcde");
        buf.consume(2);
        assert_eq!(buf.filled(), b"cde");
        buf.reserve_total(7);
        assert_eq!(buf.filled(), b"cde");
        assert_eq!(
            buf.capacity(),
            8,
            "moving to the front made room without growing"
        );
        buf.reserve_total(20);
        assert_eq!(buf.capacity(), 20);
        buf.consume(3);
        assert!(buf.is_empty());
        assert_eq!(
            buf.spare().len(),
            20,
            "an emptied buffer starts over at the front"
        );
    }

    #[test]
    fn make_room_compacts_then_doubles_up_to_the_limit() {
        let mut buf = ReadBuf::new(4);
        buf.spare().copy_from_slice(b"abcd");
        buf.commit(4);
        buf.consume(1);
        assert!(buf.make_room(10));
        assert_eq!(
            (buf.capacity(), buf.filled()),
            (4, &b"bcd"[..]),
            "moved, not grown"
        );
        buf.spare()[0] = b'e';
        buf.commit(1);
        assert!(buf.make_room(10));
        assert_eq!(buf.capacity(), 8, "doubled");
        let room = buf.spare().len();
        buf.commit(room);
        assert!(buf.make_room(10));
        assert_eq!(buf.capacity(), 10, "capped at the limit");
        let room = buf.spare().len();
        buf.commit(room);
        assert!(!buf.make_room(10), "full at the limit");
    }

    #[test]
    fn pool_keeps_only_standard_buffers() {
        let mut pool = Pool::new(8, 2);
        let mut grown = pool.take_read();
        grown.reserve_total(100);
        pool.put_read(grown);
        assert!(pool.reads.is_empty(), "a grown buffer is freed");
        for _ in 0..3 {
            pool.put_read(ReadBuf::new(8));
        }
        assert_eq!(pool.reads.len(), 2, "the pool is bounded");

        let mut big = pool.take_write();
        big.data.resize(MAX_POOLED_WRITE + 1, 0);
        pool.put_write(big);
        assert!(pool.writes.is_empty());
        let mut w = pool.take_write();
        w.data.extend_from_slice(b"xy");
        w.pos = 1;
        pool.put_write(w);
        let w = pool.take_write();
        assert!(w.is_empty() && w.data.capacity() >= 2, "reused, and reset");
    }
}
