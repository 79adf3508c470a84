//! The worker: handles stored commands in the order they arrived (docs/architecture.md §5).
//!
//! For each: who sent it (`users.info`, cached), the command text (`bot::text`), then — in ONE
//! transaction — mark it handled, run it through the one grammar and the command layer
//! ([`reply::answer`]), and queue the reply. A crash before the commit leaves the command to be handled
//! again; after it, the command, its mark and its reply all exist, so nothing is lost or run
//! twice. (The alternative, marking it done right after with an idempotence check, would need
//! every command to recognise its own earlier effect; one transaction needs nothing of them.)
//! It also prunes, a batch at a time, through the one retention path
//! ([`crate::runner::retention`]): handled commands and delivered replies go after a day.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::api::SlackApi;
use super::inbox::{Message, NotAMessage};
use super::kinds::Kinds;
use super::reply;
use super::users::{SLACKBOT, UserInfo, Users};
use crate::clock::Clock;
use crate::commands::access::Caller;
use crate::commands::{CommandError, Context};
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::grammar::Grammar;
use crate::queue::model::Origin;
use crate::queue::{InboxOutcome, InboxRow, NewReply, Queue, QueueError, Waker};
use crate::runner::retention::{self, Amount};

const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub struct Worker {
    pub queue: Queue,
    pub settings: Arc<Settings>,
    pub catalog: Catalog,
    pub grammar: Grammar,
    /// Where a reloaded catalogue comes from (SIGHUP), and the version last read.
    pub live: LiveCatalog,
    pub seen: u64,
    pub api: Arc<SlackApi>,
    pub users: Arc<Users>,
    pub kinds: Arc<Kinds>,
    pub bot_user_id: String,
    pub runtime: tokio::runtime::Handle,
    /// Woken when a reply is queued.
    pub deliverer: Waker,
    pub clock: Arc<dyn Clock>,
    /// Listener channels given as `#name` → ids.
    pub channels: Arc<super::channels::Channels>,
}

impl Worker {
    /// Handles stored commands until `stop` is set, waking on `wake` (a command stored by this
    /// process, or any commit to the queue).
    pub fn run(mut self, stop: &AtomicBool, wake: &Waker) {
        let mut pruned: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            if let Some((version, catalog)) = self.live.newer_than(self.seen) {
                self.grammar = Grammar::new(&catalog);
                self.catalog = (*catalog).clone();
                self.seen = version;
            }
            if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned = Some(Instant::now());
                let (now, retention) = (self.clock.now(), self.settings.retention);
                match retention::prune(&mut self.queue, &self.settings, now, retention, Amount::OneBatch) {
                    Ok(p) if p.jobs > 0 || p.slack > 0 => {
                        tracing::info!(jobs = p.jobs, events = p.events, slack = p.slack, "pruned old history");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = &e as &dyn std::error::Error, "could not prune old history"),
                }
            }
            if let Err(e) = self.expire_confirmations() {
                tracing::warn!(error = &e as &dyn std::error::Error, "could not expire unanswered confirmations");
            }
            let failed = match self.queue.next_slack_event() {
                Ok(Some(row)) => match self.handle(&row) {
                    Ok(()) => continue,
                    Err(e) => {
                        tracing::error!(event_id = %row.event_id, error = %crate::commands::describe(&e), "could not handle a Slack event; retrying");
                        true
                    }
                },
                Ok(None) => false,
                Err(e) => {
                    tracing::error!(error = %crate::commands::describe(&e), "could not read stored Slack events; retrying");
                    true
                }
            };
            if failed {
                // A second before trying again, whatever wakes it meanwhile (but a stop).
                let until = Instant::now() + Duration::from_secs(1);
                while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    wake.wait(until.saturating_duration_since(Instant::now()));
                }
            } else {
                let prune_in = pruned.map_or(Duration::ZERO, |at| PRUNE_EVERY.saturating_sub(at.elapsed()));
                wake.wait(prune_in.min(self.next_expiry()));
            }
        }
    }

    fn handle(&mut self, row: &InboxRow) -> Result<(), QueueError> {
        let now = self.clock.now();
        let payload = match serde_json::from_str::<Value>(&row.payload) {
            Ok(payload) => payload,
            Err(e) => return self.skip(row, crate::error::describe(&NotAMessage::NotJson(e))),
        };
        if self.interactive(row, &payload, now)? {
            return Ok(());
        }
        if self.support_request(row, &payload, now)? {
            return Ok(());
        }
        let (message, user, command) = match self.read(row) {
            Ok(read) => read,
            Err(why) => return self.skip(row, why),
        };
        let reply_to = NewReply {
            channel: message.channel.clone(),
            thread_ts: message.reply_thread(self.settings.slack_reply_in_thread),
            message_ts: Some(message.ts.clone()),
            ..NewReply::default()
        };
        if self.missed_command(row, &payload, &message, &reply_to, now)? {
            return Ok(());
        }
        let origin = Origin::Slack {
            user: message.user.clone(),
            channel: message.channel.clone(),
            channel_type: message.channel_type.clone(),
            thread_ts: message.reply_thread(self.settings.slack_reply_in_thread),
            message_ts: Some(message.ts.clone()),
        };
        let caller = match message.user.as_str() {
            SLACKBOT => Caller::reminder(origin),
            _ => Caller::slack(origin, user.internal),
        };
        let mention = format!("<@{}>", self.bot_user_id);
        let ctx =
            Context { settings: &self.settings, catalog: &self.catalog, clock: &*self.clock, mention: Some(&mention) };
        let (grammar, ack) = (&self.grammar, &self.settings.slack_ack_reaction);
        let handled = self.queue.atomically(|q| {
            if !q.finish_slack_event(row.id, &InboxOutcome::Handled, now)? {
                return Ok(None);
            }
            let reply = reply::answer_within_limit(grammar, &ctx, &caller, q, &command, (&message.user, row.id))?;
            let confirm = match &reply.ask {
                Some(schedule) => {
                    Some(q.add_confirmation(&super::interactive::to_confirm(&message, &reply_to, schedule, now))?)
                }
                None => None,
            };
            let queued = NewReply {
                text: Some(reply.text.clone()),
                reaction: reply.accepted.then(|| ack.clone()),
                log: reply.log.clone(),
                job: reply.job.map(|j| j.0),
                confirm,
                ..reply_to.clone()
            };
            q.add_reply(Some(row.id), &queued, now)?;
            Ok::<_, CommandError>(Some(reply))
        });
        match handled {
            Ok(Some(reply)) => tracing::info!(
                event_id = %row.event_id, user = %message.user, command = %crate::commands::shorten(&command, 200),
                understood = reply.understood, accepted = reply.accepted, job = ?reply.job, "handled a Slack command"
            ),
            Ok(None) => tracing::debug!(event_id = %row.event_id, "already handled by another ebmbot process"),
            Err(e) => self.failed(row, &command, &e, reply_to, now)?,
        }
        self.deliverer.poke();
        Ok(())
    }

    /// The message of a stored event, its sender and its command text; or why there is none.
    fn read(&self, row: &InboxRow) -> Result<(Message, UserInfo, String), String> {
        let mut message = serde_json::from_str::<Value>(&row.payload)
            .map_err(NotAMessage::NotJson)
            .and_then(|payload| Message::from_payload(&payload))
            .map_err(|why| crate::error::describe(&why))?;
        let user = match self.runtime.block_on(self.users.get(&self.api, &message.user)) {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(user = %message.user, error = &e as &dyn std::error::Error, "cannot look the user up; treating them as not internal");
                UserInfo { internal: false, is_bot: false }
            }
        };
        if user.is_bot {
            return Err("sent by a bot user".to_owned());
        }
        if !message.channel_type_given {
            // `app_mention` says nothing of the channel: a private one (or a group DM) must not
            // be taken for a public one, whose failures are re-posted as links.
            message.channel_type = self.runtime.block_on(self.kinds.kind(&self.api, &message.channel));
        }
        let text = match message.user.as_str() {
            SLACKBOT => message.text.strip_prefix("Reminder: ").unwrap_or(&message.text),
            _ => &message.text,
        };
        // `<#C123|>`: the name from conversations.info (cached with the channel's kind).
        let name = |id: &str| self.runtime.block_on(self.kinds.learn(&self.api, id)).and_then(|k| k.name);
        let command = super::text::command_text_with(text, &self.bot_user_id, message.is_dm(), &name)
            .ok_or_else(|| "not addressed to ebmbot".to_owned())?;
        Ok((message, user, command))
    }

    /// A command that failed: ❌ and a reply with an error id; the details go to the log.
    fn failed(
        &mut self,
        row: &InboxRow,
        command: &str,
        e: &CommandError,
        reply_to: NewReply,
        now: jiff::Timestamp,
    ) -> Result<(), QueueError> {
        let error_id = format!("E{}-{:04}", row.id, now.as_millisecond().rem_euclid(10_000));
        tracing::error!(error_id, event_id = %row.event_id, command = %crate::commands::shorten(command, 200), error = %crate::commands::describe(e), "a Slack command failed");
        let text = format!("Sorry, something went wrong (error id `{error_id}`); the details are in ebmbot's log.");
        let queued = NewReply { text: Some(text), reaction: Some("x".into()), ..reply_to };
        self.queue.atomically(|q| {
            if q.finish_slack_event(row.id, &InboxOutcome::Error { id: error_id.clone() }, now)? {
                q.add_reply(Some(row.id), &queued, now)?;
            }
            Ok::<_, QueueError>(())
        })
    }

    pub(super) fn skip(&mut self, row: &InboxRow, why: String) -> Result<(), QueueError> {
        let outcome = InboxOutcome::Ignored { why };
        tracing::info!(event_id = %row.event_id, "{outcome}");
        self.queue.finish_slack_event(row.id, &outcome, self.clock.now()).map(|_| ())
    }
}
