//! Socket Mode through slack-morphism's listener: it opens the connection with
//! `apps.connections.open` (`SLACK_APP_TOKEN`), reconnects by itself after a drop or a
//! `disconnect`, and acknowledges an envelope when our callback returns — which is as soon as
//! the event is stored (see [`receive`]). A store failure returns an error and the envelope
//! goes unacknowledged, so Slack sends it again.

use std::sync::Arc;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

use super::BotError;
use super::api::{Client, Connector};
use super::receive::{ReceiveError, Shared, receive};
use super::start::FATAL_AUTH;
use crate::config::Secret;

/// A running Socket Mode listener.
pub struct SocketMode {
    listener: SlackClientSocketModeListener<Connector>,
}

impl SocketMode {
    /// Checks the app token once (a refused token is final: the listener would retry it for
    /// ever), then connects (retrying in the background until it can) and handles envelopes.
    pub async fn start(shared: Arc<Shared>, app_token: &Secret) -> Result<SocketMode, BotError> {
        let token = SlackApiToken::new(app_token.expose().into());
        let check = SlackApiAppsConnectionOpenRequest::new();
        match shared.api.client().open_session(&token).apps_connections_open(&check).await {
            Err(SlackClientError::ApiError(e)) if FATAL_AUTH.contains(&e.code.as_str()) => {
                return Err(BotError::BadToken { token: "SLACK_APP_TOKEN", code: e.code });
            }
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot open a Socket Mode connection yet; retrying in the background"
                );
            }
            Ok(_) => {}
        }
        let callbacks = SlackSocketModeListenerCallbacks::new().with_push_events(on_push);
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(shared.api.client())
                .with_error_handler(on_error)
                .with_user_state(shared),
        );
        let config = SlackClientSocketModeConfig::new().with_reconnect_timeout_in_seconds(5);
        let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
        listener.listen_for(&token).await.map_err(BotError::SocketMode)?;
        listener.start().await;
        Ok(SocketMode { listener })
    }

    pub async fn shutdown(self) {
        self.listener.shutdown().await;
    }
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let shared = state.read().await.get_user_state::<Arc<Shared>>().cloned();
    let Some(shared) = shared else {
        return Err("the Socket Mode listener has no bot state".into());
    };
    let payload = serde_json::to_value(&event)?;
    receive(&shared, payload).await?;
    Ok(())
}

/// Errors of the listener. A store failure answers 500: no acknowledgement, Slack resends.
/// Anything else (a message that does not parse, whose envelope slack-morphism acknowledges
/// anyway) is logged and answered 200.
fn on_error(error: BoxError, _client: Arc<Client>, _state: SlackClientEventsUserState) -> HttpStatusCode {
    if let Some(e) = error.downcast_ref::<ReceiveError>() {
        tracing::error!(error = %crate::error::describe(e), "Socket Mode: not acknowledging an event");
        HttpStatusCode::INTERNAL_SERVER_ERROR
    } else {
        tracing::warn!(error = %error, "Socket Mode: ignored a message ebmbot does not understand");
        HttpStatusCode::OK
    }
}
