//! [`Slack`]: a [`TestEnv`] with the Slack tests' catalogue (`slack.toml`) and a fake Slack,
//! running the real `ebmbot bot` / `dispatch` binaries with the Slack settings pointed at it;
//! and the events people send (`mention`, `dm`).

use std::fs::File;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::fake_slack::{self as fake, BOT, Fake};
use super::{Proc, TestEnv};

/// The catalogue of these tests.
pub const JOBS: &str = include_str!("slack.toml");

/// The logs channel, the tech-support channel and a channel with a name.
pub const LOGS: &str = "CLOGS";
pub const SUPPORT: &str = "CSUPPORT";

/// A test: a temp dir with [`JOBS`], a fake Slack, and the bot once started.
pub struct Slack {
    pub env: TestEnv,
    pub fake: Fake,
    bot: Option<Proc>,
    /// Extra settings for every ebmbot run.
    pub vars: Vec<(String, String)>,
    /// Where the bot token is read from, instead of `SLACK_BOT_TOKEN` (`SLACK_BOT_TOKEN_FILE`).
    pub token_file: Option<std::path::PathBuf>,
}

impl Default for Slack {
    fn default() -> Slack {
        Slack::new()
    }
}

impl Slack {
    pub fn new() -> Slack {
        let env = TestEnv::new(JOBS);
        env.script("t", "blocks.json", r#"[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]"#);
        env.script("t", "bogus.json", r#"[{"type": "bogus"}]"#);
        let fake = Fake::start();
        fake.add_channel(json!({"id": "C1", "name": "general"}));
        fake.add_channel(json!({"id": LOGS, "name": "ebmbot-logs"}));
        fake.add_channel(json!({"id": SUPPORT, "name": "tech-support"}));
        fake.add_channel(json!({"id": "COPS", "name": "ops"}));
        Slack { env, fake, bot: None, vars: Vec::new(), token_file: None }
    }

    /// Sets a setting for every later ebmbot run.
    pub fn set(&mut self, var: &str, value: &str) -> &mut Slack {
        self.vars.push((var.into(), value.into()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebmbot"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.env.root)
            .current_dir(&self.env.root)
            .env("EBMBOT_KILL_GRACE", "200ms")
            .env("RUST_LOG", "info,ebmbot=debug")
            .env("SLACK_BOT_TOKEN", "xoxb-test-token")
            .env("SLACK_APP_TOKEN", "xapp-test-token")
            .env("SLACK_API_URL", &self.fake.url)
            .env("SLACK_RETRY_BASE", "20ms")
            .env("SLACK_LOGS_CHANNEL", LOGS)
            .env("SLACK_TECH_SUPPORT_CHANNEL", SUPPORT)
            .envs(self.env.db_env())
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .stdin(Stdio::null());
        if let Some(file) = &self.token_file {
            cmd.env_remove("SLACK_BOT_TOKEN").env("SLACK_BOT_TOKEN_FILE", file);
        }
        cmd
    }

    /// Runs ebmbot to the end with the Slack settings; its stderr goes to `<name>.log`.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("run ebmbot");
        std::fs::write(self.env.path(&format!("{}.log", args[0])), &out.stderr).ok();
        out
    }

    /// Runs ebmbot to the end without any Slack setting (a process that does not deliver).
    pub fn run_without_slack(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        for var in [
            "SLACK_BOT_TOKEN",
            "SLACK_BOT_TOKEN_FILE",
            "SLACK_APP_TOKEN",
            "SLACK_LOGS_CHANNEL",
            "SLACK_TECH_SUPPORT_CHANNEL",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("run ebmbot");
        assert!(out.status.success(), "ebmbot {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// `ebmbot status --json`.
    pub fn status(&self) -> Value {
        serde_json::from_slice(&self.run(&["status", "--json"]).stdout).expect("status JSON")
    }

    /// `ebmbot dispatch --once`, which must succeed.
    pub fn dispatch_once(&self) {
        let out = self.run(&["dispatch", "--once"]);
        assert!(out.status.success(), "dispatch --once: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts `ebmbot bot` and waits until it is connected.
    pub fn start_bot(&mut self) -> &mut Slack {
        let log = File::create(self.env.path("bot.log")).expect("bot.log");
        let child = self.command(&["bot"]).stdout(Stdio::null()).stderr(log).spawn().expect("spawn ebmbot bot");
        self.bot = Some(Proc(child));
        self.fake.wait_connected(1);
        self
    }

    /// Starts a long-running ebmbot (`dispatch`) with the Slack settings; stderr to `<name>.log`.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        let log = File::create(self.env.path(&format!("{}.log", args[0]))).expect("log file");
        Proc(self.command(args).stdout(Stdio::null()).stderr(log).spawn().expect("spawn ebmbot"))
    }

    /// Waits until job `id` is in `state`; returns it.
    pub fn wait_job(&self, id: i64, state: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(job) = self.jobs().into_iter().find(|j| j["id"] == id && j["state"] == state) {
                return job;
            }
            assert!(std::time::Instant::now() < deadline, "job {id} never became {state}: {:?}", self.jobs());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Stops the bot (SIGTERM) and returns its exit status and log.
    pub fn stop_bot(&mut self) -> (Option<i32>, String) {
        let Some(mut bot) = self.bot.take() else { return (None, String::new()) };
        let out = super::stop(&mut bot);
        (out.status.code(), self.log("bot"))
    }

    /// Sends the bot SIGHUP (re-read jobs.toml and the token).
    pub fn hup_bot(&self) {
        let bot = self.bot.as_ref().expect("the bot is running");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(bot.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    }

    /// Waits for the bot to exit by itself; its exit code and log.
    pub fn wait_bot_exit(&mut self) -> (Option<i32>, String) {
        let mut bot = self.bot.take().expect("a running bot");
        let status = super::wait_until("the bot to exit", || bot.try_wait());
        (status.code(), self.log("bot"))
    }

    /// Kills the bot at once (SIGKILL).
    pub fn kill_bot(&mut self) {
        drop(self.bot.take());
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.env.path(&format!("{name}.log"))).unwrap_or_default()
    }

    /// Sends an event and waits for its ack.
    pub fn send(&self, event_id: &str, event: Value) {
        let envelope = self.fake.send_event(event_id, event);
        self.fake.wait_ack(&envelope);
    }

    /// `@ebmbot <text>` from U1 in `channel` at `ts`.
    pub fn mention(&self, channel: &str, ts: &str, text: &str) {
        self.send(&format!("Ev{channel}{ts}"), mention(channel, ts, "U1", text));
    }

    /// A DM from U1 at `ts`.
    pub fn dm(&self, ts: &str, text: &str) {
        self.send(&format!("EvD{ts}"), dm(ts, "U1", text));
    }

    /// Jobs as `queue list --all --json` shows them.
    pub fn jobs(&self) -> Vec<Value> {
        let out = self.run(&["queue", "list", "--all", "--json"]);
        serde_json::from_slice::<Value>(&out.stdout).expect("queue list JSON").as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Slack {
    fn drop(&mut self) {
        if let Some(bot) = self.bot.take() {
            drop(bot);
            if std::thread::panicking() {
                eprintln!("--- bot.log ---\n{}", self.log("bot"));
                eprintln!("--- dispatch.log ---\n{}", self.log("dispatch"));
            }
        }
    }
}

pub fn mention(channel: &str, ts: &str, user: &str, text: &str) -> Value {
    json!({"type": "app_mention", "user": user, "text": format!("<@{BOT}> {text}"), "channel": channel, "ts": ts,
           "event_ts": ts})
}

pub fn dm(ts: &str, user: &str, text: &str) -> Value {
    json!({"type": "message", "channel_type": "im", "user": user, "text": text, "channel": "D1", "ts": ts,
           "event_ts": ts})
}

/// The text of a post.
pub fn text(post: &Value) -> String {
    fake::s(&post["text"])
}
