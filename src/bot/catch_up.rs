//! Nothing missed while ebmbot was down (docs/slack.md, "Catch-up"): Slack keeps no Socket
//! Mode events for a disconnected app and gives up retrying Events API deliveries after a
//! while, so on start and after each reconnection the bot reads the history of every channel
//! it is in (`conversations.history`), from the last message it read there, at most
//! `SLACK_CATCH_UP` back, and stores what it finds like received events: mentions of the bot
//! (commands) and messages that say a support listener's word. The inbox's dedupe on channel
//! and message ts makes each handled once, whether it came live or from the history. A missed
//! command older than `SLACK_MISSED_COMMAND_AGE` is not run: its thread is told.

use jiff::Timestamp;
use serde_json::Value;

use super::inbox::Message;
use super::worker::Worker;
use crate::config::duration;
use crate::queue::{InboxOutcome, InboxRow, NewReply, QueueError, ts_order};

/// The key of a stored payload that the catch-up made from the history.
pub const CATCH_UP: &str = "ebmbot_catch_up";

/// When a Slack ts was (its seconds).
pub fn ts_time(slack_ts: &str) -> Option<Timestamp> {
    let (secs, _) = ts_order(slack_ts);
    Timestamp::from_second(i64::try_from(secs).ok()?).ok()
}

/// "I missed this command while I was away …"
pub fn missed_text(sent: &str, age: &str) -> String {
    format!(
        "I missed this command while I was not running (it was sent {sent}), and it is over {age} old now, \
         so I have not run it. Ask again if it is still wanted."
    )
}

impl Worker {
    /// A command found by the catch-up that is older than `SLACK_MISSED_COMMAND_AGE`: marked
    /// handled without running, and its thread told. False for any other command.
    pub(super) fn missed_command(
        &mut self,
        row: &InboxRow,
        payload: &Value,
        message: &Message,
        reply_to: &NewReply,
        now: Timestamp,
    ) -> Result<bool, QueueError> {
        if payload.get(CATCH_UP).and_then(Value::as_bool) != Some(true) {
            return Ok(false);
        }
        let max_age = self.settings.slack_missed_command_age;
        let Some(sent) = ts_time(&message.ts) else { return Ok(false) };
        if crate::queue::add_duration(sent, max_age) >= now {
            return Ok(false);
        }
        let text = missed_text(&super::reply::when(sent, &self.settings.timezone), &duration::format(max_age));
        // Said under the command itself, whatever `SLACK_REPLY_IN_THREAD` says: on its own at
        // the top of a channel, nobody would know which command it means.
        let thread_ts = message.reply_thread(true);
        let reply = NewReply { text: Some(text), thread_ts, ..reply_to.clone() };
        let outcome = InboxOutcome::Ignored {
            why: format!("a command missed while ebmbot was down, older than {}", duration::format(max_age)),
        };
        let id = row.id;
        self.queue.atomically(|q| {
            if q.finish_slack_event(id, &outcome, now)? {
                q.add_reply(Some(id), &reply, now)?;
            }
            Ok::<_, QueueError>(())
        })?;
        tracing::info!(event_id = %row.event_id, channel = %message.channel, ts = %message.ts, "did not run a missed command: it is too old");
        self.deliverer.poke();
        Ok(true)
    }
}
