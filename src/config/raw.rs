//! `jobs.toml` as written: serde structs with `deny_unknown_fields`, before validation.
//!
//! Enumerated values (`report_format`, `action`, …) stay strings here so that validation can
//! name the allowed values and suggest the nearest one. Tables of arrays and jobs keep their
//! span so that validation errors can give a line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Namespace name → namespace, as written.
pub(super) type RawCatalog = BTreeMap<String, Spanned<RawNamespace>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a namespace table such as `[example]`")]
pub(super) struct RawNamespace {
    pub description: Option<String>,
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub allow_reminders: bool,
    pub default_channel: Option<String>,
    pub fabfile: Option<String>,
    #[serde(default)]
    pub pass_secrets: Vec<String>,
    /// The repositories whose deliveries the project takes: `"owner/name"` or a list.
    pub github_repository: Option<Repositories>,
    /// The variable holding the project's own webhook secret.
    pub github_secret: Option<String>,
    #[serde(default)]
    pub jobs: BTreeMap<String, Spanned<RawJob>>,
    #[serde(default)]
    pub slack: Vec<Spanned<RawSlack>>,
    #[serde(default)]
    pub github: Vec<Spanned<RawTrigger>>,
    #[serde(default)]
    pub timers: Vec<Spanned<RawTimer>>,
    #[serde(default)]
    pub listeners: Vec<Spanned<RawListener>>,
}

/// `github_repository = "owner/name"` or `["owner/a", "owner/b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a repository `\"owner/name\"` or a list of them")]
pub(super) enum Repositories {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a job table such as `[example.jobs.hello]`")]
pub(super) struct RawJob {
    pub run_args_template: String,
    pub report_stdout: Option<bool>,
    pub report_success: Option<bool>,
    pub report_format: Option<String>,
    pub call_tech_support_on_error: Option<bool>,
    pub suppress_empty: Option<bool>,
    /// A duration string, `"none"`, or (leniently) an integer number of seconds.
    pub timeout: Option<toml::Value>,
    pub on_lost: Option<String>,
    pub confirm: Option<bool>,
    /// Rules for the values of placeholders, one table per param.
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<RawParam>>,
}

/// `[ns.jobs.job.params.name]`: what a value of `{name}` may be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a param table such as `[example.jobs.hello.params.name]`")]
pub(super) struct RawParam {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<String>,
    pub choices: Option<Vec<String>>,
    pub allow_dash: Option<bool>,
    pub example: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a slack command table such as `[[example.slack]]`")]
pub(super) struct RawSlack {
    pub command: String,
    pub help: String,
    pub action: String,
    pub job_type: String,
    pub delay_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a github trigger table such as `[[example.github]]`")]
pub(super) struct RawTrigger {
    pub event: String,
    pub action: Option<String>,
    pub merged: Option<bool>,
    pub branch: Option<String>,
    pub job_type: String,
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a timer table such as `[[example.timers]]`")]
pub(super) struct RawTimer {
    pub name: String,
    pub job_type: String,
    /// Spanned, so that a bad expression's error points at it.
    pub cron: Spanned<String>,
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    pub notify: Option<String>,
    pub missed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a support listener table such as `[[techsupport.listeners]]`")]
pub(super) struct RawListener {
    pub name: String,
    #[serde(rename = "match")]
    pub words: Vec<String>,
    pub channel: String,
    pub reaction: String,
    #[serde(default)]
    pub out_of_office: bool,
}
