//! The `Date` header value, formatted once a second per reactor rather than per response.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// The current HTTP-date, refreshed when the wall-clock second changes.
#[derive(Debug)]
pub(crate) struct DateCache {
    bytes: [u8; DATE_LEN],
    next_refresh: Instant,
}

impl DateCache {
    pub(crate) fn new(now: Instant) -> DateCache {
        let mut cache = DateCache {
            bytes: [b' '; DATE_LEN],
            next_refresh: now,
        };
        cache.refresh(now);
        cache
    }

    /// Reformats the date if a second boundary has passed since the last call, and says
    /// whether it did. Costs one comparison otherwise, so the loop calls it once per turn.
    pub(crate) fn refresh(&mut self, now: Instant) -> bool {
        if now < self.next_refresh {
            return false;
        }
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        self.bytes = format_http_date(since_epoch.as_secs());
        // Wake at the next wall-clock second, so the header is never more than one turn
        // of the loop late.
        let into_second = Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
        self.next_refresh = now + (Duration::from_secs(1) - into_second);
        true
    }

    /// A cache stuck at `date`, for sessions whose output must not depend on the clock.
    pub(crate) fn fixed(date: [u8; DATE_LEN], now: Instant) -> DateCache {
        DateCache {
            bytes: date,
            next_refresh: now + Duration::from_secs(60 * 60 * 24 * 365),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; DATE_LEN] {
        &self.bytes
    }
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 section 5.6.7).
pub(crate) fn format_http_date(secs: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], in_day / 3600);
    two_digits(&mut out[20..22], in_day / 60 % 60);
    two_digits(&mut out[23..25], in_day % 60);
    out
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), by Howard Hinnant's
/// `civil_from_days` algorithm for the proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let cases: &[(u64, &str)] = &[
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_799, "Wed, 28 Feb 2024 23:59:59 GMT"),
            (1_709_251_200, "Fri, 01 Mar 2024 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (1_795_564_800, "Wed, 25 Nov 2026 00:00:00 GMT"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                std::str::from_utf8(&format_http_date(*secs)).unwrap(),
                *want,
                "{secs}"
            );
        }
    }

    #[test]
    fn refresh_only_after_a_second_boundary() {
        let start = Instant::now();
        let mut cache = DateCache::new(start);
        let first = *cache.bytes();
        cache.refresh(start);
        assert_eq!(*cache.bytes(), first);
        assert!(cache.next_refresh > start && cache.next_refresh <= start + Duration::from_secs(1));
    }
}
