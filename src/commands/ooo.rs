//! `ooo`: a support listener's out-of-office period (docs/slack.md, "Out of office"). While
//! it holds, a message that calls the listener also gets, in its thread, "<listener> is out of
//! office until <date>; your message has been passed on". Anyone may see the periods; only
//! trusted callers (the terminal, internal Slack users) may set or end one.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::config::Listener;
use crate::queue::model::rfc3339;
use crate::queue::{OutOfOffice, Queue};

use super::access::{Allowed, Caller, Scope};
use super::time::parse_time;
use super::{Action, CommandError, Context, Result};

/// What `ooo` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ooo {
    /// `ooo`: the periods set.
    Show,
    /// `ooo <listener> [--from T] --until T`: `from` defaults to now.
    Set { listener: String, from: Option<String>, until: String },
    /// `ooo <listener> --off`.
    Off { listener: String },
}

/// What `ooo` did: the periods that have not ended, after the change, and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct OooReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<OutOfOffice>,
    /// `--off`: the listener named, and whether it had a period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<(String, bool)>,
    pub periods: Vec<OutOfOffice>,
    /// The listeners `ooo` applies to (`out_of_office = true`).
    pub listeners: Vec<String>,
}

impl Action for Ooo {
    type Output = OooReport;

    fn scope(&self) -> Scope<'_> {
        match self {
            Self::Show => Scope::Open,
            Self::Set { .. } | Self::Off { .. } => Scope::TrustedOnly("setting out of office"),
        }
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<OooReport> {
        let now = ctx.clock.now();
        let (mut set, mut ended) = (None, None);
        match self {
            Self::Show => {}
            Self::Set { listener, from, until } => {
                let listener = listener_of(ctx, &listener)?;
                let tz = &ctx.settings.timezone;
                let start = match &from {
                    Some(t) => when(t, now, tz, false)?,
                    None => now,
                };
                let end = when(&until, now, tz, true)?;
                if end <= now {
                    return Err(CommandError::EndInPast { text: until, end: rfc3339(end) });
                }
                if start >= end {
                    return Err(CommandError::EmptyWindow { start: rfc3339(start), end: rfc3339(end) });
                }
                let period = OutOfOffice { listener: listener.name.clone(), start, end, set_by: caller.requested_by() };
                queue.set_out_of_office(&period, now)?;
                set = Some(period);
            }
            Self::Off { listener } => {
                let listener = listener_of(ctx, &listener)?;
                ended = Some((listener.name.clone(), queue.clear_out_of_office(&listener.name, now)?));
            }
        }
        let listeners = ctx.catalog.listeners().filter(|l| l.out_of_office).map(|l| l.name.clone()).collect();
        Ok(OooReport { set, ended, periods: queue.out_of_office(now)?, listeners })
    }
}

/// The listener `ooo` names: it must exist and have `out_of_office = true`.
fn listener_of<'c>(ctx: &Context<'c>, name: &str) -> Result<&'c Listener> {
    let Some(listener) = ctx.catalog.listener(name) else {
        let names: Vec<&str> = ctx.catalog.listeners().map(|l| l.name.as_str()).collect();
        return Err(CommandError::UnknownListener {
            name: name.to_owned(),
            suggestion: crate::config::closest(name, names.iter().copied()).map(str::to_owned),
        });
    };
    if !listener.out_of_office {
        return Err(CommandError::NoOutOfOffice { listener: listener.name.clone() });
    }
    Ok(listener)
}

/// A time as `suppress` takes it, or a date (`2026-12-24`) in `EBMBOT_TIMEZONE`: its start, or
/// with `end_of_day` the start of the next day (an `--until` date is the last day away).
fn when(text: &str, now: Timestamp, tz: &jiff::tz::TimeZone, end_of_day: bool) -> Result<Timestamp> {
    if let Ok(date) = text.trim().parse::<Date>() {
        let day = if end_of_day { date.tomorrow().unwrap_or(date) } else { date };
        return day
            .at(0, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|_| CommandError::BadTime(super::time::TimeError { text: text.to_owned() }));
    }
    Ok(parse_time(text, now, tz)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_a_whole_day_in_the_time_zone() {
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
        assert_eq!(when("2026-12-24", now, &london, false).unwrap().to_string(), "2026-12-24T00:00:00Z");
        assert_eq!(when("2026-12-24", now, &london, true).unwrap().to_string(), "2026-12-25T00:00:00Z");
        let summer = when("2026-07-01", now, &london, false).unwrap();
        assert_eq!(summer.to_string(), "2026-06-30T23:00:00Z");
        assert_eq!(when("+2h", now, &london, true).unwrap().to_string(), "2026-12-01T12:00:00Z");
        assert!(when("next week", now, &london, true).is_err());
    }
}
