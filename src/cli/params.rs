//! The words after `<ns> <job>`: the job's params as `--name VALUE` or `--name=VALUE`, and the
//! flags that may be mixed in with them. Param names can never clash with these flags: the
//! names `delay help json config db id force notify verbose` are reserved in `jobs.toml`.

use std::path::PathBuf;

use crate::commands::CommandError;

/// Which subcommand the words belong to (each takes different flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    Schedule,
    Run,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFlags {
    pub params: Vec<(String, String)>,
    pub delay: Option<String>,
    pub notify: Option<String>,
    pub force: bool,
    /// `--dry-run`: show what would run; queue nothing.
    pub dry_run: bool,
    pub help: bool,
    pub json: bool,
    pub verbose: u8,
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
}

pub fn parse(words: Vec<String>, command: For) -> Result<JobFlags, CommandError> {
    let mut flags = JobFlags::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-h" | "--help" => flags.help = true,
            "-v" | "--verbose" => flags.verbose += 1,
            "-vv" => flags.verbose += 2,
            "--json" => flags.json = true,
            "--force" if command == For::Run => flags.force = true,
            "--dry-run" => flags.dry_run = true,
            _ => {
                let Some(flag) = word.strip_prefix("--").filter(|f| !f.is_empty()) else {
                    return Err(CommandError::NotAParam { arg: word });
                };
                let (name, value) = match flag.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => {
                        let value = words.next().ok_or_else(|| CommandError::MissingValue { name: flag.to_owned() })?;
                        (flag.to_owned(), value)
                    }
                };
                match name.as_str() {
                    "delay" if command == For::Schedule => flags.delay = Some(value),
                    "notify" => flags.notify = Some(value),
                    "config" => flags.config = Some(value.into()),
                    "db" => flags.db = Some(value.into()),
                    "force" | "delay" => {
                        return Err(CommandError::BadValue {
                            what: "flag",
                            text: format!("--{name}"),
                            reason: format!(
                                "it belongs to `{}`, not this command",
                                if name == "force" { "run" } else { "schedule" }
                            ),
                        });
                    }
                    _ => {
                        if flags.params.iter().any(|(n, _)| *n == name) {
                            return Err(CommandError::RepeatedParam { name });
                        }
                        flags.params.push((name, value));
                    }
                }
            }
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn params_and_flags() {
        let f =
            parse(words(&["--name", "Bob", "--greeting=hi there", "--delay", "5m", "--json"]), For::Schedule).unwrap();
        assert_eq!(f.params, vec![("name".into(), "Bob".into()), ("greeting".into(), "hi there".into())]);
        assert_eq!(f.delay.as_deref(), Some("5m"));
        assert!(f.json);
        let f = parse(words(&["--name", "--weird", "--force"]), For::Run).unwrap();
        assert_eq!(f.params, vec![("name".into(), "--weird".into())]);
        assert!(f.force);
        let f = parse(words(&["--name="]), For::Run).unwrap();
        assert_eq!(f.params, vec![("name".into(), String::new())]);
    }

    #[test]
    fn bad_words() {
        assert!(matches!(parse(words(&["Bob"]), For::Schedule), Err(CommandError::NotAParam { .. })));
        assert!(matches!(parse(words(&["--name"]), For::Schedule), Err(CommandError::MissingValue { .. })));
        assert!(matches!(
            parse(words(&["--a", "1", "--a", "2"]), For::Schedule),
            Err(CommandError::RepeatedParam { .. })
        ));
        assert!(parse(words(&["--force"]), For::Schedule).is_err());
        assert!(parse(words(&["--delay", "5"]), For::Run).is_err());
    }
}
