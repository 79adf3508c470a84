//! The one vocabulary of requests: [`Command`] is what the CLI (from argv), the grammar (from a
//! Slack text or `ebmbot say`) and the webhook (from a GitHub delivery) produce, and
//! [`execute`] is the one way to run one: the access policy first, then the action. Each action
//! returns its own result type; [`Output`] carries whichever it was back to the frontend, which
//! renders it. A frontend that knows which action it runs (the webhook server) calls [`execute`]
//! with that action and gets its result type directly.
//!
//! The CLI's long-running modes (`run`, `dispatch`, `logs --follow`, `bot`, `web`, `serve`)
//! own a process, a terminal or a server rather than answer a request, and are not commands.

use serde::Serialize;

use crate::queue::Queue;
use crate::queue::model::Job;

use super::access::{self, Allowed, Caller, Scope};
use super::cancel::{CancelId, CancelType, CancelledJob, CancelledType};
use super::dry_run::{DryRun, Plan};
use super::help::{Help, HelpTopics, NamespaceCommands, NamespaceHelp};
use super::list::List;
use super::logs::{LogText, Logs};
use super::ooo::{Ooo, OooReport};
use super::prune::Prune;
use super::queue_export::{Exported, QueueExport};
use super::queue_import::{ImportReport, QueueImport};
use super::schedule::{Schedule, Scheduled};
use super::status::{Status, StatusReport};
use super::suppress::{Suppress, Suppressed, Unsuppress, Unsuppressed};
use super::timers::{PauseTimer, TimerPaused, TimerView, Timers};
use super::webhook::{Delivery, WebhookResult};
use super::{Context, Result};

/// A request to the command layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `schedule <ns> <job>`; a configured `schedule_job` Slack command.
    Schedule(Schedule),
    /// `cancel <ns> <job>`; a configured `cancel_job` Slack command.
    CancelType(CancelType),
    /// `cancel --id N`; `cancel job id N`.
    CancelId(CancelId),
    /// `suppress`; a configured `schedule_suppression` Slack command.
    Suppress(Suppress),
    /// `unsuppress`; a configured `cancel_suppression` Slack command.
    Unsuppress(Unsuppress),
    /// `queue list`.
    List(List),
    /// `queue prune`.
    Prune(Prune),
    /// `queue export`.
    Export(QueueExport),
    /// `queue import`.
    Import(QueueImport),
    /// `status`.
    Status(Status),
    /// `logs N`.
    Logs(Logs),
    /// `help`: the built-ins and the namespaces.
    Help(Help),
    /// `<ns> help`: a namespace's Slack commands.
    NamespaceHelp(NamespaceHelp),
    /// A GitHub delivery's jobs, with its delivery record.
    Deliver(Delivery),
    /// `--dry-run` of `schedule`, `run` and `say`; `dry run <command>`.
    DryRun(DryRun),
    /// `timers`: every timer, its last and next fire.
    Timers(Timers),
    /// `timers pause NAME`, `timers resume NAME`.
    PauseTimer(PauseTimer),
    /// `ooo`: support listeners' out-of-office periods.
    Ooo(Ooo),
}

/// What a command returned: one variant per command. Serialized as the result itself (the
/// CLI's `--json` documents).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    Scheduled(Scheduled),
    CancelledType(CancelledType),
    CancelledJob(CancelledJob),
    Suppressed(Suppressed),
    Unsuppressed(Unsuppressed),
    Jobs(Vec<Job>),
    Pruned(crate::queue::Pruned),
    Exported(Exported),
    Imported(ImportReport),
    Status(StatusReport),
    Logs(LogText),
    Help(HelpTopics),
    NamespaceHelp(NamespaceCommands),
    Delivered(WebhookResult),
    Plan(Box<Plan>),
    Timers(Vec<TimerView>),
    TimerPaused(TimerPaused),
    Ooo(OooReport),
}

/// One action of the command layer: a struct of its inputs, what the access policy looks at,
/// and how it runs. Run it with [`execute`] (or as a [`Command`]), never by calling
/// [`Action::run`]: only the policy hands out the [`Allowed`] that `run` needs.
pub trait Action {
    type Output;

    /// What the access policy looks at.
    fn scope(&self) -> Scope<'_>;

    /// Carries the action out, once [`access::check`] has allowed it.
    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, allowed: Allowed) -> Result<Self::Output>;
}

/// Runs one action for `caller`: the access policy, then the action.
pub fn execute<A: Action>(action: A, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue) -> Result<A::Output> {
    let allowed = access::check(ctx, caller, queue, action.scope())?;
    action.run(ctx, caller, queue, allowed)
}

impl Command {
    /// Runs the command for `caller` through [`execute`].
    pub fn execute(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue) -> Result<Output> {
        match self {
            Self::Schedule(c) => execute(c, ctx, caller, queue).map(Output::Scheduled),
            Self::CancelType(c) => execute(c, ctx, caller, queue).map(Output::CancelledType),
            Self::CancelId(c) => execute(c, ctx, caller, queue).map(Output::CancelledJob),
            Self::Suppress(c) => execute(c, ctx, caller, queue).map(Output::Suppressed),
            Self::Unsuppress(c) => execute(c, ctx, caller, queue).map(Output::Unsuppressed),
            Self::List(c) => execute(c, ctx, caller, queue).map(Output::Jobs),
            Self::Prune(c) => execute(c, ctx, caller, queue).map(Output::Pruned),
            Self::Export(c) => execute(c, ctx, caller, queue).map(Output::Exported),
            Self::Import(c) => execute(c, ctx, caller, queue).map(Output::Imported),
            Self::Status(c) => execute(c, ctx, caller, queue).map(Output::Status),
            Self::Logs(c) => execute(c, ctx, caller, queue).map(Output::Logs),
            Self::Help(c) => execute(c, ctx, caller, queue).map(Output::Help),
            Self::NamespaceHelp(c) => execute(c, ctx, caller, queue).map(Output::NamespaceHelp),
            Self::Deliver(c) => execute(c, ctx, caller, queue).map(Output::Delivered),
            Self::DryRun(c) => execute(c, ctx, caller, queue).map(|p| Output::Plan(Box::new(p))),
            Self::Timers(c) => execute(c, ctx, caller, queue).map(Output::Timers),
            Self::PauseTimer(c) => execute(c, ctx, caller, queue).map(Output::TimerPaused),
            Self::Ooo(c) => execute(c, ctx, caller, queue).map(Output::Ooo),
        }
    }
}
