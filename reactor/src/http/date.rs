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

/// (year, month 1..=12, day 1..=31) to days since 1970-01-01: the inverse of
/// [`civil_from_days`], `None` before the epoch.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let year = year.checked_sub(u64::from(month <= 2))?;
    let era = year / 400;
    let yoe = year % 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// Seconds since the Unix epoch of an HTTP-date, in any of the three formats a recipient
/// "MUST accept" (RFC 9110 5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). `None`
/// for anything else, which callers ignore, as an invalid date must be.
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month_of = |m: &str| MONTHS.iter().position(|&x| x == m).map(|i| i as u64 + 1);
    let num = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let time = |t: &str| -> Option<u64> {
        let mut parts = t.split(':');
        let (h, m, s) = (
            num(parts.next()?)?,
            num(parts.next()?)?,
            num(parts.next()?)?,
        );
        (parts.next().is_none() && h < 24 && m < 60 && s < 61).then_some(h * 3600 + m * 60 + s)
    };
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let (year, month, day, secs) = match fields.as_slice() {
        // IMF-fixdate: day-name "," SP date1 SP time-of-day SP GMT
        [name, day, month, year, t, "GMT"] if name.ends_with(',') => {
            (num(year)?, month_of(month)?, num(day)?, time(t)?)
        }
        // RFC 850: day-name-l "," SP date2 SP time-of-day SP GMT, date2 = DD-Mon-YY
        [name, date, t, "GMT"] if name.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
            // "MUST interpret a timestamp ... which appears to be more than 50 years in
            // the future as representing the most recent year in the past": 70..99 is
            // 19xx, 00..69 is 20xx, good until 2070.
            let yy = num(yy)?;
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            (year, month_of(month)?, num(day)?, time(t)?)
        }
        // asctime: day-name SP month SP ( 2DIGIT / ( SP DIGIT )) SP time-of-day SP year
        [_, month, day, t, year] => (num(year)?, month_of(month)?, num(day)?, time(t)?),
        _ => return None,
    };
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day)? * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_date_formats_parse_and_round_trip() {
        let rfc = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(text), Some(rfc), "{text}");
        }
        for secs in [0, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let text = format_http_date(secs);
            let text = std::str::from_utf8(&text).expect("ascii");
            assert_eq!(parse_http_date(text), Some(secs), "{text}");
        }
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "yesterday",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

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
