//! Validation: raw `jobs.toml` structs → [`Namespace`]s, once, at load (README.md, "jobs.toml").
//!
//! Each check returns what is wrong as data ([`super::invalid`]), whose `Display` is the
//! one-line message: the namespace/job/command in backticks, what is wrong, the fix, and the
//! line. `load` adds the file.

mod github;
mod listeners;
mod namespace;
mod params;
mod slack;
mod timers;

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::catalog::{JobDef, Namespace, OnLost, ReportFormat};
use super::invalid::{BadChoice, Invalid, JobProblem, NegativeDelay, Problem, TimeoutProblem, UnknownJob};
use super::raw::{RawCatalog, RawJob};
use super::suggest::closest;
use super::template::Template;
use super::{Settings, duration, load};

/// Namespaces that would shadow a built-in command.
pub const RESERVED_NAMESPACES: [&str; 8] = ["help", "status", "logs", "cancel", "remove", "dry", "timers", "ooo"];

/// Params that would shadow an option of `ebmbot schedule`/`run` or a word of the grammar.
pub const RESERVED_PARAMS: [&str; 10] =
    ["delay", "help", "json", "config", "db", "id", "force", "notify", "verbose", "yes"];

pub(super) fn catalog(
    raw: RawCatalog,
    text: &str,
    settings: &Settings,
) -> Result<BTreeMap<String, Namespace>, Invalid> {
    let src = Source(text);
    let lines: BTreeMap<String, usize> = raw.iter().map(|(name, ns)| (name.clone(), src.at(ns.span()))).collect();
    let namespaces: BTreeMap<String, Namespace> = raw
        .into_iter()
        .map(|(name, ns)| Ok((name.clone(), namespace::namespace(name, ns, &src, settings)?)))
        .collect::<Result<_, Invalid>>()?;
    listeners::unique(&namespaces, &lines)?;
    Ok(namespaces)
}

/// The text of `jobs.toml`, for line numbers.
struct Source<'a>(&'a str);

impl Source<'_> {
    /// The line a span of the file starts on.
    fn at(&self, span: Range<usize>) -> usize {
        load::position(self.0, span.start).0
    }

    /// The line and column a span of the file starts at.
    fn at_column(&self, span: Range<usize>) -> (usize, usize) {
        load::position(self.0, span.start)
    }
}

/// `problem`, found in the table that starts on `line`.
fn at(line: usize) -> impl Fn(Problem) -> Invalid {
    move |problem| Invalid { problem: Box::new(problem), line, column: None }
}

fn job(
    namespace: &str,
    name: String,
    raw: Spanned<RawJob>,
    src: &Source<'_>,
    settings: &Settings,
) -> Result<JobDef, Invalid> {
    let line = src.at(raw.span());
    let invalid = at(line);
    let raw = raw.into_inner();
    if !is_job_name(&name) {
        return Err(invalid(Problem::JobName { namespace: namespace.to_owned(), name }));
    }
    let job_type = super::JobType::new(namespace, &name).to_string();
    let template = Template::parse(&raw.run_args_template)
        .map_err(|error| invalid(Problem::Template { job_type: job_type.clone(), error }))?;
    if let Some(param) = template.params().find(|p| RESERVED_PARAMS.contains(p)) {
        return Err(invalid(Problem::ReservedParam { job_type, param: param.to_owned() }));
    }
    let params = params::rules(namespace, &name, &template, raw.params, src)?;
    params::check_rereads(namespace, &name, &template, &params).map_err(|e| invalid(Problem::Reread(e)))?;
    let job_problem = |problem| invalid(Problem::Job { namespace: namespace.to_owned(), job: name.clone(), problem });
    let report_format = match raw.report_format.as_deref() {
        None => ReportFormat::Text,
        Some(text) => ReportFormat::parse(text).ok_or_else(|| {
            job_problem(JobProblem::Choice(bad_choice(
                "report_format",
                text,
                &ReportFormat::ALL.map(ReportFormat::as_str),
            )))
        })?,
    };
    let on_lost = match raw.on_lost.as_deref() {
        None => OnLost::Fail,
        Some(text) => OnLost::parse(text).ok_or_else(|| {
            job_problem(JobProblem::Choice(bad_choice("on_lost", text, &OnLost::ALL.map(OnLost::as_str))))
        })?,
    };
    let timeout = match &raw.timeout {
        None => settings.job_timeout,
        Some(value) => timeout(value).map_err(|e| job_problem(JobProblem::Timeout(e)))?,
    };
    Ok(JobDef {
        name,
        namespace: namespace.to_owned(),
        template,
        report_stdout: raw.report_stdout.unwrap_or(false),
        report_success: raw.report_success.unwrap_or(true),
        report_format,
        call_tech_support_on_error: raw.call_tech_support_on_error.unwrap_or(true),
        suppress_empty: raw.suppress_empty.unwrap_or(false),
        timeout,
        on_lost,
        confirm: raw.confirm.unwrap_or(false),
        params,
    })
}

/// `^[a-z0-9][a-z0-9_-]{0,63}$`
fn is_job_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '0'..='9'))
        && name.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// `timeout`: a duration string, `"none"`, or a whole number of seconds.
fn timeout(value: &toml::Value) -> Result<Option<Duration>, TimeoutProblem> {
    let parsed = match value {
        toml::Value::String(s) if s == "none" => return Ok(None),
        toml::Value::String(s) => duration::parse(s).map_err(TimeoutProblem::Duration)?,
        toml::Value::Integer(n) => {
            u64::try_from(*n).map(Duration::from_secs).map_err(|_| TimeoutProblem::Negative(*n))?
        }
        other => return Err(TimeoutProblem::NotADuration(other.to_string())),
    };
    if parsed.is_zero() {
        return Err(TimeoutProblem::Zero);
    }
    Ok(Some(parsed))
}

/// `delay_seconds`: a whole number of seconds, 0 or more.
fn delay(seconds: Option<i64>) -> Result<Duration, NegativeDelay> {
    let seconds = seconds.unwrap_or(0);
    u64::try_from(seconds).map(Duration::from_secs).map_err(|_| NegativeDelay(seconds))
}

/// `value` of `key` is none of `choices`.
fn bad_choice(key: &'static str, value: &str, choices: &[&'static str]) -> BadChoice {
    BadChoice { key, value: value.to_owned(), choices: choices.to_vec() }
}

/// "unknown job `helo`; did you mean `hello`?" for a `job_type` of namespace `namespace`.
fn unknown_job(namespace: &str, name: &str, jobs: &BTreeMap<String, JobDef>) -> UnknownJob {
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    let prefixed = name.strip_prefix(&namespace).and_then(|rest| rest.strip_prefix('_'));
    if let Some(job) = prefixed.filter(|job| jobs.contains_key(*job)) {
        let job = job.to_owned();
        return UnknownJob::FullType { namespace, name, job };
    }
    if jobs.is_empty() {
        return UnknownJob::NoJobs { namespace, name };
    }
    match closest(&name, jobs.keys().map(String::as_str)) {
        Some(near) => UnknownJob::Near { near: near.to_owned(), name },
        None => UnknownJob::OneOf { name, jobs: jobs.keys().cloned().collect() },
    }
}

#[cfg(test)]
mod tests;
