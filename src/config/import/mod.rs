//! `config import`: the Python bot's `raw_config`, dumped as JSON, → the text of a `jobs.toml`,
//! with a note for everything the import changed or that a person should check.
//!
//! Field names are the same on both sides, so most of it is a transcription. Where ebmbot's
//! defaults differ from the original's, the import writes the original's behaviour out:
//! `timeout = "none"` on every job (the original had no timeout), and `default_channel = "#tech"`
//! where the original's deploy webhook reported to it by default. Where ebmbot's rules are
//! stricter it rewrites what has an exact rewrite (a placeholder inside quotes, see [`quotes`])
//! and says what is left to fix. The result is validated by the caller, as `config check` would.
//! See docs/migrating.md.

mod ordered;
mod quotes;
mod secrets;

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use ordered::Json;

use super::Template;
use super::template::RereadKind;

/// Keys of a namespace that ebmbot reads, in the order they are written.
const NAMESPACE_KEYS: [&str; 5] = ["description", "restricted", "default_channel", "fabfile", "pass_secrets"];
const JOB_KEYS: [&str; 8] = [
    "run_args_template",
    "report_stdout",
    "report_success",
    "report_format",
    "call_tech_support_on_error",
    "suppress_empty",
    "timeout",
    "on_lost",
];
const SLACK_KEYS: [&str; 5] = ["command", "help", "action", "job_type", "delay_seconds"];

/// The namespace that holds the original's support listeners (its out-of-office jobs were there).
const SUPPORT_NAMESPACE: &str = "techsupport";

/// A listener as the original hard-coded it: name, words, the setting that named its channel
/// (and that setting's usual value), reaction, whether out of office applied.
type OriginalListener = (&'static str, &'static [&'static str], &'static str, &'static str, &'static str, bool);

/// The original's two support listeners.
const ORIGINAL_LISTENERS: [OriginalListener; 2] = [
    ("tech-support", &["tech-support"], "SLACK_TECH_SUPPORT_CHANNEL", "#tech-support", "sos", true),
    (
        "bennett-admins",
        &["bennett-admins", "bennet-admins"],
        "SLACK_BENNETT_ADMINS_CHANNEL",
        "#bennett-admins",
        "flamingo",
        false,
    ),
];

/// The original's `default_channel` when a namespace gave none.
const ORIGINAL_DEFAULT_CHANNEL: &str = "#tech";

/// What the import produced.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// The text of the new `jobs.toml`.
    pub toml: String,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: NoteKind,
    /// One line; names the namespace, job or command in backticks.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// The import wrote something other than the original said.
    Changed,
    /// Something a person should look at before relying on the result.
    Check,
}

/// Input that is not a `raw_config` dump.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} does not exist; give the JSON dump of `raw_config` (or `-` for stdin)", path.display())]
    Missing { path: std::path::PathBuf },
    #[error(
        "{source_name} is not JSON: {reason} (line {line}, column {column}); dump `raw_config` with the one-liner in docs/migrating.md"
    )]
    NotJson { source_name: String, reason: String, line: usize, column: usize },
    #[error("{what} is {found}, not {expected}; {fix}")]
    Shape { what: String, found: &'static str, expected: &'static str, fix: &'static str },
}

/// Converts the JSON text of a `raw_config` dump. `workspace` is `WORKSPACE_DIR`, read to find
/// namespaces whose scripts use ebmbot's secrets.
pub fn convert(source_name: &str, text: &str, workspace: &Path) -> Result<Imported, ImportError> {
    let json: Json = serde_json::from_str(text).map_err(|e| ImportError::NotJson {
        source_name: source_name.to_owned(),
        reason: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        line: e.line(),
        column: e.column(),
    })?;
    let namespaces = object(&json, "raw_config".to_owned(), "dump the `raw_config` dict itself")?;
    let mut import = Import { out: String::new(), notes: Vec::new() };
    import.out.push_str(
        "# Imported from the Python bot's raw_config by `ebmbot config import`.\n\
         # Every job has `timeout = \"none\"`, as in the original (no timeout); set one where it helps.\n",
    );
    for (name, ns) in namespaces {
        import.namespace(name, ns, workspace)?;
    }
    import.listeners(namespaces.iter().any(|(name, _)| name == SUPPORT_NAMESPACE));
    Ok(Imported { toml: import.out, notes: import.notes })
}

fn object<'a>(json: &'a Json, what: String, fix: &'static str) -> Result<&'a [(String, Json)], ImportError> {
    json.as_object().ok_or(ImportError::Shape { what, found: json.kind(), expected: "an object", fix })
}

struct Import {
    out: String,
    notes: Vec<Note>,
}

impl Import {
    fn changed(&mut self, text: String) {
        self.notes.push(Note { kind: NoteKind::Changed, text });
    }

    fn check(&mut self, text: String) {
        self.notes.push(Note { kind: NoteKind::Check, text });
    }

    /// The original's two support listeners, in `techsupport` (added when the dump has no such
    /// namespace).
    fn listeners(&mut self, have_namespace: bool) {
        if !have_namespace {
            let _ = write!(self.out, "\n[{SUPPORT_NAMESPACE}]\ndescription = \"Support requests\"\n");
            self.changed(format!("added a `{SUPPORT_NAMESPACE}` namespace for the original's support listeners"));
        }
        for (name, words, setting, channel, reaction, ooo) in ORIGINAL_LISTENERS {
            let words = words.iter().map(|w| string(w)).collect::<Vec<_>>().join(", ");
            let _ = write!(
                self.out,
                "\n[[{SUPPORT_NAMESPACE}.listeners]]\nname = {}\nmatch = [{words}]\nchannel = {}   # the original's {setting}\n\
                 reaction = {}\nout_of_office = {ooo}\n",
                string(name),
                string(channel),
                string(reaction)
            );
            self.check(format!(
                "`{SUPPORT_NAMESPACE}`: added the original's `{name}` listener, re-posting to `{channel}`: set its \
                 `channel` to the original's {setting} if that was another channel, and invite ebmbot to the channels \
                 it should hear (or set SLACK_AUTO_JOIN=true)"
            ));
        }
    }

    fn namespace(&mut self, name: &str, ns: &Json, workspace: &Path) -> Result<(), ImportError> {
        let entries =
            object(ns, format!("namespace `{name}`"), "a namespace is an object of description, jobs, slack, …")?;
        let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let _ = write!(self.out, "\n[{}]\n", key(name));
        for field in NAMESPACE_KEYS {
            if let Some(value) = get(field) {
                self.field(&format!("`{name}`"), field, value);
            }
        }
        for (field, _) in entries {
            if !NAMESPACE_KEYS.contains(&field.as_str()) && field != "jobs" && field != "slack" {
                self.changed(format!("`{name}`: dropped the key `{field}`, which ebmbot does not know"));
            }
        }
        let empty = Json::Object(Vec::new());
        let jobs =
            object(get("jobs").unwrap_or(&empty), format!("`{name}.jobs`"), "jobs is an object of job name → job")?;
        let job_names: Vec<&str> = jobs.iter().map(|(j, _)| j.as_str()).collect();

        if get("default_channel").is_none() && has_implicit_deploy(jobs) {
            let _ = writeln!(self.out, "default_channel = {}", string(ORIGINAL_DEFAULT_CHANNEL));
            self.changed(format!(
                "`{name}`: added `default_channel = \"{ORIGINAL_DEFAULT_CHANNEL}\"`, the original's default, where its \
                 deploy-on-merge webhook reports (ebmbot's default is SLACK_LOGS_CHANNEL)"
            ));
        }
        if get("pass_secrets").is_none() {
            self.secrets(name, jobs, get("fabfile").is_some(), workspace);
        }
        if matches!(get("restricted"), Some(Json::Other(Value::Bool(true)))) {
            // The original let Slackbot reminders run a restricted namespace's commands.
            let _ = writeln!(self.out, "allow_reminders = true");
            self.changed(format!(
                "`{name}`: added `allow_reminders = true`: the original let Slackbot reminders run the commands of \
                 this restricted namespace. A reminder does not say who set it and guests can set channel \
                 reminders; remove it unless your team schedules these commands by reminder (see docs/migrating.md)"
            ));
        }
        if name == "showlogs" {
            self.check(
                "`showlogs`: ebmbot has `logs N [stdout|stderr] [head|tail|all]` built in, by job id; this namespace \
                 can go once nobody uses it"
                    .to_owned(),
            );
        }

        for (job, def) in jobs {
            self.job(name, job, def)?;
        }
        if let Some(slack) = get("slack") {
            let Json::Other(Value::Array(commands)) = slack else {
                return Err(ImportError::Shape {
                    what: format!("`{name}.slack`"),
                    found: slack.kind(),
                    expected: "a list",
                    fix: "slack is a list of commands",
                });
            };
            for (i, command) in commands.iter().enumerate() {
                self.slack(name, i, command, &job_names)?;
            }
        }
        Ok(())
    }

    fn job(&mut self, ns: &str, name: &str, def: &Json) -> Result<(), ImportError> {
        let subject = format!("`{ns}.jobs.{name}`");
        let entries = object(def, subject.clone(), "a job is an object with run_args_template, report_stdout, …")?;
        let _ = write!(self.out, "\n[{}.jobs.{}]\n", key(ns), key(name));
        for (field, _) in entries {
            if !JOB_KEYS.contains(&field.as_str()) {
                self.changed(format!("{subject}: dropped the key `{field}`, which ebmbot does not know"));
            }
        }
        let mut rules = Vec::new();
        for field in JOB_KEYS {
            let Some((_, value)) = entries.iter().find(|(k, _)| k == field) else { continue };
            match (field, value) {
                ("run_args_template", Json::Other(Value::String(template))) => {
                    rules = self.template(&subject, template);
                }
                _ => self.field(&subject, field, value),
            }
        }
        if !entries.iter().any(|(k, _)| k == "timeout") {
            self.out.push_str("timeout = \"none\"\n");
        }
        for (param, rule) in rules {
            let _ = write!(self.out, "\n[{}.jobs.{}.params.{param}]\n{rule}\n", key(ns), key(name));
        }
        if name.starts_with("out_of_office") {
            self.check(format!(
                "{subject}: the tech-support out-of-office jobs are replaced by the built-in `ebmbot ooo tech-support` \
                 (and `@ebmbot ooo …` in Slack), which the `tech-support` listener reads; this job still runs, but \
                 nothing reads what it sets: remove it (see docs/migrating.md)"
            ));
        }
        Ok(())
    }

    /// Writes the template; returns the param tables it needs (`(param, rule line)`).
    fn template(&mut self, subject: &str, template: &str) -> Vec<(String, &'static str)> {
        let (fixed, moved) = quotes::unquote_placeholders(template);
        if !moved.is_empty() {
            let names = moved.iter().map(|m| format!("`{{{m}}}`")).collect::<Vec<_>>().join(", ");
            self.changed(format!(
                "{subject}: moved {names} out of quotes (ebmbot quotes every value itself, and a value inside \
                 quotes could run code): `{template}` → `{fixed}`"
            ));
        }
        let _ = writeln!(self.out, "run_args_template = {}", string(&fixed));
        match Template::parse(&fixed) {
            Err(e) => {
                self.check(format!(
                    "{subject}: {e}; the original ran it, ebmbot refuses it: fix `run_args_template` before using the file"
                ));
                Vec::new()
            }
            Ok(t) => self.rules_for_rereads(subject, &t),
        }
    }

    /// A placeholder where bash (or Fabric) reads the value again needs a rule that keeps the
    /// place's special characters out (see docs/security.md): the narrowest that fits every
    /// place of the param, and a note saying so.
    fn rules_for_rereads(&mut self, subject: &str, template: &Template) -> Vec<(String, &'static str)> {
        let mut rules: Vec<(String, &'static str, String)> = Vec::new();
        for (param, place) in template.rereads() {
            let rule = match place.kind {
                RereadKind::Arithmetic => "type = \"int\"",
                RereadKind::Name => "pattern = \"^[A-Za-z_][A-Za-z0-9_]*$\"",
                RereadKind::Shell | RereadKind::Fab => "pattern = \"^[A-Za-z0-9_.-]+$\"",
                RereadKind::Expansion => {
                    self.check(format!(
                        "{subject}: `{{{param}}}` stands in {}; no rule makes that safe: assign the value to a \
                         variable first (`v={{{param}}}; … $v`)",
                        place.what
                    ));
                    continue;
                }
            };
            let rank = |r: &str| ["type", "pattern = \"^[A-Za-z_]"].iter().position(|p| r.starts_with(p));
            match rules.iter_mut().find(|(p, _, _)| p == param) {
                Some(entry) if rank(rule).unwrap_or(9) < rank(entry.1).unwrap_or(9) => {
                    *entry = (param.to_owned(), rule, place.what.clone());
                }
                Some(_) => {}
                None => rules.push((param.to_owned(), rule, place.what.clone())),
            }
        }
        for (param, rule, what) in &rules {
            self.changed(format!(
                "{subject}: `{{{param}}}` stands in {what}, where the value is read again; added the rule `{rule}` \
                 so that no value can carry code or extra arguments there: widen it if the job needs more"
            ));
        }
        rules.into_iter().map(|(p, r, _)| (p, r)).collect()
    }

    fn slack(&mut self, ns: &str, index: usize, command: &Value, jobs: &[&str]) -> Result<(), ImportError> {
        let Value::Object(map) = command else {
            return Err(ImportError::Shape {
                what: format!("slack command {} of `{ns}`", index + 1),
                found: Json::Other(command.clone()).kind(),
                expected: "an object",
                fix: "a command is an object with command, help, action, job_type",
            });
        };
        let text = map.get("command").and_then(Value::as_str).unwrap_or_default();
        let subject = format!("`{ns}` command `{text}`");
        self.out.push_str(&format!("\n[[{}.slack]]\n", key(ns)));
        for field in map.keys() {
            if !SLACK_KEYS.contains(&field.as_str()) {
                self.changed(format!("{subject}: dropped the key `{field}`, which ebmbot does not know"));
            }
        }
        // A dump taken after `job_configs` was imported has `<ns>_<job>` and `<ns> <command>`.
        let prefixed = map
            .get("job_type")
            .and_then(Value::as_str)
            .and_then(|t| t.strip_prefix(ns)?.strip_prefix('_'))
            .filter(|job| jobs.contains(job) && !jobs.contains(&map["job_type"].as_str().unwrap_or_default()));
        for field in SLACK_KEYS {
            let Some(value) = map.get(field) else { continue };
            match (field, value) {
                ("help", Value::Array(parts)) => {
                    let joined = parts.iter().map(text_of).collect::<Vec<_>>().join(" ");
                    let _ = writeln!(self.out, "help = {}", string(&joined));
                    self.changed(format!("{subject}: joined its help, a list of {} strings, into one", parts.len()));
                }
                ("job_type", _) if prefixed.is_some() => {
                    let job = prefixed.unwrap_or_default();
                    let _ = writeln!(self.out, "job_type = {}", string(job));
                    self.changed(format!(
                        "{subject}: job_type `{}` → `{job}` (the dump was taken after job_configs prefixed it; \
                         dump the literal with the one-liner in docs/migrating.md)",
                        text_of(value)
                    ));
                }
                ("command", Value::String(c)) if prefixed.is_some() && c.starts_with(&format!("{ns} ")) => {
                    let _ = writeln!(self.out, "command = {}", string(&c[ns.len() + 1..]));
                }
                ("delay_seconds", Value::Number(n))
                    if n.as_i64().is_none() && n.as_f64().is_some_and(|f| f.fract() == 0.0) =>
                {
                    let _ = writeln!(self.out, "delay_seconds = {}", n.as_f64().unwrap_or_default() as i64);
                }
                _ => self.field(&subject, field, &Json::Other(value.clone())),
            }
        }
        Ok(())
    }

    /// `field = value`, or a note when the value has no TOML form (null).
    fn field(&mut self, subject: &str, field: &str, value: &Json) {
        match toml_value(&value.to_value()) {
            Some(v) => {
                let _ = writeln!(self.out, "{} = {v}", key(field));
            }
            None => self.changed(format!("{subject}: dropped `{field}`, which was null")),
        }
    }

    /// Notes (and a commented-out `pass_secrets` line) for a namespace whose jobs may need
    /// ebmbot's secrets: the original gave every job all of its environment.
    fn secrets(&mut self, ns: &str, jobs: &[(String, Json)], fabfile: bool, workspace: &Path) {
        let templates: Vec<String> = jobs
            .iter()
            .filter_map(|(_, def)| def.as_object()?.iter().find(|(k, _)| k == "run_args_template"))
            .filter_map(|(_, t)| t.to_value().as_str().map(str::to_owned))
            .collect();
        let found = secrets::used(&templates, &workspace.join(ns));
        if !found.names.is_empty() {
            let names = found.names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                self.out,
                "# pass_secrets = [{names}]   # its scripts read these; uncomment if they need them"
            );
            self.check(format!(
                "`{ns}`: {} appear in {}; the original gave every job all of its environment, ebmbot gives a job \
                 its secrets only when its namespace lists them: add `pass_secrets = [{names}]` to `[{ns}]` if \
                 they need them (a commented line is in the file)",
                found.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                found.places.join(", "),
            ));
        } else if fabfile {
            self.check(format!(
                "`{ns}`: its jobs run a fabfile fetched at run time, which the import cannot read; if it uses \
                 SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET or GITHUB_WEBHOOK_SECRET, add them to \
                 `pass_secrets` (the original gave every job all of its environment)"
            ));
        } else if !found.looked {
            self.check(format!(
                "`{ns}`: its scripts are not here to read (no directory {}; set WORKSPACE_DIR to the bot's \
                 workspace); if they use SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET or \
                 GITHUB_WEBHOOK_SECRET, list them in `pass_secrets` (the original gave every job all of its \
                 environment)",
                workspace.join(ns).display()
            ));
        }
    }
}

/// The original's webhook deployed a namespace's `deploy` job (one without placeholders).
fn has_implicit_deploy(jobs: &[(String, Json)]) -> bool {
    jobs.iter().any(|(name, def)| {
        name == "deploy"
            && def
                .as_object()
                .and_then(|e| e.iter().find(|(k, _)| k == "run_args_template"))
                .and_then(|(_, t)| {
                    t.to_value().as_str().map(|t| Template::parse(t).is_ok_and(|t| t.params().next().is_none()))
                })
                .unwrap_or(false)
    })
}

/// A JSON value as TOML; `None` for null (TOML has none). Nulls inside lists are dropped.
fn toml_value(value: &Value) -> Option<toml::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(items.iter().filter_map(toml_value).collect()),
        Value::Object(map) => {
            toml::Value::Table(map.iter().filter_map(|(k, v)| Some((k.clone(), toml_value(v)?))).collect())
        }
    })
}

/// A string value as TOML writes it (quoted and escaped).
fn string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A list item of a help as text: strings as they are, anything else as JSON.
fn text_of(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// A table key: bare when TOML allows it, else quoted.
fn key(name: &str) -> String {
    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.to_owned() } else { string(name) }
}

#[cfg(test)]
mod tests;
