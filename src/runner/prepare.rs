//! From a claimed job to the process spec: the catalogue entry (which may have changed since
//! the job was queued), the quoted command, the log directory and the environment.

use std::path::PathBuf;

use crate::config::{Catalog, JobType, Settings};
use crate::queue::model::{Job, JobId};

use super::process::JobSpec;
use super::{env, logs};

/// Why a claimed job cannot run: its job fails with this as its detail, and the dispatcher
/// carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// `jobs.toml` was reloaded without the job.
    #[error("job `{job_type}` is no longer in {}", catalog.display())]
    Gone { job_type: JobType, catalog: PathBuf },
    /// The template's params changed since the job was queued.
    #[error("the args of job {id} ({}) no longer fit the template of `{job_type}` (`{template}`)", names(given))]
    ArgsChanged { id: JobId, job_type: JobType, given: Vec<String>, template: String },
    #[error("the args of job {id} do not fill the template of `{job_type}`")]
    Unfilled { id: JobId, job_type: JobType },
    /// A value breaks its param's rule in the catalogue the dispatcher runs with.
    #[error("job {id}: {source}")]
    BadValue {
        id: JobId,
        #[source]
        source: Box<crate::config::ParamError>,
    },
}

fn names(given: &[String]) -> String {
    if given.is_empty() { "none".to_owned() } else { given.join(", ") }
}

/// Builds the spec for a claimed job, or says why it cannot run.
pub fn prepare(settings: &Settings, catalog: &Catalog, job: &Job, tee: bool) -> Result<JobSpec, PrepareError> {
    let job_type = job.job_type();
    let (Some(ns), Some(def)) = (catalog.namespace(&job.namespace), catalog.job(&job.namespace, &job.job)) else {
        return Err(PrepareError::Gone { job_type, catalog: catalog.path.clone() });
    };
    let mut expected: Vec<&str> = def.template.params().collect();
    expected.sort_unstable();
    let given: Vec<&str> = job.args.0.keys().map(String::as_str).collect();
    if expected != given {
        let given = given.into_iter().map(str::to_owned).collect();
        let template = def.template.source().to_owned();
        return Err(PrepareError::ArgsChanged { id: job.id, job_type, given, template });
    }
    // The catalogue may have changed since the job was queued: its values must still pass.
    for (name, value) in &job.args.0 {
        def.check_value(name, value).map_err(|e| PrepareError::BadValue { id: job.id, source: Box::new(e) })?;
    }
    let Some(command) = def.template.render(&job.args.0) else {
        return Err(PrepareError::Unfilled { id: job.id, job_type });
    };
    let started = job.started_at().unwrap_or(job.created_at);
    let log_dir = logs::log_dir(&settings.logs_dir, &job_type, started, job.id);
    let requested_by = job.requests.first().map(|r| r.origin.requested_by()).unwrap_or_default();
    let (env, mut env_remove) = env::job_env(settings, ns, job.id, &job_type, &log_dir, &requested_by);
    // The projects' own webhook secrets: no job sees them, whatever its namespace.
    for var in catalog.namespaces.values().filter_map(|n| n.github_secret.as_deref()) {
        env_remove.extend(crate::config::secrets::hidden_vars(var));
    }
    Ok(JobSpec {
        id: job.id,
        job_type,
        command,
        shell: settings.shell.clone(),
        workdir: ns.workdir.clone(),
        workdir_fixed: ns.workdir_fixed,
        env,
        env_remove,
        log_dir,
        max_log: settings.max_log,
        timeout: def.timeout,
        kill_grace: settings.kill_grace,
        tee,
        reaper: settings.job_reaper.clone(),
    })
}
