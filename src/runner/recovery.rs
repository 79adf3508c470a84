//! Recovery (docs/architecture.md §2): a running job whose dispatcher is gone — its pid is dead, or belongs
//! to another process (a different start time), or the machine has rebooted — has its process
//! group stopped if a member still carries its `EBMBOT_JOB_ID` (never a reused group), becomes
//! `lost`, and unblocks its type; `on_lost = "retry"` queues it again once.

use jiff::Timestamp;

use crate::config::{Catalog, OnLost, Settings};
use crate::queue::model::{Dispatcher, DispatcherId, Job};
use crate::queue::{Queue, QueueError};

use super::{Reporter, host_log_dir, proc};

/// Whether a dispatcher is certainly gone. On this host: its pid is dead or another process's,
/// or the host has rebooted. On another host its processes cannot be seen: it is gone once its
/// lease has ended without a renewal (it stops its own jobs before that when it cannot renew:
/// `runner::lease`). One registered before leases, on another host, is never judged gone.
pub fn is_gone(d: &Dispatcher, host: &str, boot_id: &str, now: Timestamp) -> bool {
    if d.host != host {
        return d.lease_until.is_some_and(|until| until < now);
    }
    if d.boot_id != boot_id {
        return true;
    }
    let (Ok(pid), Ok(start)) = (i32::try_from(d.pid), u64::try_from(d.pid_start)) else {
        return true;
    };
    !proc::is_alive_as(pid, start)
}

/// Settles the running jobs of gone dispatchers and forgets those dispatchers. `me` is never
/// gone. Returns how many jobs were settled.
pub fn recover(
    queue: &mut Queue,
    catalog: &Catalog,
    settings: &Settings,
    me: DispatcherId,
    now: Timestamp,
    reporter: &dyn Reporter,
) -> Result<usize, QueueError> {
    let host = proc::hostname();
    let boot_id = proc::boot_id();
    let dispatchers = queue.dispatchers()?;
    let gone: Vec<&Dispatcher> =
        dispatchers.iter().filter(|d| d.id != me && is_gone(d, &host, &boot_id, now)).collect();
    let mut settled = 0;
    for owned in queue.running_with_owners()? {
        let job = owned.job;
        let orphan = match &owned.owner {
            None => job.status.run().is_none_or(|r| r.dispatcher != me),
            Some(d) => gone.iter().any(|g| g.id == d.id),
        };
        if !orphan {
            continue;
        }
        // A process group means something only on the host, and in the boot, that made it.
        let here = owned.owner.as_ref().is_none_or(|d| d.host == host && d.boot_id == boot_id);
        if let Some(pgid) = job.process().and_then(|p| p.pgid).filter(|_| here) {
            let members = proc::group_members_with_env(pgid, "EBMBOT_JOB_ID", &job.id.to_string());
            if !members.is_empty() {
                reporter.note(&format!("job {} outlived its dispatcher; stopping its process group {pgid}", job.id));
                // The group's leader is the job's reaper: on SIGTERM it stops everything under it,
                // whatever group it is in, within the kill grace; SIGKILL only if it cannot.
                proc::stop_group(pgid, settings.kill_grace + super::process::REAPER_MARGIN);
            }
        }
        let detail = lost_detail(&job, owned.owner.as_ref(), &host, settings);
        let retry = catalog.job(&job.namespace, &job.job).is_some_and(|d| d.on_lost == OnLost::Retry);
        if let Some((lost, retried)) = queue.settle_lost(job.id, &detail, retry, now)? {
            settled += 1;
            reporter.finished(&lost);
            if let Some(again) = retried {
                reporter.note(&format!("job {} will run again as job {again} (on_lost = \"retry\")", lost.id));
            }
        }
    }
    for d in gone {
        queue.forget_dispatcher(d.id)?;
    }
    Ok(settled)
}

/// Why a job was lost, for its outcome.
fn lost_detail(job: &Job, owner: Option<&Dispatcher>, host: &str, settings: &Settings) -> String {
    let logs = job.log_dir().map_or_else(|| "its log directory".to_owned(), |d| host_log_dir(settings, d));
    match owner {
        Some(d) if d.host != host => format!(
            "its dispatcher on host `{}` stopped renewing its lease (last heartbeat {}); its logs are in {logs} on that host",
            d.host,
            d.heartbeat_at.round(jiff::Unit::Second).unwrap_or(d.heartbeat_at)
        ),
        _ => format!("ebmbot stopped while this job was running; its logs are in {logs}"),
    }
}
