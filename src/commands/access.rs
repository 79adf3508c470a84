//! Who may do what: the one access policy of the command layer.
//!
//! Every entry point says who is asking with a [`Caller`], and [`super::execute`] asks [`check`]
//! before it runs anything, so the CLI, the Slack bot and the webhook server (and
//! whatever comes later: buttons, App Home) are held to the same rules:
//!
//! - The terminal and signed webhooks are trusted; so is an internal Slack user (same team,
//!   not restricted, not a guest, not a bot).
//! - A restricted namespace's commands, and `logs N` / `cancel job id N` of its jobs, are for
//!   trusted callers only. Its `help` is open to everyone.
//! - `status` and `queue list` show everyone every job, but the args of a restricted
//!   namespace's jobs only to trusted callers ([`may_see_args`]); `status` and `<ns> help` show
//!   a restricted namespace's job types and commands only to trusted callers ([`may_see`]):
//!   others see how many there are, not what they are.
//! - A restricted namespace's timers are paused and resumed by trusted callers only, and
//!   listed only to them.
//! - Pruning history and handling webhook deliveries are for trusted callers only.
//! - A Slackbot reminder is not trusted (nobody knows who set it), but a restricted namespace
//!   with `allow_reminders = true` runs its commands.

use crate::queue::Queue;
use crate::queue::model::{JobId, Origin};

use super::{CommandError, Context, Result, logs};

/// Who asks for a command, as the entry point knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Where the request came from: jobs it schedules report there, and "cancelled by" names it.
    pub origin: Origin,
    /// The terminal, a signed webhook, or an internal Slack user.
    pub trusted: bool,
    /// A Slackbot reminder: nobody knows who set it, so it is not trusted, but a restricted
    /// namespace with `allow_reminders = true` takes its commands.
    pub reminder: bool,
}

impl Caller {
    /// A user at the terminal; `notify` is a Slack channel that hears of the jobs too.
    pub fn terminal(user: impl Into<String>, notify: Option<String>) -> Caller {
        Caller { origin: Origin::Terminal { user: user.into(), notify }, trusted: true, reminder: false }
    }

    /// A Slack user; `internal` as `users.info` says (same team, no guest, no bot).
    pub fn slack(origin: Origin, internal: bool) -> Caller {
        Caller { origin, trusted: internal, reminder: false }
    }

    /// A Slackbot reminder (`USLACKBOT`) that went off.
    pub fn reminder(origin: Origin) -> Caller {
        Caller { origin, trusted: false, reminder: true }
    }

    /// A webhook delivery whose signature was checked.
    pub fn webhook(origin: Origin) -> Caller {
        Caller { origin, trusted: true, reminder: false }
    }

    /// `terminal:<user>`, a Slack user id, or `github:<delivery>`.
    pub fn requested_by(&self) -> String {
        self.origin.requested_by()
    }
}

/// Why the policy refused a command. The frontends word it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The namespace is restricted to internal users.
    Restricted { namespace: String },
    /// A reminder asked for a command of a restricted namespace without `allow_reminders`.
    Reminder { namespace: String },
    /// Only the terminal (or a signed webhook) may do this.
    TrustedOnly { what: &'static str },
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Restricted { namespace } => write!(f, "`{namespace}` is restricted to internal users"),
            Self::Reminder { namespace } => write!(
                f,
                "`{namespace}` is restricted to internal users and takes no reminders (`allow_reminders` is off)"
            ),
            Self::TrustedOnly { what } => write!(f, "{what} is for internal users only"),
        }
    }
}

/// What a command touches, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Open to everyone (`help`, `status`: args of restricted jobs are hidden by the command).
    Open,
    /// A namespace's jobs or suppressions.
    Namespace(&'a str),
    /// One job, by id (its namespace is looked up).
    Job(JobId),
    /// One timer, by the name the user gave (its namespace is looked up).
    Timer(&'a str),
    /// Trusted callers only; `what` names the action for the refusal.
    TrustedOnly(&'static str),
}

/// Proof that [`check`] allowed a command: an action runs only with one (see
/// [`super::Action::run`]), so no entry point can skip the policy.
#[derive(Debug)]
pub struct Allowed(());

/// May `caller` act on `scope`? Job ids are looked up in `queue` to find their namespace; an id
/// that names no job passes here and is refused by the command itself.
pub fn check(ctx: &Context<'_>, caller: &Caller, queue: &Queue, scope: Scope<'_>) -> Result<Allowed> {
    if caller.trusted {
        return Ok(Allowed(()));
    }
    match scope {
        Scope::Open => Ok(Allowed(())),
        Scope::Namespace(namespace) if caller.reminder => reminders_open(ctx, namespace),
        Scope::Namespace(namespace) => namespace_open(ctx, namespace),
        Scope::Job(id) => match logs::find(queue, id) {
            Ok(job) => namespace_open(ctx, &job.namespace),
            Err(CommandError::UnknownId(_) | CommandError::Pruned(_)) => Ok(Allowed(())),
            Err(e) => Err(e),
        },
        Scope::Timer(name) => match super::timers::find(ctx.catalog, name) {
            Ok(timer) => namespace_open(ctx, &timer.namespace),
            // Not found or ambiguous: the command says so (and names only what may be seen).
            Err(_) => Ok(Allowed(())),
        },
        Scope::TrustedOnly(what) => Err(CommandError::Denied(Denied::TrustedOnly { what })),
    }
}

/// Whether `caller` may see what a namespace offers and runs: its commands (`<ns> help`) and
/// its job types (`status`). Restricted namespaces show them to trusted callers only.
pub fn may_see(ctx: &Context<'_>, caller: &Caller, namespace: &str) -> bool {
    caller.trusted || !is_restricted(ctx, namespace)
}

/// Whether `caller` may see the args of jobs in `namespace` (in `status` and lists).
pub fn may_see_args(ctx: &Context<'_>, caller: &Caller, namespace: &str) -> bool {
    caller.trusted || !is_restricted(ctx, namespace)
}

fn namespace_open(ctx: &Context<'_>, namespace: &str) -> Result<Allowed> {
    if is_restricted(ctx, namespace) {
        return Err(CommandError::Denied(Denied::Restricted { namespace: namespace.to_owned() }));
    }
    Ok(Allowed(()))
}

/// A reminder may run the commands of an open namespace, or of a restricted one that says
/// `allow_reminders = true`.
fn reminders_open(ctx: &Context<'_>, namespace: &str) -> Result<Allowed> {
    match ctx.catalog.namespace(namespace) {
        Some(ns) if ns.restricted && !ns.allow_reminders => {
            Err(CommandError::Denied(Denied::Reminder { namespace: ns.name.clone() }))
        }
        _ => Ok(Allowed(())),
    }
}

fn is_restricted(ctx: &Context<'_>, namespace: &str) -> bool {
    ctx.catalog.namespace(namespace).is_some_and(|ns| ns.restricted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::commands::cancel::{CancelId, CancelType};
    use crate::commands::logs::{Logs, Part};
    use crate::commands::prune::Prune;
    use crate::commands::schedule::Schedule;
    use crate::commands::status::Status;
    use crate::commands::{Command, Output};
    use crate::config::{Catalog, Settings};
    use crate::queue::Options;

    const JOBS: &str = r#"
        [open.jobs.echo]
        run_args_template = "echo {value}"
        [secret]
        restricted = true
        [secret.jobs.show]
        run_args_template = "echo {value}"
    "#;

    fn schedule(namespace: &str, job: &str) -> Command {
        let args = vec![("value".to_owned(), "hush".to_owned())];
        Command::Schedule(Schedule {
            namespace: namespace.into(),
            job: job.into(),
            args,
            delay: std::time::Duration::default(),
        })
    }

    fn guest() -> Caller {
        let origin = Origin::Slack {
            user: "UGUEST".into(),
            channel: "C1".into(),
            channel_type: "channel".into(),
            thread_ts: None,
            message_ts: Some("1.1".into()),
        };
        Caller::slack(origin, false)
    }

    fn denied(r: Result<Output>) -> Option<Denied> {
        match r {
            Err(CommandError::Denied(d)) => Some(d),
            _ => None,
        }
    }

    /// Every way into a restricted namespace goes through the one policy: configured commands,
    /// and `logs` / `cancel job id` of its jobs; `status` hides its args; pruning is trusted only.
    #[test]
    fn outsiders_are_kept_out_of_restricted_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_root(dir.path());
        let catalog = Catalog::from_str(JOBS, &dir.path().join("jobs.toml"), &settings).unwrap();
        let clock = ManualClock::new("2026-03-01T10:00:00Z".parse().unwrap());
        let ctx = Context { settings: &settings, catalog: &catalog, clock: &clock, mention: None };
        let mut queue = Queue::open(&dir.path().join("q.db"), Options::default()).unwrap();
        let (guest, me) = (guest(), Caller::terminal("me", None));
        let restricted = Some(Denied::Restricted { namespace: "secret".into() });

        assert_eq!(denied(schedule("secret", "show").execute(&ctx, &guest, &mut queue)), restricted);
        let cancel_type = Command::CancelType(CancelType { namespace: "secret".into(), job: "show".into() });
        assert_eq!(denied(cancel_type.execute(&ctx, &guest, &mut queue)), restricted);
        assert!(schedule("open", "echo").execute(&ctx, &guest, &mut queue).is_ok());
        let Output::Scheduled(job) = schedule("secret", "show").execute(&ctx, &me, &mut queue).unwrap() else {
            panic!("not scheduled")
        };
        let logs = Command::Logs(Logs { id: job.id, stream: None, part: Part::All, limit: None });
        assert_eq!(denied(logs.execute(&ctx, &guest, &mut queue)), restricted);
        let cancel = Command::CancelId(CancelId { id: job.id, pending_only: false });
        assert_eq!(denied(cancel.clone().execute(&ctx, &guest, &mut queue)), restricted);
        assert_eq!(
            denied(Command::Prune(Prune::default()).execute(&ctx, &guest, &mut queue)),
            Some(Denied::TrustedOnly { what: "pruning history" })
        );

        let Ok(Output::Status(report)) = Command::Status(Status).execute(&ctx, &guest, &mut queue) else {
            panic!("status failed")
        };
        let args: Vec<(&str, usize)> = report.pending.iter().map(|j| (j.namespace.as_str(), j.args.0.len())).collect();
        // Issue 9, item 9: the guest does not even see the restricted job's type; it is counted.
        assert_eq!(args, [("open", 1)], "the guest sees the open job only");
        assert_eq!(report.hidden.pending, 1);
        let Ok(Output::NamespaceHelp(help)) =
            Command::NamespaceHelp(crate::commands::help::NamespaceHelp { namespace: "secret".into() })
                .execute(&ctx, &guest, &mut queue)
        else {
            panic!("help failed")
        };
        assert!(help.hidden && help.commands.is_empty());
        let Ok(Output::Status(report)) = Command::Status(Status).execute(&ctx, &me, &mut queue) else {
            panic!("status failed")
        };
        assert!(report.pending.iter().all(|j| j.args.0.len() == 1), "the terminal sees every arg");
        assert_eq!((report.pending.len(), report.hidden.pending), (2, 0));

        assert!(cancel.execute(&ctx, &me, &mut queue).is_ok(), "the terminal is trusted");
    }

    /// Issue 13: a restricted namespace's timers are listed, paused and resumed by trusted
    /// callers only; a name two namespaces share must be written `namespace/name`.
    #[test]
    fn outsiders_cannot_see_or_pause_a_restricted_namespaces_timers() {
        use crate::commands::timers::{PauseTimer, Timers};
        let jobs = format!(
            "{JOBS}
        [[open.timers]]
        name = \"nightly\"
        job_type = \"echo\"
        cron = \"0 1 * * *\"
        params = {{ value = \"a\" }}
        [[secret.timers]]
        name = \"nightly\"
        job_type = \"show\"
        cron = \"0 2 * * *\"
        params = {{ value = \"b\" }}
        [[secret.timers]]
        name = \"hourly\"
        job_type = \"show\"
        cron = \"0 * * * *\"
        params = {{ value = \"c\" }}
        "
        );
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_root(dir.path());
        let catalog = Catalog::from_str(&jobs, &dir.path().join("jobs.toml"), &settings).unwrap();
        let clock = ManualClock::new("2026-03-01T10:00:00Z".parse().unwrap());
        let ctx = Context { settings: &settings, catalog: &catalog, clock: &clock, mention: None };
        let mut queue = Queue::open(&dir.path().join("q.db"), Options::default()).unwrap();
        let (guest, me) = (guest(), Caller::terminal("me", None));
        let pause = |name: &str| Command::PauseTimer(PauseTimer { name: name.into(), pause: true });

        let restricted = Some(Denied::Restricted { namespace: "secret".into() });
        assert_eq!(denied(pause("hourly").execute(&ctx, &guest, &mut queue)), restricted);
        assert_eq!(denied(pause("secret/nightly").execute(&ctx, &guest, &mut queue)), restricted);
        assert!(matches!(pause("nightly").execute(&ctx, &me, &mut queue), Err(CommandError::AmbiguousTimer { .. })));
        assert!(pause("open/nightly").execute(&ctx, &guest, &mut queue).is_ok());
        assert!(pause("hourly").execute(&ctx, &me, &mut queue).is_ok());
        let Ok(Output::Timers(seen)) = Command::Timers(Timers).execute(&ctx, &guest, &mut queue) else {
            panic!("timers failed")
        };
        let names: Vec<String> = seen.iter().map(|t| format!("{}/{}", t.namespace, t.name)).collect();
        assert_eq!(names, ["open/nightly"], "the guest sees the open namespace's timer only");
        let Ok(Output::Timers(all)) = Command::Timers(Timers).execute(&ctx, &me, &mut queue) else {
            panic!("timers failed")
        };
        assert_eq!(all.len(), 3);
        assert!(all.iter().find(|t| t.name == "hourly").is_some_and(|t| t.paused.is_some()));
    }
}
