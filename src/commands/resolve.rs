//! From names typed by a user to catalogue entries and validated args.

use std::collections::BTreeMap;

use crate::config::{Catalog, JobDef, Namespace, closest};
use crate::queue::model::Args;

use super::{CommandError, Result};

/// The largest shell command a job may get (the quoted template).
pub const MAX_COMMAND: usize = 120 * 1024;

pub fn namespace<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Namespace> {
    catalog.namespace(name).ok_or_else(|| CommandError::UnknownNamespace {
        name: name.to_owned(),
        suggestion: closest(name, catalog.namespaces.keys().map(String::as_str)).map(str::to_owned),
    })
}

pub fn job<'a>(catalog: &'a Catalog, namespace: &str, job: &str) -> Result<&'a JobDef> {
    let ns = self::namespace(catalog, namespace)?;
    ns.jobs.get(job).ok_or_else(|| CommandError::UnknownJob {
        namespace: namespace.to_owned(),
        name: job.to_owned(),
        suggestion: closest(job, ns.jobs.keys().map(String::as_str)).map(str::to_owned),
    })
}

/// The template's params that `given` lacks, in template order.
pub fn missing_params(job: &JobDef, given: &[(String, String)]) -> Vec<String> {
    job.template.params().filter(|p| !given.iter().any(|(n, _)| n == p)).map(str::to_owned).collect()
}

/// Checks `given` against the job's template: no unknown, repeated or missing params, no NUL,
/// each value within its param's rule (`[ns.jobs.job.params.name]`), and a command within
/// [`MAX_COMMAND`]. Refused here, at scheduling, never at spawn. Every frontend (terminal,
/// Slack, webhooks) queues jobs through this function.
pub fn args(job: &JobDef, given: Vec<(String, String)>) -> Result<Args> {
    let job_type = job.job_type();
    let expected: Vec<String> = job.template.params().map(str::to_owned).collect();
    let mut args = BTreeMap::new();
    for (name, value) in given {
        if !expected.contains(&name) {
            return Err(CommandError::UnknownParam { job_type, name, expected });
        }
        if value.contains('\0') {
            return Err(CommandError::NulInValue { name });
        }
        job.check_value(&name, &value)?;
        if args.insert(name.clone(), value).is_some() {
            return Err(CommandError::RepeatedParam { name });
        }
    }
    let missing: Vec<String> = expected.iter().filter(|p| !args.contains_key(*p)).cloned().collect();
    if !missing.is_empty() {
        return Err(CommandError::MissingParams { job_type, missing });
    }
    let size = job.template.render(&args).map_or(0, |c| c.len());
    if size > MAX_COMMAND {
        return Err(CommandError::CommandTooLong { job_type, size });
    }
    Ok(Args(args))
}
