//! Where a delivery comes from (docs/security.md): a project that pins its repositories with
//! `github_repository` takes deliveries only from them (`repository.full_name`, compared as GitHub
//! does, ignoring case), and a `restricted` project takes none until it pins one. Without a pin
//! any repository whose webhook is signed with the project's secret may trigger it; `config
//! check` warns about that.

use serde_json::Value;

use crate::config::Namespace;

use super::WebhookError;

/// Refuses a delivery to `ns` from a repository it does not pin, or to a restricted `ns` that
/// pins none.
pub(super) fn check(ns: &Namespace, payload: &Value) -> Result<(), WebhookError> {
    if ns.github_repositories.is_empty() {
        return if ns.restricted { Err(WebhookError::Unpinned { project: ns.name.clone() }) } else { Ok(()) };
    }
    let from = payload.pointer("/repository/full_name").and_then(Value::as_str);
    if from.is_some_and(|from| ns.github_repositories.iter().any(|r| r.eq_ignore_ascii_case(from))) {
        return Ok(());
    }
    Err(WebhookError::WrongRepository {
        project: ns.name.clone(),
        pinned: ns.github_repositories.join("`, `"),
        // From a signed payload, but shown in logs: no control characters.
        from: from.map(|f| f.chars().take(200).collect::<String>().escape_debug().to_string()),
    })
}
