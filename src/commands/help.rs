//! `help` and `<ns> help`: what there is to ask for, as data (the bot words it).

use serde::Serialize;

use crate::config::SlackCommand;
use crate::queue::Queue;

use super::access::{self, Allowed, Caller, Scope};
use super::{Action, Context, Result, resolve};

/// The general help: the namespaces (the built-ins are the frontend's to list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Help;

#[derive(Debug, Clone, Serialize)]
pub struct HelpTopics {
    pub namespaces: Vec<Topic>,
    /// The support listeners: what a message must say to call each, and where it goes.
    pub listeners: Vec<super::jobs::ListenerSummary>,
}

/// A namespace and its description.
#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    pub name: String,
    pub description: Option<String>,
    /// Restricted to internal users; said only to callers who may see what it offers (the
    /// original bot's `:lock:`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restricted: bool,
}

impl Action for Help {
    type Output = HelpTopics;

    fn scope(&self) -> Scope<'_> {
        Scope::Open
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, _: &mut Queue, _: Allowed) -> Result<HelpTopics> {
        Ok(topics(ctx, caller))
    }
}

/// The namespaces of the catalogue, for the general help; restricted ones are marked for
/// `caller` only if they may see what those offer.
pub fn topics(ctx: &Context<'_>, caller: &Caller) -> HelpTopics {
    let namespaces = ctx
        .catalog
        .namespaces
        .values()
        .map(|ns| Topic {
            name: ns.name.clone(),
            description: ns.description.clone(),
            restricted: ns.restricted && access::may_see(ctx, caller, &ns.name),
        })
        .collect();
    let listeners = ctx.catalog.listeners().map(super::jobs::ListenerSummary::from).collect();
    HelpTopics { namespaces, listeners }
}

/// A namespace's Slack commands. Open to everyone; a restricted namespace lists its commands
/// only to those who may run them (`access::may_see`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceHelp {
    pub namespace: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamespaceCommands {
    #[serde(flatten)]
    pub namespace: Topic,
    pub commands: Vec<CommandHelp>,
    /// Its timers with their next run (none listed when `hidden`).
    pub timers: Vec<super::timers::TimerView>,
    /// The namespace is restricted and the caller may not run its commands: they are not listed.
    pub hidden: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandHelp {
    /// How it is typed: `example say hello [name]`.
    pub usage: String,
    pub help: String,
    /// The rules of its typed params: `[days]: a whole number from 1 to 30`.
    pub rules: Vec<String>,
}

impl Action for NamespaceHelp {
    type Output = NamespaceCommands;

    fn scope(&self) -> Scope<'_> {
        Scope::Open
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<NamespaceCommands> {
        let ns = resolve::namespace(ctx.catalog, &self.namespace)?;
        let hidden = !access::may_see(ctx, caller, &ns.name);
        let commands = if hidden {
            Vec::new()
        } else {
            ns.slack
                .iter()
                .map(|cmd| CommandHelp { usage: usage(cmd), help: cmd.help.clone(), rules: rules(ns, cmd) })
                .collect()
        };
        let timers = if hidden {
            Vec::new()
        } else {
            super::timers::views(ctx, caller, queue)?.into_iter().filter(|t| t.namespace == ns.name).collect()
        };
        Ok(NamespaceCommands {
            namespace: Topic {
                name: ns.name.clone(),
                description: ns.description.clone(),
                restricted: ns.restricted && !hidden,
            },
            commands,
            timers,
            hidden,
        })
    }
}

/// The typed params of a command's job (a param without a table has the default rule, said once
/// in the docs rather than on every line).
fn rules(ns: &crate::config::Namespace, cmd: &SlackCommand) -> Vec<String> {
    let Some(job) = ns.jobs.get(&cmd.job) else { return Vec::new() };
    cmd.params().filter_map(|p| job.params.get(p).filter(|r| !r.is_default()).map(|r| format!("[{p}]: {r}"))).collect()
}

/// How a configured command is typed: `<ns> <command text>`, e.g. `example say hello [name]`.
pub fn usage(cmd: &SlackCommand) -> String {
    std::iter::once(cmd.namespace.as_str()).chain(cmd.text.split_whitespace()).collect::<Vec<_>>().join(" ")
}
