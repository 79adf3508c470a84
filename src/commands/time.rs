//! Times given by users: `HH:MM` or `HHMM` (today, in `EBMBOT_TIMEZONE`), RFC 3339, `now`,
//! or `+30m` / `+2h` from now; and delays (`--delay 90s`).

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::config::duration;

pub const TIME_FORMS: &str = "HH:MM, HHMM, an RFC 3339 time (2026-01-31T14:00:00Z), `now`, or +30m / +2h";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wrong time format: `{text}`; write {TIME_FORMS}")]
pub struct TimeError {
    pub text: String,
}

/// Parses a point in time relative to `now`.
pub fn parse_time(text: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, TimeError> {
    let err = || TimeError { text: text.to_owned() };
    let s = text.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rest) = s.strip_prefix('+') {
        let d = duration::parse(rest).map_err(|_| err())?;
        return Ok(crate::queue::add_duration(now, d));
    }
    if let Some((h, m)) = clock_time(s) {
        let today = now.to_zoned_datetime(tz.clone()).date();
        let dt = today.at(h, m, 0, 0);
        return dt.to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).map_err(|_| err());
    }
    s.parse::<Timestamp>().map_err(|_| err())
}

/// `HH:MM` or `HHMM`.
fn clock_time(s: &str) -> Option<(i8, i8)> {
    let digits: String = s.chars().filter(|c| *c != ':').collect();
    let well_formed = match s.len() {
        5 => s.as_bytes()[2] == b':',
        4 => !s.contains(':'),
        _ => false,
    };
    if !well_formed || digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i8 = digits[..2].parse().ok()?;
    let m: i8 = digits[2..].parse().ok()?;
    (h < 24 && m < 60).then_some((h, m))
}

/// Parses a delay: a duration (`90s`, `5m`, a bare number of seconds); negative is refused.
pub fn parse_delay(text: &str) -> Result<Duration, super::CommandError> {
    duration::parse(text).map_err(|e| super::CommandError::BadValue {
        what: "delay",
        text: text.to_owned(),
        reason: format!("write {}", e.expected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let utc = TimeZone::UTC;
        assert_eq!(parse_time("now", now, &utc).unwrap(), now);
        assert_eq!(parse_time("+30m", now, &utc).unwrap().to_string(), "2026-03-01T10:30:00Z");
        assert_eq!(parse_time("14:05", now, &utc).unwrap().to_string(), "2026-03-01T14:05:00Z");
        assert_eq!(parse_time("0930", now, &utc).unwrap().to_string(), "2026-03-01T09:30:00Z");
        assert_eq!(parse_time("2026-03-02T01:00:00Z", now, &utc).unwrap().to_string(), "2026-03-02T01:00:00Z");
        let london = TimeZone::get("Europe/London").unwrap();
        let summer: Timestamp = "2026-07-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_time("14:00", summer, &london).unwrap().to_string(), "2026-07-01T13:00:00Z");
        for bad in ["", "25:00", "12:60", "1:00", "12345", "tomorrow", "+", "+-5m", "12:3a"] {
            assert!(parse_time(bad, now, &utc).is_err(), "{bad}");
        }
    }

    #[test]
    fn delays() {
        assert_eq!(parse_delay("90").unwrap(), Duration::from_secs(90));
        assert!(parse_delay("-5").is_err());
        assert!(parse_delay("soon").is_err());
    }
}
