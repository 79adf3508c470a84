use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::commands::help::usage;
use crate::config::{Action, Catalog, Namespace, PatternWord, SlackCommand};

/// The `[[ns.slack]]` commands of each namespace, in order, as `command` texts.
const COMMANDS: &[(&str, &[&str])] = &[
    (
        "example",
        &[
            "say hello",             // 0
            "say [x]",               // 1
            "say hello [name]",      // 2
            "deploy [branch] [msg]", // 3
            "greet [name] now",      // 4
            "run [x]",               // 5
            "run [x] [y]",           // 6
            "SHOUT Loud",            // 7
        ],
    ),
    ("fdaaa", &["update [date]", "cancel update"]),
    ("empty", &[]),
];

/// Job `j<index>` of the namespace, so that a command tells which pattern matched.
fn command(namespace: &str, index: usize, text: &str) -> SlackCommand {
    let pattern = text
        .split_whitespace()
        .map(|w| match w.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            Some(param) => PatternWord::Param(param.to_owned()),
            None => PatternWord::Literal(w.to_lowercase()),
        })
        .collect();
    SlackCommand {
        namespace: namespace.to_owned(),
        text: text.to_owned(),
        pattern,
        help: format!("does {text}"),
        action: Action::ScheduleJob,
        job: format!("j{index}"),
        delay: Duration::ZERO,
    }
}

fn catalog() -> Catalog {
    let namespaces = COMMANDS
        .iter()
        .map(|&(name, texts)| {
            let ns = Namespace {
                name: name.to_owned(),
                description: None,
                restricted: false,
                allow_reminders: false,
                default_channel: None,
                fabfile: None,
                pass_secrets: Vec::new(),
                github_repositories: Vec::new(),
                github_secret: None,
                workdir: PathBuf::from("/tmp"),
                workdir_fixed: false,
                jobs: BTreeMap::new(),
                slack: texts.iter().enumerate().map(|(i, t)| command(name, i, t)).collect(),
                github: Vec::new(),
                timers: Vec::new(),
                listeners: Vec::new(),
            };
            (name.to_owned(), ns)
        })
        .collect();
    Catalog { path: PathBuf::from("/tmp/jobs.toml"), namespaces }
}

#[allow(clippy::unnecessary_wraps, reason = "a parse result, as `parse` returns it")]
fn configured(namespace: &str, command_index: usize, args: &[(&str, &str)]) -> Parsed {
    let mut args: Vec<(String, String)> = args.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect();
    args.sort();
    Ok(Command::Schedule(Schedule {
        namespace: namespace.to_owned(),
        job: format!("j{command_index}"),
        args,
        delay: Duration::ZERO,
    }))
}

#[allow(clippy::unnecessary_wraps, reason = "a parse result, as `parse` returns it")]
fn logs(id: i64, stream: Option<Stream>, part: Part) -> Parsed {
    Ok(Command::Logs(Logs { id: JobId(id), stream, part, limit: None }))
}

#[allow(clippy::unnecessary_wraps, reason = "a parse result, as `parse` returns it")]
fn cancel_id(id: i64) -> Parsed {
    Ok(Command::CancelId(CancelId { id: JobId(id), pending_only: false }))
}

#[allow(clippy::unnecessary_wraps, reason = "a parse result, as `parse` returns it")]
fn ns_help(namespace: &str) -> Parsed {
    Ok(namespace_help(namespace))
}

fn not_understood(reason: NotUnderstood) -> Parsed {
    Err(reason)
}

fn unknown_ns(given: &str, suggestion: Option<&str>) -> Parsed {
    not_understood(NotUnderstood::UnknownNamespace {
        given: given.to_owned(),
        suggestion: suggestion.map(str::to_owned),
    })
}

fn unknown_command(namespace: &str) -> Parsed {
    not_understood(NotUnderstood::UnknownCommand { namespace: namespace.to_owned() })
}

fn check(cases: Vec<(&str, Parsed)>) {
    let grammar = Grammar::new(&catalog());
    for (text, expected) in cases {
        assert_eq!(grammar.parse(text), expected, "parsing {text:?}");
    }
}

#[test]
fn parses_the_built_ins() {
    use Stream::*;
    const HEAD: Part = Part::Head(LOG_LINES);
    const TAIL: Part = Part::Tail(LOG_LINES);
    check(vec![
        // Empty text.
        ("", not_understood(NotUnderstood::Empty)),
        (" \t\n ", not_understood(NotUnderstood::Empty)),
        // help, in any case, with or without a namespace.
        ("help", Ok(Command::Help(Help))),
        ("HeLp", Ok(Command::Help(Help))),
        ("help example", ns_help("example")),
        ("HELP Example", ns_help("example")),
        ("example help", ns_help("example")),
        ("EXAMPLE Help", ns_help("example")),
        ("empty help", ns_help("empty")),
        ("help nope", unknown_ns("nope", None)),
        ("help exampel", unknown_ns("exampel", Some("example"))),
        ("help example now", malformed(BuiltIn::Help)),
        // status
        ("status", Ok(Command::Status(Status))),
        ("Status", Ok(Command::Status(Status))),
        ("status please", malformed(BuiltIn::Status)),
        // cancel job id N and its alias.
        ("cancel job id 12", cancel_id(12)),
        ("CANCEL Job ID 12", cancel_id(12)),
        ("remove job id 7", Ok(Command::CancelId(CancelId { id: JobId(7), pending_only: true }))),
        ("cancel job 12", malformed(BuiltIn::Cancel)),
        ("cancel job id", malformed(BuiltIn::Cancel)),
        ("cancel job id x", malformed(BuiltIn::Cancel)),
        ("cancel job id -1", malformed(BuiltIn::Cancel)),
        ("cancel job id +1", malformed(BuiltIn::Cancel)),
        ("cancel job id 99999999999999999999", malformed(BuiltIn::Cancel)),
        ("cancel job id 12 now", malformed(BuiltIn::Cancel)),
        // logs N [stdout|stderr] [head|tail|all]
        ("logs 12", logs(12, None, TAIL)),
        ("logs 12 stderr head", logs(12, Some(Stderr), HEAD)),
        ("LOGS 12 STDOUT", logs(12, Some(Stdout), TAIL)),
        ("logs 12 all", logs(12, None, Part::All)),
        ("logs 12 stdout Tail", logs(12, Some(Stdout), TAIL)),
        ("logs x", malformed(BuiltIn::Logs)),
        ("logs", malformed(BuiltIn::Logs)),
        ("logs 12 head stderr", malformed(BuiltIn::Logs)),
        ("logs 12 stderr stdout", malformed(BuiltIn::Logs)),
        ("logs 12 stderr head more", malformed(BuiltIn::Logs)),
    ]);
}

#[test]
fn parses_configured_commands() {
    check(vec![
        // Configured commands: a literal beats a placeholder at the first difference.
        ("example say hello", configured("example", 0, &[])),
        ("Example SAY Hello", configured("example", 0, &[])),
        ("example say Bob", configured("example", 1, &[("x", "Bob")])),
        ("example say hello Bob", configured("example", 2, &[("name", "Bob")])),
        ("example say hi Bob", configured("example", 1, &[("x", "hi Bob")])),
        // The last placeholder takes the rest, values keep their case.
        ("example say HELLO Zoë  van   Dijk", configured("example", 2, &[("name", "Zoë van Dijk")])),
        ("example deploy Main Fix the bug", configured("example", 3, &[("branch", "Main"), ("msg", "Fix the bug")])),
        ("example greet Bob now", configured("example", 4, &[("name", "Bob")])),
        ("example greet Bob NOW", configured("example", 4, &[("name", "Bob")])),
        // Past the shorter pattern's end, the longer (more specific) pattern wins.
        ("example run a", configured("example", 5, &[("x", "a")])),
        ("example run a b c", configured("example", 6, &[("x", "a"), ("y", "b c")])),
        ("example shout LOUD", configured("example", 7, &[])),
        ("fdaaa update 2024-01-01", configured("fdaaa", 0, &[("date", "2024-01-01")])),
        ("fdaaa cancel update", configured("fdaaa", 1, &[])),
        // Missing or extra words.
        ("example say", unknown_command("example")),
        ("example deploy main", unknown_command("example")),
        ("example greet Bob", unknown_command("example")),
        ("example greet Bob now please", unknown_command("example")),
        ("example shout loud now", unknown_command("example")),
        ("example", unknown_command("example")),
        ("example nothing here", unknown_command("example")),
        ("empty anything", unknown_command("empty")),
        // Unknown namespaces, with a suggestion when one is close.
        ("exmple say hello", unknown_ns("exmple", Some("example"))),
        ("EXAMPLES say hello", unknown_ns("EXAMPLES", Some("example"))),
        ("fdaa update x", unknown_ns("fdaa", Some("fdaaa"))),
        ("zzz", unknown_ns("zzz", None)),
    ]);
}

/// The parser dispatches on [`KEYWORDS`], and each keyword is a reserved namespace, so no
/// namespace of `jobs.toml` can shadow a built-in. (`RESERVED_NAMESPACES` may hold more: words
/// kept for built-ins to come.)
#[test]
fn every_keyword_is_a_reserved_namespace_and_parses_as_its_built_in() {
    let grammar = Grammar::new(&catalog());
    for (keyword, builtin) in KEYWORDS {
        assert!(crate::config::RESERVED_NAMESPACES.contains(&keyword), "`{keyword}` is not reserved in jobs.toml");
        for text in [format!("{keyword} x y"), format!("{} x y", keyword.to_uppercase())] {
            assert_eq!(grammar.parse(&text), malformed(builtin), "parsing {text:?}");
        }
    }
}

#[test]
fn usage_is_namespace_and_command_text() {
    let cmd = command("example", 0, "say  hello [name]");
    assert_eq!(usage(&cmd), "example say hello [name]");
    assert_eq!(BuiltIn::Logs.usage(), "logs N [stdout|stderr] [head|tail|all]");
}

/// 40 KB texts of every shape parse (the benchmark measures how fast).
#[test]
fn parses_huge_texts_quickly() {
    let grammar = Grammar::new(&catalog());
    let many_words = format!("example say hello {}", "Bob ".repeat(10_000));
    let one_word = "x".repeat(40_000);
    let digits = format!("logs {}", "9".repeat(40_000));
    match grammar.parse(&many_words) {
        Ok(Command::Schedule(s)) => assert_eq!(s.args[0].1.len(), 10_000 * 4 - 1),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(grammar.parse(&one_word), unknown_ns(&one_word, None));
    assert_eq!(grammar.parse(&digits), malformed(BuiltIn::Logs));
    assert_eq!(grammar.parse(&format!("help {one_word}")), unknown_ns(&one_word, None));
}

/// Words the grammar knows, so that random texts reach the deeper branches.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "help", "status", "cancel", "remove", "job", "id", "logs", "12", "stderr", "head", "example", "EXAMPLE",
            "say", "hello", "fdaaa", "run", "now", "empty",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_any_text(text in any::<String>()) {
        let _ = Grammar::new(&catalog()).parse(&text);
    }

    #[test]
    fn never_panics_on_known_words(words in prop::collection::vec(word(), 0..8)) {
        let _ = Grammar::new(&catalog()).parse(&words.join(" "));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn never_panics_on_huge_text(chars in prop::collection::vec(any::<char>(), 0..50_000)) {
        let text: String = chars.into_iter().collect();
        let _ = Grammar::new(&catalog()).parse(&text);
    }
}
