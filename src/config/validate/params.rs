//! `[ns.jobs.job.params.name]` tables → [`ParamRule`]s, and the check that a placeholder where
//! bash reads a value again has a rule that keeps that place's special characters out.

use std::collections::BTreeMap;

use toml::Spanned;

use super::super::invalid::{Invalid, ParamProblem, Problem, RereadError};
use super::super::params::{ParamRule, ParamType};
use super::super::raw::RawParam;
use super::super::suggest::closest;
use super::super::template::Template;
use super::{Source, at, bad_choice};

const TYPES: [&str; 4] = ["string", "int", "url", "path"];

/// The rule of every placeholder of `template`: from its table, or the default.
pub(super) fn rules(
    namespace: &str,
    job: &str,
    template: &Template,
    raw: BTreeMap<String, Spanned<RawParam>>,
    src: &Source<'_>,
) -> Result<BTreeMap<String, ParamRule>, Invalid> {
    let placeholders: Vec<&str> = template.params().collect();
    let mut rules = BTreeMap::new();
    for (name, table) in raw {
        let invalid = at(src.at(table.span()));
        let problem = |problem| {
            let (namespace, job, param) = (namespace.to_owned(), job.to_owned(), name.clone());
            invalid(Problem::Param { namespace, job, param, problem })
        };
        if !placeholders.contains(&name.as_str()) {
            let near = closest(&name, placeholders.iter().copied()).map(str::to_owned);
            let job_type = format!("{namespace}_{job}");
            return Err(problem(ParamProblem::NoPlaceholder { job_type, param: name.clone(), near }));
        }
        let rule = rule(table.into_inner()).map_err(problem)?;
        rules.insert(name, rule);
    }
    for name in placeholders {
        rules.entry(name.to_owned()).or_default();
    }
    Ok(rules)
}

fn rule(raw: RawParam) -> Result<ParamRule, ParamProblem> {
    let kind = match raw.kind.as_deref().unwrap_or("string") {
        "string" => ParamType::String,
        "int" => ParamType::Int { min: raw.min, max: raw.max },
        "url" => ParamType::Url,
        "path" => ParamType::Path,
        other => return Err(ParamProblem::Type(bad_choice("type", other, &TYPES))),
    };
    if !matches!(kind, ParamType::Int { .. }) && (raw.min.is_some() || raw.max.is_some()) {
        return Err(ParamProblem::MinMaxNotInt);
    }
    let choices = raw.choices.unwrap_or_default();
    if choices.is_empty()
        && raw.kind.is_none()
        && raw.pattern.is_none()
        && raw.allow_dash.is_none()
        && raw.example.is_none()
    {
        return Err(ParamProblem::NoRule);
    }
    ParamRule::new(kind, raw.pattern, choices, raw.allow_dash.unwrap_or(false), raw.example).map_err(ParamProblem::Rule)
}

/// Refuses a placeholder where bash reads the value again, unless its rule keeps that place's
/// special characters out of every value.
pub(super) fn check_rereads(
    namespace: &str,
    job: &str,
    template: &Template,
    rules: &BTreeMap<String, ParamRule>,
) -> Result<(), Box<RereadError>> {
    for (name, place) in template.rereads() {
        let rule = rules.get(name).cloned().unwrap_or_default();
        if rule.admits(place) {
            continue;
        }
        return Err(Box::new(RereadError {
            namespace: namespace.to_owned(),
            job: job.to_owned(),
            param: name.to_owned(),
            place: place.clone(),
            alphabet: (!rule.is_default()).then(|| rule.alphabet()),
        }));
    }
    Ok(())
}
