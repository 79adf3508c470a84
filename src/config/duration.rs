//! Durations (`1h30m`, `90s`, `250ms`, a bare integer of seconds) and sizes (`100MB`, `5MiB`).

use std::time::Duration;

/// Why a duration or size was refused; `Display` says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a {what}; write {expected}")]
pub struct ParseError {
    text: String,
    what: &'static str,
    expected: &'static str,
}

impl ParseError {
    /// What a valid value looks like (`an integer with a unit …`).
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

const DURATION_FORM: &str =
    "an integer with a unit ms, s, m, h or d, combinable (`1h30m`), or a bare number of seconds";
const SIZE_FORM: &str = "an integer with a unit KB, MB, GB (powers of 1000) or KiB, MiB, GiB";

/// Parses `1h30m`, `90s`, `250ms`, `2d`, or a bare integer of seconds.
pub fn parse(text: &str) -> Result<Duration, ParseError> {
    let err = || ParseError { text: text.to_owned(), what: "duration", expected: DURATION_FORM };
    let s = text.trim();
    if s.is_empty() {
        return Err(err());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map(Duration::from_secs).map_err(|_| err());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let ms_per_unit: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        let ms = n.checked_mul(ms_per_unit).ok_or_else(err)?;
        total = total.checked_add(Duration::from_millis(ms)).ok_or_else(err)?;
    }
    Ok(total)
}

/// Formats a duration the way [`parse`] reads it: `1h30m`, `45s`, `250ms`, `0s`.
pub fn format(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// Parses `100MB`, `26MB`, `5MiB`, or a bare number of bytes.
pub fn parse_size(text: &str) -> Result<u64, ParseError> {
    let err = || ParseError { text: text.to_owned(), what: "size", expected: SIZE_FORM };
    let s = text.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(err());
    }
    let n: u64 = s[..digits].parse().map_err(|_| err())?;
    let mult: u64 = match s[digits..].trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(err()),
    };
    n.checked_mul(mult).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "-1", "1.5h", "h", "1x", "1h 30m", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_size("5MiB").unwrap(), 5 << 20);
        assert_eq!(parse_size("10").unwrap(), 10);
        assert!(parse_size("MB").is_err());
        assert!(parse_size("5 TB").is_err());
    }
}
