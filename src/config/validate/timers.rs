//! `[[ns.timers]]` recurring jobs: a unique name, the job, its cron expression and time zone,
//! a value for every placeholder (checked like any other value), where it reports, and what it
//! does with fire times it missed.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use toml::Spanned;

use super::super::catalog::{JobDef, Missed, Timer};
use super::super::cron::Cron;
use super::super::invalid::{Invalid, NamespaceProblem, Problem, TimerProblem};
use super::super::raw::RawTimer;
use super::super::settings::Settings;
use super::namespace::check_channel;
use super::{Source, bad_choice, is_job_name, unknown_job};

pub(super) fn timers(
    namespace: &str,
    raw: Vec<Spanned<RawTimer>>,
    jobs: &BTreeMap<String, JobDef>,
    default_channel: Option<&str>,
    src: &Source<'_>,
    settings: &Settings,
) -> Result<Vec<Timer>, Invalid> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for entry in raw {
        let line = src.at(entry.span());
        let raw = entry.into_inner();
        let name = raw.name.clone();
        let invalid = |problem: TimerProblem, (line, column): (usize, Option<usize>)| Invalid {
            problem: Box::new(Problem::Timer { namespace: namespace.to_owned(), timer: name.clone(), problem }),
            line,
            column,
        };
        if !names.insert(raw.name.clone()) {
            return Err(invalid(TimerProblem::Duplicate { namespace: namespace.to_owned() }, (line, None)));
        }
        out.push(timer(namespace, raw, jobs, default_channel, src, settings).map_err(|located| {
            let (p, at) = *located;
            invalid(p, at.map_or((line, None), |(l, c)| (l, Some(c))))
        })?);
    }
    Ok(out)
}

/// A problem, and the line and column of the value it is in when that is more exact than the
/// timer's table.
type Located = Box<(TimerProblem, Option<(usize, usize)>)>;

fn located(problem: TimerProblem, at: Option<(usize, usize)>) -> Located {
    Box::new((problem, at))
}

fn timer(
    namespace: &str,
    raw: RawTimer,
    jobs: &BTreeMap<String, JobDef>,
    default_channel: Option<&str>,
    src: &Source<'_>,
    settings: &Settings,
) -> Result<Timer, Located> {
    if !is_job_name(&raw.name) {
        return Err(located(TimerProblem::Name, None));
    }
    let cron = Cron::parse(raw.cron.get_ref()).map_err(|error| {
        located(
            TimerProblem::Cron { expression: raw.cron.get_ref().clone(), error },
            Some(src.at_column(raw.cron.span())),
        )
    })?;
    let timezone = match &raw.timezone {
        None => settings.timezone.clone(),
        Some(name) => TimeZone::get(name.get_ref())
            .map_err(|_| (TimerProblem::Timezone { name: name.get_ref().clone() }, Some(src.at_column(name.span()))))?,
    };
    let job = jobs
        .get(&raw.job_type)
        .ok_or_else(|| located(TimerProblem::UnknownJob(unknown_job(namespace, &raw.job_type, jobs)), None))?;
    check_params(&raw.params, job).map_err(|p| located(p, None))?;
    let missed = match raw.missed.as_deref() {
        None => Missed::Once,
        Some(text) => Missed::parse(text).ok_or_else(|| {
            located(TimerProblem::Missed(bad_choice("missed", text, &Missed::ALL.map(Missed::as_str))), None)
        })?,
    };
    let notify = match raw.notify.as_deref() {
        None => default_channel.map(str::to_owned),
        Some("none") => None,
        Some(channel) => {
            check_channel(channel).map_err(|e| match e {
                NamespaceProblem::Channel { channel, near } => located(TimerProblem::Notify { channel, near }, None),
                _ => located(TimerProblem::Notify { channel: channel.to_owned(), near: None }, None),
            })?;
            Some(channel.to_owned())
        }
    };
    Ok(Timer {
        namespace: namespace.to_owned(),
        name: raw.name,
        job: raw.job_type,
        cron,
        timezone,
        params: raw.params,
        notify,
        missed,
    })
}

/// `params` must give exactly the job's placeholders, each a value its rule accepts.
fn check_params(params: &BTreeMap<String, String>, job: &JobDef) -> Result<(), TimerProblem> {
    let have: BTreeSet<&str> = params.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = job.template.params().collect();
    let missing: Vec<String> = want.difference(&have).map(|p| (*p).to_owned()).collect();
    if !missing.is_empty() {
        return Err(TimerProblem::MissingParams { job_type: job.job_type().to_string(), missing });
    }
    let extra: Vec<String> = have.difference(&want).map(|p| (*p).to_owned()).collect();
    if !extra.is_empty() {
        return Err(TimerProblem::ExtraParams { job_type: job.job_type().to_string(), extra });
    }
    for (name, value) in params {
        job.check_value(name, value).map_err(TimerProblem::Param)?;
    }
    Ok(())
}
