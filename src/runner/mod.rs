//! Running jobs: one job's command as a process group, with its environment, live capped logs,
//! timeout and cancellation; Linux process identity for recovery; fabfile fetching.
//!
//! Everything here is synchronous (std threads, no tokio) and knows nothing of Slack or HTTP:
//! the [`Dispatcher`] claims a job from the queue, [`prepare`] builds its [`JobSpec`] (command
//! from `Template::render`, environment from [`job_env`], logs in [`log_dir`]) and [`spawn`]
//! returns at once and later sends exactly one [`Finished`] on the dispatcher's channel. What
//! happens is told to a [`Reporter`].
//!
//! - `dispatcher`: the loop: claim, start, stop on request, record outcomes, shut down.
//! - `prepare`: a claimed job → [`JobSpec`], or the reason it cannot run.
//! - `reporter`: the [`Reporter`] trait (the terminal's is in `cli`).
//! - [`recovery`]: running jobs of dead dispatchers become `lost` (and maybe run again).
//! - [`retention`]: the one prune path (history, logs, Slack's tables).
//! - [`timers`]: `[[ns.timers]]` fire times due, fired once across dispatchers.
//! - `process`: [`spawn`], [`JobHandle`] (pgid, cancel), [`Finished`].
//! - `env`: [`job_env`], the variables a job gets and the secrets it does not.
//! - `logs`: [`log_dir`] and the capped log writer.
//! - [`proc`]: boot id, process start times, group members by environment, [`proc::stop_group`].
//! - `fabfile`: [`fetch_fabfile`] for namespaces with a `fabfile` URL.

mod dispatcher;
mod env;
mod fabfile;
pub mod lease;
mod logs;
pub mod prepare;
pub mod proc;
pub mod process;
pub mod recovery;
mod reporter;
pub mod retention;
pub mod ship;
pub mod timers;

pub use dispatcher::{Control, Dispatcher, Foreground, HEARTBEAT_STALE, Mode, Summary, register};
pub use env::job_env;
pub use fabfile::{FabfileError, fetch_fabfile};
pub use logs::{Stream, host_log_dir, log_dir, remove_log_dir};
pub use process::{DRAIN, Finished, JobHandle, JobSpec, SpawnError, spawn};
pub use reporter::Reporter;

/// Installs ring as rustls's process-wide crypto provider: the one place that does. Without it
/// rustls panics at the first TLS client when it cannot pick one provider by itself ("Could not
/// automatically determine the process-level CryptoProvider"). Whatever builds a TLS client
/// (the Slack client, the fabfile fetch, the tests' HTTP client) calls it first; calling it
/// again, or after another provider was installed, does nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The timer tests again on PostgreSQL (the queue's `testdb` picks the backend by the test's
/// path): the same file, built a second time inside `pg`.
#[cfg(all(test, ebmbot_pg_tests))]
#[path = "."]
#[allow(clippy::duplicate_mod)] // on purpose: the same tests, built a second time for PostgreSQL
mod pg {
    mod timers {
        mod tests;
    }
}
