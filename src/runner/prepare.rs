//! From a claimed job to the process spec: the catalogue entry (which may have changed since
//! the job was queued), the quoted command, the log directory and the environment.

use crate::config::{Catalog, Settings};
use crate::queue::model::Job;

use super::process::JobSpec;
use super::{env, logs};

/// Builds the spec for a claimed job, or says why it cannot run (the job fails with that
/// detail and the dispatcher carries on).
pub fn prepare(settings: &Settings, catalog: &Catalog, job: &Job, tee: bool) -> Result<JobSpec, String> {
    let job_type = job.job_type();
    let (Some(ns), Some(def)) = (catalog.namespace(&job.namespace), catalog.job(&job.namespace, &job.job)) else {
        return Err(format!("job `{job_type}` is no longer in {}", catalog.path.display()));
    };
    let mut expected: Vec<&str> = def.template.params().collect();
    expected.sort_unstable();
    let given: Vec<&str> = job.args.0.keys().map(String::as_str).collect();
    if expected != given {
        return Err(format!(
            "the args of job {} ({}) no longer fit the template of `{job_type}` (`{}`)",
            job.id,
            if given.is_empty() { "none".to_owned() } else { given.join(", ") },
            def.template.source()
        ));
    }
    let command = def
        .template
        .render(&job.args.0)
        .ok_or_else(|| format!("the args of job {} do not fill the template of `{job_type}`", job.id))?;
    let started = job.started_at().unwrap_or(job.created_at);
    let log_dir = logs::log_dir(&settings.logs_dir, &job_type, started, job.id);
    let requested_by = job.requests.first().map(|r| r.origin.requested_by()).unwrap_or_default();
    let (env, env_remove) = env::job_env(settings, ns, job.id, &job_type, &log_dir, &requested_by);
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
