//! Times as the queue's JSON writes them: RFC 3339 UTC to the millisecond, formatted without
//! allocating.

use jiff::Timestamp;

/// RFC 3339 UTC with millisecond precision: `2026-11-27T23:47:13.123Z` (fixed width, so the
/// text sorts as the time does).
pub fn rfc3339(ts: Timestamp) -> String {
    let mut buf = [0u8; 24];
    format_rfc3339(ts, &mut buf).to_owned()
}

/// [`rfc3339`] into a buffer, without allocating: `queue list --json` formats tens of
/// thousands of these. Years outside 0000–9999 are clamped to the range.
fn format_rfc3339(ts: Timestamp, buf: &mut [u8; 24]) -> &str {
    let ms = ts.as_millisecond().clamp(-62_167_219_200_000, 253_402_300_799_999);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let fields: [(usize, usize, i64); 7] = [
        (0, 4, year),
        (5, 2, month),
        (8, 2, day),
        (11, 2, ms_of_day / 3_600_000),
        (14, 2, ms_of_day / 60_000 % 60),
        (17, 2, ms_of_day / 1000 % 60),
        (20, 3, ms_of_day % 1000),
    ];
    *buf = *b"0000-00-00T00:00:00.000Z";
    for (at, width, mut value) in fields {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + u8::try_from(value % 10).unwrap_or(0);
            value /= 10;
        }
    }
    std::str::from_utf8(buf).unwrap_or("0000-00-00T00:00:00.000Z")
}

/// Serializes a time as [`rfc3339`] (`#[serde(serialize_with = "ser_ts")]`).
pub fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(format_rfc3339(*ts, &mut [0; 24]))
}

/// [`ser_ts`] for an optional time (null when absent).
pub fn ser_opt_ts<S: serde::Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => s.serialize_str(format_rfc3339(*ts, &mut [0; 24])),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_jiff() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "2026-11-27T23:47:13.123Z",
            "1969-12-31T23:59:59.001Z",
            "2400-03-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
        ] {
            let ts: Timestamp = text.parse().unwrap();
            assert_eq!(rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "{text}");
        }
        for ms in (-62_000_000_000_000i64..250_000_000_000_000).step_by(7_777_777_777_777) {
            let ts = Timestamp::from_millisecond(ms).unwrap();
            assert_eq!(rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }
}
