//! Budgets against floods of frames that cost the server work and give it none (RFC 9113,
//! section 10.5): PING, SETTINGS, PRIORITY, empty DATA, unknown frames (CVE-2019-9512,
//! -9515, -9516, -9518), and streams opened then reset at once (Rapid Reset,
//! CVE-2023-44487). Each is counted over a second; past its budget the connection is cut
//! with `ENHANCE_YOUR_CALM`. Back-pressure alone would leave the attacker a connection.

use std::time::{Duration, Instant};

/// A count over the last second (two half-second buckets: cheap, and never more than half
/// a second late in forgetting).
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    since: Instant,
    previous: u32,
    current: u32,
}

impl Rate {
    /// A count starting at `now`.
    pub fn new(now: Instant) -> Rate {
        Rate {
            since: now,
            previous: 0,
            current: 0,
        }
    }

    /// One more at `now`; returns the count over about the last second.
    pub fn add(&mut self, now: Instant) -> u32 {
        const HALF: Duration = Duration::from_millis(500);
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed >= HALF * 2 {
            self.previous = 0;
            self.current = 0;
            self.since = now;
        } else if elapsed >= HALF {
            self.previous = self.current;
            self.current = 0;
            self.since += HALF;
        }
        self.current += 1;
        self.previous + self.current
    }
}

/// What a connection may do in a second before it is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// PING, SETTINGS, PRIORITY, empty DATA and unknown frames.
    pub idle_frames: u32,
    /// Streams the client resets (or that are refused) before their answer.
    pub resets: u32,
}

impl Default for Budgets {
    fn default() -> Budgets {
        Budgets {
            idle_frames: 1000,
            resets: 200,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_forgets_what_is_older_than_a_second() {
        let start = Instant::now();
        let mut rate = Rate::new(start);
        for _ in 0..10 {
            rate.add(start);
        }
        assert_eq!(rate.add(start + Duration::from_millis(600)), 12 - 1);
        assert_eq!(rate.add(start + Duration::from_millis(1200)), 2);
        assert_eq!(rate.add(start + Duration::from_secs(5)), 1);
    }
}
