//! Flow control (RFC 9113, section 5.2): the windows we may send into, and the window we
//! give the peer, granted back in batches.

use crate::h2::error::ErrorCode;

/// The largest a window may be: "A sender MUST NOT allow a flow-control window to exceed
/// 2^31-1 octets."
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

/// A window we send into (the peer's for a stream or the connection). It may go below
/// zero when the peer lowers `SETTINGS_INITIAL_WINDOW_SIZE` (section 6.9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window(i64);

impl Window {
    /// A window of `size` octets.
    pub fn new(size: u32) -> Window {
        Window(i64::from(size))
    }

    /// What may be sent now.
    pub fn available(self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(usize::MAX)
    }

    /// `n` octets were sent.
    pub fn spend(&mut self, n: usize) {
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE of `increment`, or a settings change of `delta`: past 2^31-1 is a
    /// FLOW_CONTROL_ERROR (of the stream, or of the connection for its window).
    pub fn grow(&mut self, delta: i64) -> Result<(), ErrorCode> {
        let grown = self.0 + delta;
        if grown > MAX_WINDOW {
            return Err(ErrorCode::FlowControl);
        }
        self.0 = grown;
        Ok(())
    }
}

/// The window we give the peer: what it may still send, and what was received and taken
/// by the application but not yet granted back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inflow {
    /// What the peer may still send.
    open: i64,
    /// Received and taken (or dropped), not yet granted back.
    taken: u32,
    /// The window we keep giving: a grant goes out once half of it is taken.
    size: u32,
}

impl Inflow {
    /// A window of `size` granted to the peer (it knows it from our SETTINGS, or 65,535
    /// for the connection until our first WINDOW_UPDATE).
    pub fn new(granted: u32, size: u32) -> Inflow {
        Inflow {
            open: i64::from(granted),
            taken: 0,
            size,
        }
    }

    /// `n` octets came (padding included): past what we granted is a FLOW_CONTROL_ERROR.
    pub fn receive(&mut self, n: u32) -> Result<(), ErrorCode> {
        if i64::from(n) > self.open {
            return Err(ErrorCode::FlowControl);
        }
        self.open -= i64::from(n);
        Ok(())
    }

    /// The application took `n` octets (or they were dropped): the increment to grant
    /// back now, if half the window is due (batched WINDOW_UPDATEs).
    pub fn release(&mut self, n: u32) -> Option<u32> {
        self.taken = self.taken.saturating_add(n);
        if self.taken < self.size / 2 {
            return None;
        }
        // What was freed is granted again: what the peer may send plus what waits here
        // never passes the window's size.
        let grant = i64::from(std::mem::take(&mut self.taken)).min(MAX_WINDOW - self.open);
        self.open += grant;
        u32::try_from(grant).ok().filter(|&g| g > 0)
    }

    /// What the peer may still send.
    pub fn open(self) -> i64 {
        self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_refuse_to_pass_their_bounds() {
        let mut window = Window::new(65_535);
        window.spend(70_000);
        assert_eq!(window.available(), 0, "below zero after a settings change");
        assert_eq!(window.grow(10_000), Ok(()));
        assert_eq!(window.available(), 5_535);
        assert_eq!(window.grow(MAX_WINDOW), Err(ErrorCode::FlowControl));
        let mut inflow = Inflow::new(100, 100);
        assert_eq!(inflow.receive(60), Ok(()));
        assert_eq!(inflow.receive(41), Err(ErrorCode::FlowControl));
        // Granted back once half is taken, up to the window's size.
        assert_eq!(inflow.release(30), None);
        assert_eq!(inflow.release(30), Some(60));
        assert_eq!(inflow.open(), 100);
    }
}
