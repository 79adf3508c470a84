//! The Slack Web API as ebmbot uses it: slack-morphism's client over hyper and rustls, pointed
//! at `SLACK_API_URL`, each call bounded by a 10 s connect and 30 s total timeout, and every
//! failure sorted into [`CallError`]: transient (retry with backoff, honouring Retry-After) or
//! a permanent answer from Slack.

use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::config::Secret;

pub type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;
pub type Client = SlackClient<Connector>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Slack error codes that mean "try again later" rather than "this will never work".
/// (`fatal_error` is not one: Slack says the call may have partly happened, so it is not
/// repeated blindly; https://api.slack.com/methods/chat.postMessage#errors.)
const TRANSIENT_CODES: &[&str] =
    &["ratelimited", "rate_limited", "internal_error", "service_unavailable", "request_timeout"];

/// Slack error codes that are about the token or the app's installation, not one call: every
/// call would fail alike until a new token is loaded (https://api.slack.com/methods/chat.postMessage#errors,
/// "Common errors" of every Web API method).
pub const AUTH_ERRORS: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "missing_scope",
    "team_access_not_granted",
];

/// Why a Slack call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("`{method}` failed for now ({reason}); it will be tried again")]
    Transient {
        method: &'static str,
        reason: String,
        retry_after: Option<Duration>,
        #[source]
        source: Option<SlackClientError>,
    },
    #[error("`{method}` answered `{code}`")]
    Api { method: &'static str, code: String },
    #[error("`{method}` gave an answer ebmbot does not understand")]
    Protocol {
        method: &'static str,
        #[source]
        source: SlackClientError,
    },
}

impl CallError {
    /// Slack's error code, or a short name for what went wrong.
    pub fn code(&self) -> &str {
        match self {
            Self::Transient { reason, .. } => reason,
            Self::Api { code, .. } => code,
            Self::Protocol { .. } => "invalid_response",
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The Web API method that failed.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Transient { method, .. } | Self::Api { method, .. } | Self::Protocol { method, .. } => method,
        }
    }

    /// Slack refused the token or the app is gone: not this call's fault (see [`AUTH_ERRORS`]).
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Api { code, .. } if AUTH_ERRORS.contains(&code.as_str()))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn from_slack(method: &'static str, e: SlackClientError) -> CallError {
        let transient =
            |reason: String, retry_after, source| CallError::Transient { method, reason, retry_after, source };
        match e {
            SlackClientError::ApiError(ref api) if TRANSIENT_CODES.contains(&api.code.as_str()) => {
                transient(api.code.clone(), None, Some(e))
            }
            SlackClientError::ApiError(api) => CallError::Api { method, code: api.code },
            SlackClientError::RateLimitError(ref r) => transient("ratelimited".into(), r.retry_after, Some(e)),
            SlackClientError::HttpError(ref h) => {
                let status = h.status_code;
                if status.is_server_error() || status.as_u16() == 408 {
                    transient(format!("http_{}", status.as_u16()), None, Some(e))
                } else {
                    CallError::Api { method, code: format!("http_{}", status.as_u16()) }
                }
            }
            SlackClientError::ProtocolError(_) | SlackClientError::SocketModeProtocolError(_) => {
                CallError::Protocol { method, source: e }
            }
            _ => transient("network_error".into(), None, Some(e)),
        }
    }
}

/// Builds the client. Errors only when the TLS configuration cannot be made.
pub fn client(api_url: &str) -> Client {
    crate::runner::install_crypto_provider();
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.enforce_http(false);
    let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => builder,
        Err(e) => {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                "no system CA certificates; https calls to Slack will fail"
            );
            let roots = rustls::RootCertStore::empty();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
        }
    };
    let https = builder.https_or_http().enable_http1().enable_http2().wrap_connector(http);
    SlackClient::new(SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url.trim_end_matches('/')))
}

/// A bot token's view of Slack.
pub struct SlackApi {
    client: Arc<Client>,
    /// Replaced when a new token is loaded (SIGHUP).
    token: RwLock<(SlackApiToken, Secret)>,
    on_call: Option<OnCall>,
    /// For `auth.test`, whose `x-oauth-scopes` header slack-morphism does not hand over.
    http: reqwest::Client,
    api_url: String,
}

/// Who the bot is, and what its token may do (`auth.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub user_id: String,
    pub team_id: String,
    /// The token's scopes (the `x-oauth-scopes` header); `None` when Slack did not say.
    pub scopes: Option<BTreeSet<String>>,
}

async fn call<T>(method: &'static str, fut: impl Future<Output = Result<T, CallError>>) -> Result<T, CallError> {
    match tokio::time::timeout(TOTAL_TIMEOUT, fut).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Transient { method, reason: "timeout".into(), retry_after: None, source: None }),
    }
}

/// An answer of `auth.test` read by hand: its status, `Retry-After`, body and scopes header.
async fn auth_test_answer(response: reqwest::Response) -> Result<Me, CallError> {
    let method = "auth.test";
    let status = response.status();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let transient = |reason: String, retry_after| CallError::Transient { method, reason, retry_after, source: None };
    if status.as_u16() == 429 {
        let after = header("retry-after").and_then(|s| s.trim().parse().ok()).map(Duration::from_secs);
        return Err(transient("ratelimited".into(), after));
    }
    if status.is_server_error() || status.as_u16() == 408 {
        return Err(transient(format!("http_{}", status.as_u16()), None));
    }
    if !status.is_success() {
        return Err(CallError::Api { method, code: format!("http_{}", status.as_u16()) });
    }
    let scopes = header("x-oauth-scopes")
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect());
    let body: serde_json::Value = response.json().await.map_err(|_| transient("network_error".into(), None))?;
    if body["ok"] != true {
        let code = body["error"].as_str().unwrap_or("invalid_response").to_owned();
        if TRANSIENT_CODES.contains(&code.as_str()) {
            return Err(transient(code, None));
        }
        return Err(CallError::Api { method, code });
    }
    let field = |k: &str| body[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    match (field("user_id"), field("team_id")) {
        (Some(user_id), Some(team_id)) => Ok(Me { user_id, team_id, scopes }),
        _ => Err(CallError::Api { method, code: "invalid_response".into() }),
    }
}

/// Told of every Web API call: the method and `ok` or the error code (`ratelimited`,
/// `channel_not_found`, `network_error`, `timeout`, `http_502`, …). For process metrics.
pub type OnCall = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// `url` if Slack could have given it as a `response_url`: `https://hooks.slack.com/…`, or on
/// the host of `api_url` (`SLACK_API_URL`: the tests' fake Slack). Anything else is not posted
/// to, whatever a payload says.
fn response_url(url: &str, api_url: &str) -> Option<url::Url> {
    let url = url::Url::parse(url).ok()?;
    let api = url::Url::parse(api_url).ok()?;
    let slack = url.scheme() == "https" && url.host_str() == Some("hooks.slack.com");
    let api_host = url.scheme() == api.scheme()
        && url.host_str() == api.host_str()
        && url.port_or_known_default() == api.port_or_known_default();
    (slack || api_host).then_some(url)
}

fn next_cursor(meta: Option<SlackResponseMetadata>) -> Option<String> {
    meta.and_then(|m| m.next_cursor).map(|c| c.0).filter(|c| !c.is_empty())
}

impl SlackApi {
    /// `api_url` is `SLACK_API_URL`, which `client` is pointed at too.
    pub fn new(client: Arc<Client>, api_url: &str, bot_token: &Secret, on_call: Option<OnCall>) -> SlackApi {
        crate::runner::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .build()
            .unwrap_or_default();
        SlackApi {
            client,
            token: RwLock::new((Self::api_token(bot_token), bot_token.clone())),
            on_call,
            http,
            api_url: api_url.trim_end_matches('/').to_owned(),
        }
    }

    fn api_token(secret: &Secret) -> SlackApiToken {
        SlackApiToken::new(secret.expose().into())
    }

    fn token(&self) -> SlackApiToken {
        self.token.read().unwrap_or_else(PoisonError::into_inner).0.clone()
    }

    /// Uses `token` from now on; false when it is the one in use.
    pub fn set_token(&self, token: &Secret) -> bool {
        let mut current = self.token.write().unwrap_or_else(PoisonError::into_inner);
        if current.1 == *token {
            return false;
        }
        *current = (Self::api_token(token), token.clone());
        true
    }

    /// Makes one call through slack-morphism, bounded by the total timeout, and tells the
    /// observer how it went.
    async fn done<T>(&self, method: &'static str, fut: impl Future<Output = ClientResult<T>>) -> Result<T, CallError> {
        self.observed(method, async { fut.await.map_err(|e| CallError::from_slack(method, e)) }).await
    }

    /// Makes one call, bounded by the total timeout, and tells the observer how it went.
    async fn observed<T>(
        &self,
        method: &'static str,
        fut: impl Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        let result = call(method, fut).await;
        if let Some(on_call) = &self.on_call {
            on_call(method, result.as_ref().map_or_else(CallError::code, |_| "ok"));
        }
        result
    }

    pub fn client(&self) -> Arc<Client> {
        self.client.clone()
    }

    /// Who the bot is, and the token's scopes (`x-oauth-scopes`).
    pub async fn auth_test(&self) -> Result<Me, CallError> {
        let request =
            self.http.post(format!("{}/auth.test", self.api_url)).bearer_auth(self.token().token_value.0.as_str());
        self.observed("auth.test", async move {
            let response = request.send().await.map_err(|e| CallError::Transient {
                method: "auth.test",
                reason: if e.is_timeout() { "timeout" } else { "network_error" }.into(),
                retry_after: None,
                source: None,
            })?;
            auth_test_answer(response).await
        })
        .await
    }

    pub async fn user(&self, id: &str) -> Result<SlackUser, CallError> {
        let req = SlackApiUsersInfoRequest::new(id.into());
        Ok(self.done("users.info", self.client.open_session(&self.token()).users_info(&req)).await?.user)
    }

    pub async fn users_page(&self, cursor: Option<String>) -> Result<(Vec<SlackUser>, Option<String>), CallError> {
        let req = SlackApiUsersListRequest::new().with_limit(200).opt_cursor(cursor.map(SlackCursorId));
        let r = self.done("users.list", self.client.open_session(&self.token()).users_list(&req)).await?;
        Ok((r.members, next_cursor(r.response_metadata)))
    }

    /// One page of unarchived conversations: public ones, and with `private` also the private
    /// channels the bot is in.
    pub async fn channels_page(
        &self,
        cursor: Option<String>,
        private: bool,
    ) -> Result<(Vec<SlackChannelInfo>, Option<String>), CallError> {
        let mut types = vec![SlackConversationType::Public];
        if private {
            types.push(SlackConversationType::Private);
        }
        let req = SlackApiConversationsListRequest::new()
            .with_limit(200)
            .with_exclude_archived(true)
            .with_types(types)
            .opt_cursor(cursor.map(SlackCursorId));
        let r =
            self.done("conversations.list", self.client.open_session(&self.token()).conversations_list(&req)).await?;
        Ok((r.channels, next_cursor(r.response_metadata)))
    }

    /// One page of a channel's messages after `oldest` (a Slack ts, exclusive), newest first as
    /// Slack gives them, each as the JSON Slack sent; and the cursor of the next page.
    pub async fn history(
        &self,
        channel: &str,
        oldest: &str,
        cursor: Option<String>,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), CallError> {
        let req = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_oldest(oldest.into())
            .with_limit(200)
            .opt_cursor(cursor.map(SlackCursorId));
        let r = self
            .done("conversations.history", self.client.open_session(&self.token()).conversations_history(&req))
            .await?;
        let messages = r.messages.iter().filter_map(|m| serde_json::to_value(m).ok()).collect();
        Ok((messages, next_cursor(r.response_metadata)))
    }

    /// One page of the public and private channels the bot is in (`users.conversations`):
    /// their ids, and whether each is private; and the cursor of the next page.
    pub async fn member_channels_page(
        &self,
        cursor: Option<String>,
    ) -> Result<(Vec<(String, bool)>, Option<String>), CallError> {
        let req = SlackApiUsersConversationsRequest::new()
            .with_limit(200)
            .with_exclude_archived(true)
            .with_types(vec![SlackConversationType::Public, SlackConversationType::Private])
            .opt_cursor(cursor.map(SlackCursorId));
        let r =
            self.done("users.conversations", self.client.open_session(&self.token()).users_conversations(&req)).await?;
        let channels = r.channels.into_iter().map(|c| (c.id.0, c.flags.is_private.unwrap_or(false))).collect();
        Ok((channels, next_cursor(r.response_metadata)))
    }

    /// What a conversation is (`conversations.info`): its kind flags and name.
    pub async fn conversation(&self, channel: &str) -> Result<SlackChannelInfo, CallError> {
        let req = SlackApiConversationsInfoRequest::new(channel.into());
        Ok(self
            .done("conversations.info", self.client.open_session(&self.token()).conversations_info(&req))
            .await?
            .channel)
    }

    pub async fn join(&self, channel: &str) -> Result<(), CallError> {
        let req = SlackApiConversationsJoinRequest::new(channel.into());
        self.done("conversations.join", self.client.open_session(&self.token()).conversations_join(&req))
            .await
            .map(|_| ())
    }

    /// Posts a message; returns its ts. Links in it are not unfurled (`unfurl_links` and
    /// `unfurl_media` false): job output and replies are shown as they are, without previews of
    /// whatever a job printed a link to.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Vec<SlackBlock>>,
    ) -> Result<String, CallError> {
        self.post_with(channel, thread_ts, text, blocks, false).await
    }

    /// Posts a message whose point is a link (a permalink for tech support): Slack unfurls it.
    pub async fn post_link(&self, channel: &str, thread_ts: Option<&str>, text: &str) -> Result<String, CallError> {
        self.post_with(channel, thread_ts, text, None, true).await
    }

    async fn post_with(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Vec<SlackBlock>>,
        unfurl: bool,
    ) -> Result<String, CallError> {
        let content = SlackMessageContent::new().with_text(text.to_owned()).opt_blocks(blocks);
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .opt_thread_ts(thread_ts.map(|t| SlackTs(t.to_owned())));
        if !unfurl {
            req = req.with_unfurl_links(false).with_unfurl_media(false);
        }
        Ok(self.done("chat.postMessage", self.client.open_session(&self.token()).chat_post_message(&req)).await?.ts.0)
    }

    /// Posts a message only `user` sees, in `channel` (an answer to their click or slash
    /// command: a refusal, help, status).
    pub async fn post_ephemeral(&self, channel: &str, user: &str, text: &str) -> Result<(), CallError> {
        let content = SlackMessageContent::new().with_text(text.to_owned());
        let req = SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content);
        self.done("chat.postEphemeral", self.client.open_session(&self.token()).chat_post_ephemeral(&req)).await?;
        Ok(())
    }

    /// Answers a slash command at its `response_url`, seen by its user only (Slack's default
    /// for a response URL): it works in channels the bot is not in, where `chat.postEphemeral`
    /// cannot.
    pub async fn respond(&self, response_url: &url::Url, text: &str) -> Result<(), CallError> {
        let req = SlackApiPostWebhookMessageRequest::new(SlackMessageContent::new().with_text(text.to_owned()));
        let url = SlackResponseUrl(response_url.clone());
        self.done("response_url", self.client.respond_to_event(&url, &req)).await?;
        Ok(())
    }

    /// `url` if Slack could have given it as a `response_url` ([`response_url`]).
    pub fn response_url(&self, url: &str) -> Option<url::Url> {
        response_url(url, &self.api_url)
    }

    /// Opens a modal (`view`: Slack's view JSON) for the interaction that gave `trigger_id`
    /// (valid for 3 s after the click).
    pub async fn open_view(&self, trigger_id: &str, view: serde_json::Value) -> Result<(), CallError> {
        let view: SlackView = serde_json::from_value(view)
            .map_err(|e| CallError::Api { method: "views.open", code: format!("bad view: {e}") })?;
        let req = SlackApiViewsOpenRequest::new(SlackTriggerId(trigger_id.to_owned()), view);
        self.done("views.open", self.client.open_session(&self.token()).views_open(&req)).await?;
        Ok(())
    }

    /// Publishes `user`'s Home tab (`view`: Slack's view JSON of type `home`).
    pub async fn publish_home(&self, user: &str, view: serde_json::Value) -> Result<(), CallError> {
        let view: SlackView = serde_json::from_value(view)
            .map_err(|e| CallError::Api { method: "views.publish", code: format!("bad view: {e}") })?;
        let req = SlackApiViewsPublishRequest::new(user.into(), view);
        self.done("views.publish", self.client.open_session(&self.token()).views_publish(&req)).await?;
        Ok(())
    }

    /// Replaces the text (and blocks) of a message ebmbot posted.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: Option<Vec<SlackBlock>>,
    ) -> Result<(), CallError> {
        let content = SlackMessageContent::new().with_text(text.to_owned()).opt_blocks(blocks);
        let req = SlackApiChatUpdateRequest::new(channel.into(), content, SlackTs(ts.to_owned()));
        self.done("chat.update", self.client.open_session(&self.token()).chat_update(&req)).await?;
        Ok(())
    }

    /// Adds a reaction; one that is already there counts as added.
    pub async fn react(&self, channel: &str, ts: &str, name: &str) -> Result<(), CallError> {
        let req = SlackApiReactionsAddRequest::new(channel.into(), SlackReactionName(name.to_owned()), ts.into());
        match self.done("reactions.add", self.client.open_session(&self.token()).reactions_add(&req)).await {
            Err(CallError::Api { code, .. }) if code == "already_reacted" || code == "no_reaction" => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, CallError> {
        let req = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        Ok(self
            .done("chat.getPermalink", self.client.open_session(&self.token()).chat_get_permalink(&req))
            .await?
            .permalink
            .to_string())
    }

    /// Slack's external upload: get an upload URL, send the bytes, complete it into the
    /// channel (an id) and thread, with a comment. Returns the file id.
    pub async fn upload(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        filename: &str,
        content: &[u8],
        comment: &str,
    ) -> Result<String, CallError> {
        let token = self.token();
        let session = self.client.open_session(&token);
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_owned(), content.len());
        let target = self.done("files.getUploadURLExternal", session.get_upload_url_external(&req)).await?;
        let upload =
            SlackApiFilesUploadViaUrlRequest::new(target.upload_url, content.to_vec(), "text/plain".to_owned());
        self.done("files.upload_url", session.files_upload_via_url(&upload)).await?;
        let file = SlackApiFilesComplete::new(target.file_id.clone()).with_title(filename.to_owned());
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![file])
            .with_channel_id(channel.into())
            .with_initial_comment(comment.to_owned())
            .opt_thread_ts(thread_ts.map(|t| SlackTs(t.to_owned())));
        self.done("files.completeUploadExternal", session.files_complete_upload_external(&complete)).await?;
        Ok(target.file_id.0)
    }
}

#[cfg(test)]
mod response_url_tests {
    #[test]
    fn only_slacks_hooks_or_the_api_host_take_answers() {
        let slack = "https://slack.com/api";
        let ok = |url: &str, api: &str| super::response_url(url, api).is_some();
        assert!(ok("https://hooks.slack.com/commands/T1/1/x", slack));
        for bad in [
            "http://hooks.slack.com/commands/T1/1/x",
            "https://hooks.slack.com.evil.example/x",
            "https://evil.example/?hooks.slack.com",
            "http://169.254.169.254/latest/meta-data",
            "https://slack.com.evil.example/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!ok(bad, slack), "{bad}");
        }
        let fake = "http://127.0.0.1:4100/api";
        assert!(ok("http://127.0.0.1:4100/response/1", fake));
        assert!(!ok("http://127.0.0.1:4101/response/1", fake), "another port");
        assert!(!ok("https://127.0.0.1:4100/response/1", fake), "another scheme");
    }
}
