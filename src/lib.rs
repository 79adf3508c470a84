//! ebmbot runs shell jobs when people ask for them: from the terminal, from Slack (mentions and
//! DMs) and from GitHub webhooks.
//!
//! # Architecture
//!
//! ```text
//!   argv ──────┐      Slack event ─────┐      GitHub POST ──────┐
//!              ▼                       ▼                        ▼
//!         cli (clap)               bot                      web (axum)          parse + render only
//!              └──── Command ──────────┴──────── Command ───────┘
//!                                  ▼
//!                     commands: one file per action           validates, returns a typed result
//!                        │                      │
//!                        ▼                      ▼
//!                     queue  ◀────────────  runner
//!                 (SQLite: jobs, requests, events)   ──events──▶ reporters (terminal, Slack)
//!   config: jobs.toml → validated Catalog; environment → Settings (read once at start)
//! ```
//!
//! Who may import whom: the frontends (`cli`, `bot`, `web`) call `commands` and render what it
//! returns (`bot` and `web` count what they do in `metrics`); `commands` calls `queue` and `runner`; `runner` knows nothing of Slack or HTTP;
//! `queue` imports nothing of ours but its own model (and `config::duration` for formatting).
//! `grammar` is the one text grammar shared by the bot and `ebmbot say`.
//!
//! - [`config`]: `jobs.toml` → [`config::Catalog`], environment → [`config::Settings`].
//! - [`queue`]: the SQLite queue: jobs, requests, events, suppressions, dispatchers.
//! - [`runner`]: runs a job's command as a process group, with logs, timeouts and cancellation;
//!   the dispatcher loop.
//! - [`commands`]: one file per action; each returns data, none prints.
//! - [`grammar`]: Slack-style text (`example say hello Bob`) → a command.
//! - [`cli`]: clap definitions and rendering (tables, `--json`).
//! - [`bot`]: the Slack bot: Socket Mode and the Events API store commands before they are
//!   acknowledged; a worker runs them through [`grammar`] and [`commands`]; a deliverer posts
//!   replies and the queue's job events to Slack, with leases and retries.
//! - [`web`]: the webhook and health server.
//! - [`metrics`]: Prometheus counters of this process, and the job metrics kept in the queue.
//! - [`clock`]: the injected source of "now".
//! - [`error`]: an error and its causes on one line.

pub mod bot;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod grammar;
pub mod metrics;
pub mod queue;
pub mod runner;
pub mod web;
