//! Cron expressions for `[[ns.timers]]`: five fields (minute hour day-of-month month
//! day-of-week), or six with seconds first; and their fire times in a time zone, with daylight
//! saving as Vixie cron does it (README.md, "Timers"; docs/timers.md):
//!
//! - A *fixed-time* expression (neither the minute nor the hour field starts with `*`) whose
//!   local time does not exist (the clocks jumped over it) fires once, at the first instant
//!   after the jump; one whose local time happens twice fires once, the first time.
//! - A *wildcard* expression (`*` or `*/15` in the minute or hour field) follows real time: a
//!   local time that does not exist does not fire, one that happens twice fires twice.
//!
//! Day of month and day of week combine as in Vixie cron: when both are restricted, a day
//! matching either fires; when one is `*`, the other decides.
//!
//! Written here rather than taken from a crate: `croner` 4 (whose daylight-saving rules are
//! these) and `jiff-cron` 0.3 are built on jiff 0.2, not the jiff 1 the project's times are, so
//! every time would cross a conversion; `croner` brings proc-macro crates the build does not
//! otherwise need, and `jiff-cron` has neither five-field expressions nor these rules. The
//! rules are pinned by the tests (`cron/tests.rs`), whatever computes them.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A parsed cron expression. Each field is a bit set of the values it allows.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    /// Bits 1..=31.
    days: u64,
    /// Bits 1..=12.
    months: u64,
    /// Bits 0..=6, Sunday 0.
    weekdays: u64,
    /// The day-of-month or day-of-week field starts with `*`: days match both fields.
    day_star: bool,
    /// The minute or hour field starts with `*`: the expression follows real time.
    wildcard: bool,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why an expression is not valid: what to write instead, without the table it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "has {count} fields; write 5 (minute hour day-of-month month day-of-week), or 6 with seconds first, \
         such as `0 9 * * MON-FRI`"
    )]
    FieldCount { count: usize },
    #[error("{field} field `{text}`: {problem}")]
    Field { field: &'static str, text: String, problem: String },
    #[error("never fires (no date in the next eight years matches); check the day and month fields")]
    Never,
}

/// More than any change of a zone's offset (seconds).
const MARGIN: i64 = 3 * 3600;

/// One field's name, range and value names.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const SECOND: FieldSpec = FieldSpec { name: "second", min: 0, max: 59, names: &[] };
const MINUTE: FieldSpec = FieldSpec { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: FieldSpec = FieldSpec { name: "hour", min: 0, max: 23, names: &[] };
const DAY: FieldSpec = FieldSpec { name: "day-of-month", min: 1, max: 31, names: &[] };
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
/// 7 is Sunday too, as in Vixie cron.
const WEEKDAY: FieldSpec =
    FieldSpec { name: "day-of-week", min: 0, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] };

impl Cron {
    /// Parses five or six whitespace-separated fields. Names (`MON-FRI`, `JAN`) in any case.
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            count => return Err(CronError::FieldCount { count }),
        };
        let mut weekdays = field(rest[4], &WEEKDAY)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1;
        }
        let cron = Cron {
            text: fields.join(" "),
            seconds: field(seconds, &SECOND)?,
            minutes: field(rest[0], &MINUTE)?,
            hours: field(rest[1], &HOUR)?,
            days: field(rest[2], &DAY)?,
            months: field(rest[3], &MONTH)?,
            weekdays,
            day_star: rest[2].starts_with('*') || rest[4].starts_with('*'),
            wildcard: rest[0].starts_with('*') || rest[1].starts_with('*'),
        };
        // `0 0 30 2 *` parses but never fires: say so now rather than never.
        let start = jiff::civil::date(2000, 1, 1).at(0, 0, 0, 0);
        if cron.next_match(start).is_none() {
            return Err(CronError::Never);
        }
        Ok(cron)
    }

    /// The expression as written (fields separated by one space).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the minute or hour field starts with `*`: the expression follows real time
    /// across daylight-saving changes.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The first fire time strictly after `after`, in `tz`; `None` past the end of time.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Local times map to instants in order, except near a change of offset (which moves
        // by at most a few hours). Near one, walk local matches from a little before `after`'s
        // local time, and stop once they are far enough past the best instant found that none
        // can beat it; away from one, the first match after `after` is the answer.
        let margin = jiff::Span::new().seconds(MARGIN);
        let near_change = |t: Timestamp| {
            let from = t.checked_sub(margin).unwrap_or(Timestamp::MIN);
            tz.following(from).next().is_some_and(|c| c.timestamp() <= t.checked_add(margin).unwrap_or(Timestamp::MAX))
        };
        let local = tz.to_datetime(after);
        let mut cursor = if near_change(after) { local.checked_sub(margin).ok()? } else { local };
        let mut best: Option<Timestamp> = None;
        loop {
            let found = self.next_match(cursor)?;
            if let Some(best) = best
                && (!near_change(best) || found > tz.to_datetime(best).checked_add(margin).ok()?)
            {
                return Some(best);
            }
            for at in self.instants(found, tz).into_iter().flatten() {
                if at > after && best.is_none_or(|b| at < b) {
                    best = Some(at);
                }
            }
            cursor = found.checked_add(jiff::Span::new().seconds(1)).ok()?;
        }
    }

    /// The instants a matching local time fires at (at most two).
    fn instants(&self, dt: DateTime, tz: &TimeZone) -> [Option<Timestamp>; 2] {
        match tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => [offset.to_timestamp(dt).ok(), None],
            // Skipped by the clocks: a wildcard expression does not fire; a fixed one fires
            // when the jump is over.
            AmbiguousOffset::Gap { after, .. } => {
                if self.wildcard {
                    return [None, None];
                }
                let before_jump = after.to_timestamp(dt).ok();
                [before_jump.and_then(|t| tz.following(t).next()).map(|t| t.timestamp()), None]
            }
            // Twice: a wildcard expression fires both times, a fixed one the first time only.
            AmbiguousOffset::Fold { before, after } => {
                let first = before.to_timestamp(dt).ok();
                if self.wildcard { [first, after.to_timestamp(dt).ok()] } else { [first, None] }
            }
        }
    }

    /// The first local time at or after `from` (whole seconds) that the fields match; `None`
    /// when nothing does within eight years.
    fn next_match(&self, from: DateTime) -> Option<DateTime> {
        let limit = from.year() + 8;
        let mut date = from.date();
        let (mut h, mut m, mut s) = (from.hour(), from.minute(), from.second());
        if from.subsec_nanosecond() > 0 {
            s += 1;
        }
        loop {
            if date.year() > limit {
                return None;
            }
            if !has(self.months, date.month()) {
                date = date.first_of_month().checked_add(jiff::Span::new().months(1)).ok()?;
                (h, m, s) = (0, 0, 0);
                continue;
            }
            if !self.day_matches(date) {
                date = date.tomorrow().ok()?;
                (h, m, s) = (0, 0, 0);
                continue;
            }
            // Within the day: the first matching (hour, minute, second) at or after (h, m, s).
            if let Some((h, m, s)) = self.time_at_or_after(h, m, s) {
                return Some(date.at(h, m, s, 0));
            }
            date = date.tomorrow().ok()?;
            (h, m, s) = (0, 0, 0);
        }
    }

    fn time_at_or_after(&self, h: i8, m: i8, s: i8) -> Option<(i8, i8, i8)> {
        let (mut h, mut m, mut s) = (h, m, s);
        while h < 24 {
            if has(self.hours, h) {
                while m < 60 {
                    if has(self.minutes, m)
                        && let Some(s) = (s..60).find(|s| has(self.seconds, *s))
                    {
                        return Some((h, m, s));
                    }
                    m += 1;
                    s = 0;
                }
            }
            h += 1;
            (m, s) = (0, 0);
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let day = has(self.days, date.day());
        let weekday = has(self.weekdays, date.weekday().to_sunday_zero_offset());
        if self.day_star { day && weekday } else { day || weekday }
    }
}

fn has(bits: u64, value: i8) -> bool {
    u32::try_from(value).is_ok_and(|v| v < 64 && bits & (1 << v) != 0)
}

/// One field: a comma-separated list of `*`, `N`, `N-M`, each optionally `/STEP`.
fn field(text: &str, spec: &FieldSpec) -> Result<u64, CronError> {
    let fail = |problem: String| CronError::Field { field: spec.name, text: text.to_owned(), problem };
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| (1..=spec.max).contains(s))
                    .ok_or_else(|| fail(format!("step `{step}` is not a number from 1 to {}", spec.max)))?;
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, spec).map_err(&fail)?, value(b, spec).map_err(&fail)?)
        } else {
            let v = value(range, spec).map_err(&fail)?;
            // `5/15` means 5, 20, 35, 50: from 5 to the end, every 15.
            (v, if step > 1 { spec.max } else { v })
        };
        if low > high {
            return Err(fail(format!("range `{range}` runs backwards; write the smaller value first")));
        }
        for v in (low..=high).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

fn value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.min + u32::try_from(i).unwrap_or(0));
    }
    match text.parse::<u32>() {
        Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
        _ if !spec.names.is_empty() => Err(format!(
            "`{text}` is not a value; use {} to {}, or a name such as `{}`",
            spec.min, spec.max, spec.names[1]
        )),
        _ if text.is_empty() => Err("an empty value; write a number, a range `N-M`, or `*`".to_owned()),
        _ => Err(format!("`{text}` is not a value; use {} to {}", spec.min, spec.max)),
    }
}

#[cfg(test)]
mod tests;
