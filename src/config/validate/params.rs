//! `[ns.jobs.job.params.name]` tables → [`ParamRule`]s, and the check that a placeholder where
//! bash reads a value again has a rule that keeps that place's special characters out.

use std::collections::BTreeMap;

use toml::Spanned;

use super::super::params::{ParamRule, ParamType};
use super::super::raw::RawParam;
use super::super::suggest::closest;
use super::super::template::{RereadKind, Template};
use super::{Source, bad_choice};

const TYPES: [&str; 4] = ["string", "int", "url", "path"];

/// The rule of every placeholder of `template`: from its table, or the default.
pub(super) fn rules(
    namespace: &str,
    job: &str,
    template: &Template,
    raw: BTreeMap<String, Spanned<RawParam>>,
    src: &Source<'_>,
) -> Result<BTreeMap<String, ParamRule>, String> {
    let placeholders: Vec<&str> = template.params().collect();
    let mut rules = BTreeMap::new();
    for (name, table) in raw {
        let at = src.at(table.span());
        let subject = format!("`{namespace}.jobs.{job}.params.{name}`");
        if !placeholders.contains(&name.as_str()) {
            let fix = match closest(&name, placeholders.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("remove the table or add `{{{name}}}` to the template"),
            };
            return Err(format!(
                "{subject}: the `run_args_template` of `{namespace}_{job}` has no placeholder `{{{name}}}`; {fix} {at}"
            ));
        }
        let rule = rule(table.into_inner()).map_err(|e| format!("{subject}: {e} {at}"))?;
        rules.insert(name, rule);
    }
    for name in placeholders {
        rules.entry(name.to_owned()).or_default();
    }
    Ok(rules)
}

fn rule(raw: RawParam) -> Result<ParamRule, String> {
    let kind = match raw.kind.as_deref().unwrap_or("string") {
        "string" => ParamType::String,
        "int" => ParamType::Int { min: raw.min, max: raw.max },
        "url" => ParamType::Url,
        "path" => ParamType::Path,
        other => return Err(bad_choice("type", other, &TYPES)),
    };
    if !matches!(kind, ParamType::Int { .. }) && (raw.min.is_some() || raw.max.is_some()) {
        return Err("`min` and `max` are for `type = \"int\"` only; add the type or remove them".to_owned());
    }
    let choices = raw.choices.unwrap_or_default();
    if choices.is_empty()
        && raw.kind.is_none()
        && raw.pattern.is_none()
        && raw.allow_dash.is_none()
        && raw.example.is_none()
    {
        return Err(
            "the table sets no rule; give `type`, `pattern`, `choices` or `allow_dash`, or remove it".to_owned()
        );
    }
    ParamRule::new(kind, raw.pattern, choices, raw.allow_dash.unwrap_or(false), raw.example)
}

/// Refuses a placeholder where bash reads the value again, unless its rule keeps that place's
/// special characters out of every value.
pub(super) fn check_rereads(
    namespace: &str,
    job: &str,
    template: &Template,
    rules: &BTreeMap<String, ParamRule>,
    at: &str,
) -> Result<(), String> {
    for (name, place) in template.rereads() {
        let rule = rules.get(name).cloned().unwrap_or_default();
        if rule.admits(place) {
            continue;
        }
        let (safe, alphabet) = (place.kind.safe(), rule.alphabet());
        let head = format!(
            "placeholder `{{{name}}}` in `{namespace}_{job}` stands in {}, {} (a value such as `{}` would {})",
            place.what,
            place.why(),
            attack(place.kind),
            if place.kind == RereadKind::Fab { "pass extra arguments" } else { "run code" }
        );
        if place.kind == RereadKind::Expansion {
            return Err(format!(
                "{head}; no rule makes it safe there: {} {at}",
                place.kind.fix().trim_start_matches("nothing: ")
            ));
        }
        return Err(if rule.is_default() {
            format!(
                "{head}; move it out of there, or type it: add `[{namespace}.jobs.{job}.params.{name}]` with {} {at}",
                place.kind.fix()
            )
        } else {
            format!(
                "{head}, and its rule lets through {}; narrow `[{namespace}.jobs.{job}.params.{name}]`, for example with {} {at}",
                alphabet.outside(safe),
                place.kind.fix()
            )
        });
    }
    Ok(())
}

fn attack(kind: RereadKind) -> &'static str {
    match kind {
        RereadKind::Arithmetic | RereadKind::Name | RereadKind::Expansion => "a[$(cmd)]",
        RereadKind::Shell => "$(cmd)",
        RereadKind::Fab => "a,b=c",
    }
}
