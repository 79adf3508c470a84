//! The interactive parts of ebmbot's Slack messages: the `action_id` of each button and what its
//! `value` carries. The renderer of a message (the live job message, the confirmation prompt)
//! and the handler of a click (`/slack/interactive`, Socket Mode `interactive` envelopes) meet
//! here and nowhere else. docs/slack.md shows each message as Block Kit JSON.

/// *Cancel* on a pending or running job's message; `value` is the job id.
pub const CANCEL: &str = "ebmbot_cancel";
/// *Rerun* on a finished job's message; `value` is the job id.
pub const RERUN: &str = "ebmbot_rerun";
/// *Logs* on a job's message: opens a modal with the job's last lines; `value` is the job id.
pub const LOGS: &str = "ebmbot_logs";
/// *Confirm* on "Run `ns job` now?" for a `confirm = true` job; `value` is the confirmation id.
pub const CONFIRM: &str = "ebmbot_confirm";
/// *Cancel* on that prompt; `value` is the confirmation id.
pub const CONFIRM_CANCEL: &str = "ebmbot_confirm_cancel";
