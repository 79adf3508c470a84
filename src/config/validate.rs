//! Validation: raw `jobs.toml` structs → [`Namespace`]s, once, at load (README.md, "jobs.toml").
//!
//! Each check returns the whole one-line message: the namespace/job/command in backticks, what
//! is wrong, the fix, and the line. `load` adds the file.

mod github;
mod namespace;
mod params;
mod slack;

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::catalog::{JobDef, Namespace, OnLost, ReportFormat};
use super::raw::{RawCatalog, RawJob};
use super::suggest::closest;
use super::template::{Template, TemplateError};
use super::{Settings, duration, load};

/// Namespaces that would shadow a built-in command.
pub const RESERVED_NAMESPACES: [&str; 7] = ["help", "status", "logs", "cancel", "remove", "dry", "timers"];

/// Params that would shadow an option of `ebmbot schedule`/`run` or a word of the grammar.
pub const RESERVED_PARAMS: [&str; 9] = ["delay", "help", "json", "config", "db", "id", "force", "notify", "verbose"];

pub(super) fn catalog(raw: RawCatalog, text: &str, settings: &Settings) -> Result<BTreeMap<String, Namespace>, String> {
    let src = Source(text);
    raw.into_iter().map(|(name, ns)| Ok((name.clone(), namespace::namespace(name, ns, &src, settings)?))).collect()
}

/// The text of `jobs.toml`, for line numbers.
struct Source<'a>(&'a str);

impl Source<'_> {
    /// `(line N)` for a span of the file.
    fn at(&self, span: Range<usize>) -> String {
        format!("(line {})", load::position(self.0, span.start).0)
    }
}

fn job(
    namespace: &str,
    name: String,
    raw: Spanned<RawJob>,
    src: &Source<'_>,
    settings: &Settings,
) -> Result<JobDef, String> {
    let at = src.at(raw.span());
    let raw = raw.into_inner();
    if !is_job_name(&name) {
        return Err(format!(
            "job `{name}` in `{namespace}` is not a valid name; use up to 64 lowercase letters, \
             digits, `_` and `-`, starting with a letter or digit {at}"
        ));
    }
    let subject = format!("`{namespace}.jobs.{name}`");
    let job_type = super::JobType::new(namespace, &name);
    let template =
        Template::parse(&raw.run_args_template).map_err(|e| format!("{} {at}", template_message(&job_type, &e)))?;
    if let Some(param) = template.params().find(|p| RESERVED_PARAMS.contains(p)) {
        return Err(format!(
            "placeholder `{{{param}}}` in `{job_type}` is reserved (it is an ebmbot option); \
             rename it {at}"
        ));
    }
    let params = params::rules(namespace, &name, &template, raw.params, src)?;
    params::check_rereads(namespace, &name, &template, &params, &at)?;
    let report_format = match raw.report_format.as_deref() {
        None => ReportFormat::Text,
        Some(text) => ReportFormat::parse(text).ok_or_else(|| {
            let names = ReportFormat::ALL.map(ReportFormat::as_str);
            format!("{subject}: {} {at}", bad_choice("report_format", text, &names))
        })?,
    };
    let on_lost = match raw.on_lost.as_deref() {
        None => OnLost::Fail,
        Some(text) => OnLost::parse(text).ok_or_else(|| {
            let names = OnLost::ALL.map(OnLost::as_str);
            format!("{subject}: {} {at}", bad_choice("on_lost", text, &names))
        })?,
    };
    let timeout = match &raw.timeout {
        None => settings.job_timeout,
        Some(value) => timeout(value).map_err(|e| format!("{subject}: {e} {at}"))?,
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

/// A template error, naming the job type (the loader's half of [`TemplateError`]).
fn template_message(job_type: &str, err: &TemplateError) -> String {
    match err {
        TemplateError::StrayBrace { brace, at } => format!(
            "unmatched `{brace}` at byte {at} of the `run_args_template` of `{job_type}`; \
             write `{brace}{brace}` for a literal brace"
        ),
        TemplateError::BadName { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` is not a valid name; use lowercase letters, \
             digits and `_` (at most 32, not starting with a digit), or write `{{{{` and `}}}}` \
             for literal braces"
        ),
        TemplateError::InsideQuotes { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` is inside quotes; remove them, ebmbot \
             quotes values"
        ),
        TemplateError::AfterDollar { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` follows `$`, which would make bash \
             reinterpret the value; put a space between them"
        ),
        TemplateError::AfterBackslash { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` follows `\\`, which would take the value's \
             opening quote; remove the backslash"
        ),
    }
}

/// `timeout`: a duration string, `"none"`, or a whole number of seconds.
fn timeout(value: &toml::Value) -> Result<Option<Duration>, String> {
    let parsed = match value {
        toml::Value::String(s) if s == "none" => return Ok(None),
        toml::Value::String(s) => duration::parse(s).map_err(|e| format!("timeout {e}, or `\"none\"`"))?,
        toml::Value::Integer(n) => u64::try_from(*n)
            .map(Duration::from_secs)
            .map_err(|_| format!("timeout `{n}` is negative; write a duration such as `\"1h\"`, or `\"none\"`"))?,
        other => {
            return Err(format!("timeout `{other}` is not a duration; write one such as `\"1h30m\"`, or `\"none\"`"));
        }
    };
    if parsed.is_zero() {
        return Err("timeout is zero; write a positive duration, or `\"none\"`".to_owned());
    }
    Ok(Some(parsed))
}

/// `delay_seconds`: a whole number of seconds, 0 or more.
fn delay(seconds: Option<i64>) -> Result<Duration, String> {
    let seconds = seconds.unwrap_or(0);
    u64::try_from(seconds)
        .map(Duration::from_secs)
        .map_err(|_| format!("delay_seconds `{seconds}` is negative; write 0 or more seconds"))
}

/// "`key` `value` is not valid; use one of …" with the nearest choice when one is close.
fn bad_choice(key: &str, value: &str, choices: &[&str]) -> String {
    let list = choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    match closest(value, choices.iter().copied()) {
        Some(near) => {
            format!("{key} `{value}` is not valid; did you mean `{near}`? (one of {list})")
        }
        None => format!("{key} `{value}` is not valid; use one of {list}"),
    }
}

/// "unknown job `helo`; did you mean `hello`?" for a `job_type` of namespace `namespace`.
fn unknown_job(namespace: &str, name: &str, jobs: &BTreeMap<String, JobDef>) -> String {
    let prefixed = name.strip_prefix(namespace).and_then(|rest| rest.strip_prefix('_'));
    if let Some(job) = prefixed.filter(|job| jobs.contains_key(*job)) {
        return format!("job_type `{name}` is a full job type; write `{job}`, the job's name inside `{namespace}`");
    }
    if jobs.is_empty() {
        return format!("unknown job `{name}`: `{namespace}` has no jobs; add `[{namespace}.jobs.{name}]`");
    }
    if let Some(near) = closest(name, jobs.keys().map(String::as_str)) {
        format!("unknown job `{name}`; did you mean `{near}`?")
    } else {
        let list = jobs.keys().map(|j| format!("`{j}`")).collect::<Vec<_>>();
        format!("unknown job `{name}`; use one of {}", list.join(", "))
    }
}

#[cfg(test)]
mod tests;
