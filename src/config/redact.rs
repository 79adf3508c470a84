//! Credentials in a URL, hidden before the URL is shown: `https://user:token@host/f.py?token=x`
//! is shown as `https://***@host/f.py?token=***`. For error messages and logs, which must
//! never carry a secret, including one the operator put in a `fabfile` URL.

use std::borrow::Cow;

use super::{SecretName, Settings};

/// Secret values shorter than this are not masked: they would mask ordinary words, and no token
/// or webhook secret is that short.
const MIN_MASKED: usize = 8;

/// `text` with the value of each of ebmbot's secrets replaced by `[redacted]`: job output is
/// masked so before it is posted to Slack, in case a job prints a secret it was given
/// (`pass_secrets`) or found.
pub fn secrets<'a>(settings: &Settings, text: &'a str) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for name in SecretName::ALL {
        let Some(value) = settings.secret(name).map(super::Secret::expose) else { continue };
        if value.len() >= MIN_MASKED && out.contains(value) {
            out = Cow::Owned(out.replace(value, "[redacted]"));
        }
    }
    out
}

/// `url` with its user info and its query values replaced by `***`.
pub fn url(url: &str) -> Cow<'_, str> {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rfind('@').map(|at| &authority[at + 1..]);
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    if host.is_none() && query.is_none() {
        return Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match host {
        Some(host) => {
            out.push_str("***@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if let Some(query) = query {
        let (query, fragment) = match query.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (query, None),
        };
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}=***"),
                None => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn secret_values_are_masked() {
        let mut settings = Settings::for_root(std::path::Path::new("/srv"));
        settings.slack_bot_token = Some(Secret::new("xoxb-1234-abcdef"));
        settings.github_webhook_secret = Some(Secret::new("short"));
        assert_eq!(secrets(&settings, "token=xoxb-1234-abcdef; xoxb-1234-abcdef"), "token=[redacted]; [redacted]");
        assert_eq!(secrets(&settings, "a short word"), "a short word");
        assert!(matches!(secrets(&settings, "nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn credentials_are_hidden() {
        assert_eq!(url("https://host/path/fabfile.py"), "https://host/path/fabfile.py");
        assert_eq!(url("https://user:pa55@host/f.py"), "https://***@host/f.py");
        assert_eq!(url("https://tok@host"), "https://***@host");
        assert_eq!(url("https://host/f.py?token=abc&x=1#top"), "https://host/f.py?token=***&x=***#top");
        assert_eq!(url("http://a:b@127.0.0.1:8080/f?t=s"), "http://***@127.0.0.1:8080/f?t=***");
        // Not a URL at all: user info is still hidden.
        assert_eq!(url("user:secret@host/f.py"), "***@host/f.py");
        assert_eq!(url("https://host/a@b"), "https://host/a@b");
    }
}
