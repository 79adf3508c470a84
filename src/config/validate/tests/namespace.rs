//! Namespace keys: `pass_secrets`, `default_channel`, `fabfile`, and the working directory.

use super::{Settings, error, parse, parse_with};

/// `[example]` with one more key.
fn namespace_with(line: &str) -> String {
    format!("[example]\n{line}\n")
}

#[test]
fn pass_secrets() {
    use crate::config::SecretName;
    let catalog = parse(&namespace_with("pass_secrets = [\"SLACK_APP_TOKEN\", \"SLACK_SIGNING_SECRET\"]")).unwrap();
    assert_eq!(
        catalog.namespace("example").unwrap().pass_secrets,
        [SecretName::SlackAppToken, SecretName::SlackSigningSecret]
    );
    assert_eq!(
        error(&namespace_with("pass_secrets = [\"SLACK_APP_TOKN\"]")),
        "`example`: pass_secrets names `SLACK_APP_TOKN`, which is not one of ebmbot's secrets; did \
         you mean `SLACK_APP_TOKEN`? (line 1)"
    );
    let msg = error(&namespace_with("pass_secrets = [\"AWS_SECRET_ACCESS_KEY\"]"));
    assert!(
        msg.contains("use only `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`, `SLACK_SIGNING_SECRET`, `GITHUB_WEBHOOK_SECRET`"),
        "{msg}"
    );
}

#[test]
fn default_channel() {
    for ok in ["C0123ABC", "G01", "#tech", "#tech-support_2"] {
        assert!(parse(&namespace_with(&format!("default_channel = \"{ok}\""))).is_ok(), "{ok}");
    }
    assert_eq!(
        error(&namespace_with("default_channel = \"tech\"")),
        "`example`: default_channel `tech` is not a channel; write a channel id such as \
         `C0123456789` or a name such as `#tech` (did you mean `#tech`?) (line 1)"
    );
    let msg = error(&namespace_with("default_channel = \"#Tech\""));
    assert!(msg.contains("(did you mean `#tech`?)"), "{msg}");
    let msg = error(&namespace_with("default_channel = \"U0123\""));
    assert!(!msg.contains("did you mean"), "{msg}");
    for bad in ["#Tech", "#", "", "U0123", "c0123", "#a b"] {
        let msg = error(&namespace_with(&format!("default_channel = \"{bad}\"")));
        assert!(msg.starts_with(&format!("`example`: default_channel `{bad}` is not a channel")), "{msg}");
    }
}

#[test]
fn fabfile_urls() {
    for ok in [
        "https://example.org/fabfile.py",
        "http://localhost:8000/fabfile.py",
        "http://127.0.0.1/fabfile.py",
        "http://user@[::1]:80/f.py",
    ] {
        assert!(parse(&namespace_with(&format!("fabfile = \"{ok}\""))).is_ok(), "{ok}");
    }
    assert_eq!(
        error(&namespace_with("fabfile = \"http://example.org/fabfile.py\"")),
        "`example`: fabfile `http://example.org/fabfile.py` uses plain http to another host; use \
         an `https://` URL (or `http://` to localhost) (line 1)"
    );
    for bad in ["ftp://example.org/f.py", "https:///f.py", "fabfile.py", "http://localhost.evil.org/f"] {
        let msg = error(&namespace_with(&format!("fabfile = \"{bad}\"")));
        assert!(msg.starts_with(&format!("`example`: fabfile `{bad}`")), "{msg}");
        assert!(msg.contains("use an `https://` URL"), "{msg}");
    } // Credentials in the URL are not repeated in the message.
    let msg = error(&namespace_with("fabfile = \"http://deploy:hunter2@example.org/f.py?token=abc\""));
    assert!(msg.starts_with("`example`: fabfile `http://***@example.org/f.py?token=***` uses plain http"), "{msg}");
}

#[test]
fn workdir_is_fixed_when_the_workspace_has_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_root(dir.path());
    std::fs::create_dir_all(settings.workspace_dir.join("example")).unwrap();
    let catalog = parse_with(&settings, "[example]\n[other]\n").unwrap();
    let example = catalog.namespace("example").unwrap();
    assert!(example.workdir_fixed);
    assert_eq!(example.workdir, settings.workspace_dir.join("example"));
    let other = catalog.namespace("other").unwrap();
    assert!(!other.workdir_fixed);
    assert_eq!(other.workdir, settings.writeable_workspace_dir.join("other"));
    assert!(!other.workdir.exists(), "not created at load");
}

#[test]
fn github_repository_and_github_secret() {
    let catalog = parse(&namespace_with("github_repository = \"octo-org/octo-repo\"")).unwrap();
    assert_eq!(catalog.namespace("example").unwrap().github_repositories, ["octo-org/octo-repo"]);
    let catalog = parse(&namespace_with("github_repository = [\"a/b\", \"c-d/e.f_g\"]")).unwrap();
    assert_eq!(catalog.namespace("example").unwrap().github_repositories, ["a/b", "c-d/e.f_g"]);
    assert!(parse(&namespace_with("")).unwrap().namespace("example").unwrap().github_repositories.is_empty());
    assert_eq!(
        error(&namespace_with("github_repository = \"octo-repo\"")),
        "`example`: github_repository `octo-repo` is not a repository; write `owner/name` as GitHub shows it, \
         such as `octo-org/octo-repo` (line 1)"
    );
    assert!(error(&namespace_with("github_repository = \"https://github.com/a/b\"")).contains("is not a repository"));
    assert!(error(&namespace_with("github_repository = []")).contains("empty list"));

    let catalog = parse(&namespace_with("github_secret = \"SITE_HOOK_SECRET\"")).unwrap();
    assert_eq!(catalog.namespace("example").unwrap().github_secret.as_deref(), Some("SITE_HOOK_SECRET"));
    assert!(error(&namespace_with("github_secret = \"site secret\"")).contains("is not a variable name"));
    assert!(error(&namespace_with("github_secret = \"SITE_FILE\"")).contains("write the secret's own name (`SITE`)"));
    assert!(error(&namespace_with("github_secret = \"SLACK_BOT_TOKEN\"")).contains("one of ebmbot's own secrets"));
}
