//! Socket Mode: a small client of our own on tokio-tungstenite (docs/slack.md). slack-morphism's
//! listener reconnects every 5 s for ever, keeps Slack's `disconnect` reasons to itself and
//! tells no one whether it is connected; this one:
//!
//! - opens a connection with `apps.connections.open` (`SLACK_APP_TOKEN`), says `connected` at
//!   Slack's `hello`, and acknowledges an `events_api` envelope once [`receive`] has stored its
//!   event (a store failure sends no ack: Slack sends it again);
//! - reconnects at once when Slack asks (`disconnect` with `warning` or `refresh_requested`),
//!   and otherwise (a drop, `too_many_websockets`, a network error, Slack failing) after an
//!   exponential backoff with jitter from `SLACK_RETRY_BASE` to 2 minutes, honouring
//!   Retry-After; a connection that said `hello` starts the backoff again;
//! - pings every 30 s and reconnects when nothing has come for 90 s (a half-open connection);
//! - ends for good, with an error that says what to do, at `link_disabled` (Socket Mode turned
//!   off for the app) and when Slack refuses the app token;
//! - reports each state change to an observer (`/readyz`, `/metrics`) and logs it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::BotError;
use super::api::CallError;
use super::receive::{Shared, receive};
use crate::config::Secret;

/// `apps.connections.open` answers that no retry will fix (api.slack.com/methods/apps.connections.open).
const FATAL_OPEN: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
    "missing_scope",
    "no_permission",
];

/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(120);
/// How long the websocket handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// Pings go out this often; a connection silent for [`IDLE`] is taken for dead.
const PING_EVERY: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(90);

/// The state of the Socket Mode connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketState {
    /// Opening the first connection.
    Connecting,
    /// Slack said `hello`: events flow.
    Connected,
    /// The connection was lost or refused (`reason`); try `attempt` comes next.
    Reconnecting { attempt: u32, reason: String },
    /// Ended for good (`reason`), or shut down.
    Stopped { reason: String },
}

impl SocketState {
    /// Every state's name, as [`SocketState::name`] gives it.
    pub const NAMES: [&'static str; 4] = ["connecting", "connected", "reconnecting", "stopped"];

    /// `connecting`, `connected`, `reconnecting` or `stopped` (the metric's label).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Stopped { .. } => "stopped",
        }
    }

    /// One line for people: `reconnecting (attempt 3; Slack asked to reconnect: \`warning\`)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Reconnecting { attempt, reason } => format!("reconnecting (attempt {attempt}; {reason})"),
            Self::Stopped { reason } => format!("stopped ({reason})"),
            other => other.name().to_owned(),
        }
    }
}

/// Told of every state change.
pub type OnState = Arc<dyn Fn(&SocketState) + Send + Sync>;

/// A running Socket Mode client.
pub struct SocketMode {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<Result<(), BotError>>>,
}

impl SocketMode {
    /// Starts connecting in the background (retrying until Slack answers).
    pub fn start(shared: Arc<Shared>, app_token: &Secret, on_state: Option<OnState>) -> SocketMode {
        let client = Client {
            base: shared.settings.slack_retry_base,
            shared,
            token: SlackApiToken::new(app_token.expose().into()),
            on_state,
        };
        let (stop, stopped) = watch::channel(false);
        SocketMode { stop, task: Some(tokio::spawn(client.run(stopped))) }
    }

    /// Resolves when the connection has ended for good: a refused app token or
    /// `link_disabled`. Never resolves while it works, or retries.
    pub async fn ended(&mut self) -> Result<(), BotError> {
        let Some(task) = self.task.as_mut() else { return std::future::pending().await };
        let result = task.await;
        self.task = None;
        result.unwrap_or_else(|e| {
            tracing::error!(error = &e as &dyn std::error::Error, "the Socket Mode task failed");
            Ok(())
        })
    }

    /// Closes the connection.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// How a connection ended.
enum Ended {
    /// For good.
    Fatal(BotError),
    /// Try again: at once (Slack asked), or after the backoff or Slack's Retry-After.
    Again { reason: String, hello: bool, at_once: bool, retry_after: Option<Duration> },
}

impl Ended {
    fn again(reason: impl Into<String>, hello: bool) -> Ended {
        Ended::Again { reason: reason.into(), hello, at_once: false, retry_after: None }
    }
}

struct Client {
    shared: Arc<Shared>,
    token: SlackApiToken,
    on_state: Option<OnState>,
    base: Duration,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type Writer = futures_util::stream::SplitSink<Socket, Message>;

impl Client {
    fn set(&self, state: &SocketState) {
        match state {
            SocketState::Connected => tracing::info!("Socket Mode: connected"),
            SocketState::Stopped { .. } | SocketState::Connecting => {}
            SocketState::Reconnecting { .. } => tracing::warn!("Socket Mode: {}", state.describe()),
        }
        if let Some(on_state) = &self.on_state {
            on_state(state);
        }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) -> Result<(), BotError> {
        let mut attempt = 0u32;
        self.set(&SocketState::Connecting);
        loop {
            let ended = tokio::select! {
                ended = self.connection() => ended,
                _ = stopped.wait_for(|stop| *stop) => break,
            };
            let (reason, wait) = match ended {
                Ended::Fatal(e) => {
                    self.set(&SocketState::Stopped { reason: e.to_string() });
                    return Err(e);
                }
                Ended::Again { reason, hello, at_once, retry_after } => {
                    if hello {
                        attempt = 0;
                    }
                    let wait = if at_once {
                        Duration::ZERO
                    } else {
                        retry_after.unwrap_or_else(|| backoff(self.base, attempt))
                    };
                    (reason, wait)
                }
            };
            attempt += 1;
            self.set(&SocketState::Reconnecting { attempt, reason: format!("{reason}; next try in {wait:?}") });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
        }
        self.set(&SocketState::Stopped { reason: "shut down".into() });
        Ok(())
    }

    /// One connection, from `apps.connections.open` to its end.
    async fn connection(&self) -> Ended {
        let open = SlackApiAppsConnectionOpenRequest::new();
        let url = match self.shared.api.client().open_session(&self.token).apps_connections_open(&open).await {
            Ok(answer) => answer.url.0.to_string(),
            Err(SlackClientError::ApiError(e)) if FATAL_OPEN.contains(&e.code.as_str()) => {
                return Ended::Fatal(BotError::BadToken { token: "SLACK_APP_TOKEN", code: e.code });
            }
            Err(e) => {
                let e = CallError::from_slack("apps.connections.open", e);
                let reason = format!("`apps.connections.open` failed ({})", e.code());
                return Ended::Again { reason, hello: false, at_once: false, retry_after: e.retry_after() };
            }
        };
        let socket = match tokio::time::timeout(HANDSHAKE, tokio_tungstenite::connect_async(url.as_str())).await {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(e)) => return Ended::again(format!("cannot open the websocket ({e})"), false),
            Err(_) => return Ended::again("the websocket handshake timed out", false),
        };
        self.serve(socket).await
    }

    /// Reads frames until the connection ends.
    async fn serve(&self, socket: Socket) -> Ended {
        let (mut write, mut read) = socket.split();
        let mut hello = false;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            let frame = tokio::select! {
                frame = tokio::time::timeout(IDLE, read.next()) => frame,
                _ = ping.tick() => {
                    if write.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return Ended::again("the connection was lost", hello);
                    }
                    continue;
                }
            };
            let text = match frame {
                Err(_) => return Ended::again(format!("nothing came for {}s", IDLE.as_secs()), hello),
                Ok(None | Some(Err(_))) => return Ended::again("the connection was lost", hello),
                Ok(Some(Ok(Message::Close(_)))) => return Ended::again("Slack closed the connection", hello),
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue, // pings (answered by tungstenite), pongs
            };
            let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
                tracing::warn!("Socket Mode: ignored a frame that is not JSON");
                continue;
            };
            let kind = message["type"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "hello" => {
                    hello = true;
                    self.set(&SocketState::Connected);
                    // Events sent while the connection was down are lost: read what was said.
                    self.shared.catch_up.notify_one();
                }
                "disconnect" => return disconnected(message["reason"].as_str().unwrap_or("unknown"), hello),
                _ => {
                    if !self.envelope(&kind, message, &mut write).await {
                        return Ended::again("the connection was lost", hello);
                    }
                }
            }
        }
    }

    /// Handles an envelope; false when the ack could not be sent.
    async fn envelope(&self, kind: &str, mut message: Value, write: &mut Writer) -> bool {
        let Some(id) = message["envelope_id"].as_str().map(str::to_owned) else {
            tracing::debug!(kind, "Socket Mode: ignored a message without an envelope");
            return true;
        };
        if kind == "events_api" || kind == "interactive" || kind == "slash_commands" {
            let payload = message["payload"].take();
            let stored = if kind == "events_api" {
                receive(&self.shared, payload).await
            } else {
                super::interactive::receive_interactive(&self.shared, payload).await
            };
            if let Err(e) = stored {
                tracing::error!(error = %crate::error::describe(&e), "Socket Mode: not acknowledging an event");
                return true;
            }
        } else {
            tracing::info!(kind, "Socket Mode: acknowledged an envelope ebmbot does not handle");
        }
        let ack = json!({ "envelope_id": id }).to_string();
        write.send(Message::Text(ack.into())).await.is_ok()
    }
}

/// What a `disconnect` message means (api.slack.com/apis/socket-mode, "Disconnect"):
/// `warning` (the connection closes in about 10 s) and `refresh_requested`: reconnect now;
/// `link_disabled` (Socket Mode turned off for the app): stop; anything else
/// (`too_many_websockets`, …): reconnect after the backoff.
fn disconnected(reason: &str, hello: bool) -> Ended {
    match reason {
        "link_disabled" => Ended::Fatal(BotError::SocketModeOff { reason: reason.to_owned() }),
        "warning" | "refresh_requested" => Ended::Again {
            reason: format!("Slack asked to reconnect (`{reason}`)"),
            hello,
            at_once: true,
            retry_after: None,
        },
        other => Ended::again(format!("Slack disconnected (`{other}`)"), hello),
    }
}

/// The wait before try `attempt` + 1: `base` doubling to [`MAX_BACKOFF`], of which a random
/// half (so that bots cut off together do not come back together).
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base.saturating_mul(1 << attempt.min(20)).min(MAX_BACKOFF);
    full / 2 + (full / 2).mul_f64(random_fraction())
}

/// A number in [0, 1) from the standard library's per-instance random hash keys.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_to_its_cap_with_half_of_it_random() {
        let base = Duration::from_secs(1);
        for attempt in 0..30 {
            let full = base.saturating_mul(1 << attempt.min(20)).min(MAX_BACKOFF);
            let waits: Vec<Duration> = (0..20).map(|_| backoff(base, attempt)).collect();
            assert!(waits.iter().all(|w| *w >= full / 2 && *w <= full), "{attempt}: {waits:?}");
        }
        assert_eq!(backoff(base, 40).max(MAX_BACKOFF), MAX_BACKOFF);
        let spread: std::collections::BTreeSet<Duration> = (0..20).map(|_| backoff(base, 3)).collect();
        assert!(spread.len() > 1, "jitter: {spread:?}");
    }

    #[test]
    fn each_disconnect_reason_is_handled_as_slack_documents_it() {
        let at_once = |reason| matches!(disconnected(reason, true), Ended::Again { at_once: true, .. });
        assert!(at_once("warning") && at_once("refresh_requested"));
        assert!(!at_once("too_many_websockets") && !at_once("something_new"));
        assert!(matches!(disconnected("link_disabled", true), Ended::Fatal(BotError::SocketModeOff { .. })));
    }
}
