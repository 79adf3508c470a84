//! One `[namespace]`: its name, channel, fabfile, secrets and working directory, then its jobs,
//! Slack commands and GitHub triggers.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use toml::Spanned;

use super::super::catalog::Namespace;
use super::super::invalid::{FabfileProblem, Invalid, NamespaceProblem, Problem};
use super::super::raw::{RawNamespace, Repositories};
use super::super::suggest::closest;
use super::super::{SecretName, Settings};
use super::{RESERVED_NAMESPACES, Source, at, github, job, listeners, slack, timers};

pub(super) fn namespace(
    name: String,
    raw: Spanned<RawNamespace>,
    src: &Source<'_>,
    settings: &Settings,
) -> Result<Namespace, Invalid> {
    let line = src.at(raw.span());
    let invalid = at(line);
    let raw = raw.into_inner();
    check_name(&name).map_err(|problem| Invalid { problem, line, column: None })?;
    let problem = |problem| invalid(Problem::Namespace { namespace: name.clone(), problem });
    if let Some(channel) = &raw.default_channel {
        check_channel(channel).map_err(problem)?;
    }
    if let Some(url) = &raw.fabfile {
        check_fabfile(url).map_err(problem)?;
    }
    let pass_secrets = secrets(&raw.pass_secrets).map_err(problem)?;
    let github_repositories = repositories(raw.github_repository).map_err(problem)?;
    if let Some(var) = &raw.github_secret {
        check_secret_var(var).map_err(problem)?;
    }
    let jobs = raw
        .jobs
        .into_iter()
        .map(|(job_name, def)| Ok((job_name.clone(), job(&name, job_name, def, src, settings)?)))
        .collect::<Result<BTreeMap<_, _>, Invalid>>()?;
    let slack = slack::commands(&name, raw.slack, &jobs, src)?;
    let github = github::triggers(&name, raw.github, &jobs, src)?;
    let timers = timers::timers(&name, raw.timers, &jobs, raw.default_channel.as_deref(), src, settings)?;
    let listeners = listeners::listeners(&name, raw.listeners, src)?;
    let (workdir, workdir_fixed) = workdir(&name, settings);
    Ok(Namespace {
        name,
        description: raw.description,
        restricted: raw.restricted,
        allow_reminders: raw.allow_reminders,
        default_channel: raw.default_channel,
        fabfile: raw.fabfile,
        pass_secrets,
        github_repositories,
        github_secret: raw.github_secret,
        workdir,
        workdir_fixed,
        jobs,
        slack,
        github,
        timers,
        listeners,
    })
}

/// `github_repository`: one `owner/name` or a list of them, as GitHub spells them.
fn repositories(raw: Option<Repositories>) -> Result<Vec<String>, NamespaceProblem> {
    let list = match raw {
        None => return Ok(Vec::new()),
        Some(Repositories::One(one)) => vec![one],
        Some(Repositories::Many(many)) => many,
    };
    if list.is_empty() {
        return Err(NamespaceProblem::NoRepositories);
    }
    for repo in &list {
        let valid = repo.split_once('/').is_some_and(|(owner, name)| {
            (1..=39).contains(&owner.len())
                && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && (1..=100).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
        if !valid {
            return Err(NamespaceProblem::Repository { repo: repo.clone() });
        }
    }
    Ok(list)
}

/// `github_secret`: the name of an environment variable (read also from `<NAME>_FILE` or a
/// systemd credential), not one of ebmbot's own secrets.
fn check_secret_var(var: &str) -> Result<(), NamespaceProblem> {
    let valid = var.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && var.len() <= 64;
    if !valid {
        return Err(NamespaceProblem::SecretVarName { var: var.to_owned() });
    }
    if var.ends_with("_FILE") {
        return Err(NamespaceProblem::SecretVarFile { var: var.to_owned() });
    }
    if SecretName::from_env_var(var).is_some() {
        return Err(NamespaceProblem::OwnSecret { var: var.to_owned() });
    }
    Ok(())
}

/// `^[a-z0-9][a-z0-9-]{0,31}$`, and not a built-in command.
fn check_name(name: &str) -> Result<(), Box<Problem>> {
    let valid = |n: &str| {
        let mut chars = n.chars();
        matches!(chars.next(), Some('a'..='z' | '0'..='9'))
            && n.len() <= 32
            && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
    };
    if !valid(name) {
        let hint = name.to_ascii_lowercase().replace('_', "-");
        let near = (valid(&hint) && !RESERVED_NAMESPACES.contains(&hint.as_str())).then_some(hint);
        return Err(Box::new(Problem::NamespaceName { name: name.to_owned(), near }));
    }
    if RESERVED_NAMESPACES.contains(&name) {
        return Err(Box::new(Problem::ReservedNamespace { name: name.to_owned() }));
    }
    Ok(())
}

/// `default_channel` (and a listener's `channel`): a channel id (`C…`, `G…`) or `#name`.
pub(super) fn check_channel(channel: &str) -> Result<(), NamespaceProblem> {
    let is_id = channel.starts_with(['C', 'G'])
        && channel.len() >= 3
        && channel.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let is_name = channel.strip_prefix('#').is_some_and(|name| {
        !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_uppercase() || matches!(c, '#' | ','))
    });
    if is_id || is_name {
        return Ok(());
    }
    // `tech` or `#Tech`: probably a name, written without `#` or in capitals.
    let bare = channel.trim_start_matches('#').to_lowercase();
    let looks_like_name = channel.starts_with('#') || !channel.contains(char::is_uppercase);
    let near = (looks_like_name && !bare.is_empty() && !bare.contains(char::is_whitespace)).then_some(bare);
    Err(NamespaceProblem::Channel { channel: channel.to_owned(), near })
}

/// `fabfile`: an `https://` URL, or `http://` to a loopback host.
fn check_fabfile(url: &str) -> Result<(), NamespaceProblem> {
    // Credentials in the URL (`https://user:token@…`, `?token=…`) never reach a message.
    let refuse =
        |problem| Err(NamespaceProblem::Fabfile { url: crate::config::redact::url(url).into_owned(), problem });
    if url.contains(char::is_whitespace) {
        return refuse(FabfileProblem::Spaces);
    }
    let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return refuse(FabfileProblem::NotHttp),
    };
    let host = host(rest);
    if host.is_empty() {
        return refuse(FabfileProblem::NoHost);
    }
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback {
        return refuse(FabfileProblem::PlainHttp);
    }
    Ok(())
}

/// The host of the part of a URL after `scheme://`: no user, port, path, brackets.
fn host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
}

/// `pass_secrets`: only ebmbot's own secrets, each once.
fn secrets(names: &[String]) -> Result<Vec<SecretName>, NamespaceProblem> {
    let all = SecretName::ALL.map(SecretName::env_var);
    let mut out = names
        .iter()
        .map(|name| {
            SecretName::from_env_var(name).ok_or_else(|| NamespaceProblem::UnknownSecret {
                name: name.clone(),
                near: closest(name, all).map(str::to_owned),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// `WORKSPACE_DIR/<ns>` if it exists now (fixed), else `WRITEABLE_WORKSPACE_DIR/<ns>`.
fn workdir(name: &str, settings: &Settings) -> (PathBuf, bool) {
    let fixed = settings.workspace_dir.join(name);
    if fixed.is_dir() { (fixed, true) } else { (settings.writeable_workspace_dir.join(name), false) }
}
