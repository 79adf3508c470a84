//! `[[ns.listeners]]`: support listeners. A name (unique across namespaces: `ebmbot ooo`
//! names it), a channel to re-post to, a reaction without colons, and the words to listen for.

use std::collections::BTreeMap;

use toml::Spanned;

use super::super::catalog::{Listener, Namespace};
use super::super::invalid::{Invalid, ListenerProblem, NamespaceProblem, Problem};
use super::super::raw::RawListener;
use super::namespace::check_channel;
use super::{Source, at};

pub(super) fn listeners(
    namespace: &str,
    raw: Vec<Spanned<RawListener>>,
    src: &Source<'_>,
) -> Result<Vec<Listener>, Invalid> {
    let mut out: Vec<Listener> = Vec::with_capacity(raw.len());
    for entry in raw {
        let invalid = at(src.at(entry.span()));
        let raw = entry.into_inner();
        let name = raw.name.trim().to_owned();
        let listener = listener(namespace, &name, raw).map_err(|problem| {
            invalid(Problem::Listener { namespace: namespace.to_owned(), listener: name.clone(), problem })
        })?;
        if out.iter().any(|l| l.name == listener.name) {
            return Err(invalid(Problem::ListenerTwice { namespace: namespace.to_owned(), listener: listener.name }));
        }
        out.push(listener);
    }
    Ok(out)
}

fn listener(namespace: &str, name: &str, raw: RawListener) -> Result<Listener, ListenerProblem> {
    if !is_name(name) {
        return Err(ListenerProblem::Name);
    }
    check_channel(&raw.channel).map_err(|e| match e {
        NamespaceProblem::Channel { channel, near } => ListenerProblem::Channel { channel, near },
        _ => ListenerProblem::Channel { channel: raw.channel.clone(), near: None },
    })?;
    check_reaction(&raw.reaction)?;
    if raw.words.is_empty() {
        return Err(ListenerProblem::NoWords(name.to_owned()));
    }
    let mut words = Vec::with_capacity(raw.words.len());
    for word in &raw.words {
        let trimmed = word.trim();
        if trimmed.is_empty() || trimmed.contains(char::is_whitespace) {
            return Err(ListenerProblem::NotAWord(word.escape_debug().to_string()));
        }
        words.push(trimmed.chars().flat_map(char::to_lowercase).collect());
    }
    Ok(Listener {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        words,
        channel: raw.channel,
        reaction: raw.reaction,
        out_of_office: raw.out_of_office,
    })
}

/// `^[a-z0-9][a-z0-9-]{0,31}$`, like a namespace.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '0'..='9'))
        && name.len() <= 32
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

/// A reaction's name as Slack's `reactions.add` takes it: no colons, no spaces.
fn check_reaction(reaction: &str) -> Result<(), ListenerProblem> {
    if reaction.contains(':') {
        let bare = reaction.trim_matches(':');
        let bare = (!bare.is_empty() && !bare.contains(':')).then(|| bare.to_owned());
        return Err(ListenerProblem::ReactionColons { reaction: reaction.to_owned(), bare });
    }
    let valid = !reaction.is_empty()
        && reaction.len() <= 100
        && reaction.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '\''));
    if !valid {
        return Err(ListenerProblem::Reaction(reaction.escape_debug().to_string()));
    }
    Ok(())
}

/// Listener names are unique across namespaces (`ebmbot ooo <listener>` names one); `lines`
/// gives each namespace's line.
pub(super) fn unique(namespaces: &BTreeMap<String, Namespace>, lines: &BTreeMap<String, usize>) -> Result<(), Invalid> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for ns in namespaces.values() {
        for listener in &ns.listeners {
            if let Some(first) = seen.insert(&listener.name, &ns.name) {
                let line = lines.get(&ns.name).copied().unwrap_or(1);
                return Err(at(line)(Problem::ListenerElsewhere {
                    listener: listener.name.clone(),
                    first: first.to_owned(),
                    second: ns.name.clone(),
                }));
            }
        }
    }
    Ok(())
}
