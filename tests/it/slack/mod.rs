//! The Slack bot against a fake Slack: the real `ebmbot bot` and `ebmbot dispatch` binaries,
//! the real slack-morphism client, a fake Web API and Socket Mode websocket on 127.0.0.1
//! ([`crate::support::slack`]). Each test checks what was posted where, which reactions, and
//! which jobs were queued.

mod amplification;
mod buttons;
mod catch_up;
mod commands;
mod dry_run;
mod events_api;
mod formats;
mod giving_up;
mod manifest;
mod paused;
mod receiving;
mod reporting;
mod retries;
mod serve;
mod socket;
mod startup;
mod support;
mod workspace;
