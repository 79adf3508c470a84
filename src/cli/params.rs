//! The words after `<ns> <job>`: the job's params as `--name VALUE` or `--name=VALUE`, and the
//! flags that may be mixed in with them. Param names can never clash with these flags: they
//! are in `config::RESERVED_PARAMS`, which a test keeps in step with ebmbot's options.

use std::path::PathBuf;

use crate::commands::CommandError;

/// Which subcommand the words belong to (each takes different flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum For {
    Schedule,
    Run,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct JobFlags {
    pub params: Vec<(String, String)>,
    pub delay: Option<String>,
    pub notify: Option<String>,
    pub force: bool,
    /// `--yes`: a `confirm = true` job runs without the question.
    pub yes: bool,
    /// `--dry-run`: show what would run; queue nothing.
    pub dry_run: bool,
    pub help: bool,
    pub json: bool,
    pub verbose: u8,
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
}

pub(super) fn parse(words: Vec<String>, command: For) -> Result<JobFlags, CommandError> {
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
            "-y" | "--yes" => flags.yes = true,
            _ => {
                let Some(flag) = word.strip_prefix("--").filter(|f| !f.is_empty()) else {
                    return Err(CommandError::NotAParam { arg: word });
                };
                let (name, value) = if let Some((name, value)) = flag.split_once('=') {
                    (name.to_owned(), value.to_owned())
                } else {
                    let value = words.next().ok_or_else(|| CommandError::MissingValue { name: flag.to_owned() })?;
                    (flag.to_owned(), value)
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

    /// The long flags `parse` takes among a job's params (`-h` and `-v` too).
    const FLAGS: [&str; 9] = ["help", "verbose", "json", "force", "delay", "notify", "config", "db", "yes"];

    /// Every long option of ebmbot (clap's, and the flags mixed in with a job's params) that a
    /// param could be mistaken for is reserved in `jobs.toml`, and every reserved name is an
    /// option of some ebmbot command: `RESERVED_PARAMS` and the options cannot drift apart.
    #[test]
    fn reserved_params_are_the_options() {
        use clap::CommandFactory;
        fn longs(cmd: &clap::Command, into: &mut Vec<String>) {
            into.extend(cmd.get_arguments().filter_map(|a| a.get_long()).map(str::to_owned));
            cmd.get_subcommands().for_each(|sub| longs(sub, into));
        }
        let mut options: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        longs(&crate::cli::Cli::command(), &mut options);
        let reserved = crate::config::RESERVED_PARAMS;
        for name in &reserved {
            assert!(options.iter().any(|o| o == name), "`{name}` is reserved but no ebmbot option");
        }
        // An option taken as a flag among a job's params, not as a param, must be reserved
        // (unless no param could have its name: params are `[a-z_][a-z0-9_]*`, so `dry-run` is safe).
        let could_be_a_param =
            |name: &str| name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        for option in options.iter().filter(|o| could_be_a_param(o)) {
            for command in [For::Schedule, For::Run] {
                let taken_as_param = parse(words(&[&format!("--{option}"), "v"]), command)
                    .is_ok_and(|f| f.params.iter().any(|(name, _)| name == option));
                assert!(
                    taken_as_param || reserved.contains(&option.as_str()),
                    "`--{option}` is a flag of {command:?} but not in RESERVED_PARAMS"
                );
            }
        }
        for flag in FLAGS {
            for command in [For::Schedule, For::Run] {
                let parsed = parse(words(&[&format!("--{flag}"), "v"]), command);
                assert!(!parsed.is_ok_and(|f| f.params.iter().any(|(name, _)| name == flag)), "--{flag}: a param");
            }
        }
        // The global options, which may stand anywhere, are all reserved.
        for arg in crate::cli::Cli::command().get_arguments().filter(|a| a.is_global_set()) {
            let name = arg.get_long().unwrap_or_default();
            assert!(reserved.contains(&name), "global option `--{name}` is not in RESERVED_PARAMS");
        }
    }
}
