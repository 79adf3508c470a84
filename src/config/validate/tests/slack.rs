//! `[[ns.slack]]` commands: patterns, actions, jobs, placeholders and duplicates.

use std::time::Duration;

use super::{command, error, parse, slack_entry, with};

#[test]
fn command_words_become_a_pattern() {
    use crate::config::PatternWord::{Literal, Param};
    let catalog = parse(&command("  Say   HELLO [name] ", "schedule_job", "hello")).unwrap();
    let cmd = &catalog.namespace("example").unwrap().slack[0];
    assert_eq!(cmd.text, "Say HELLO [name]");
    assert_eq!(cmd.pattern, [Literal("say".into()), Literal("hello".into()), Param("name".into())]);
    assert_eq!(cmd.delay, Duration::ZERO);
}

#[test]
fn empty_command() {
    assert_eq!(
        error(&command("  ", "schedule_job", "hello_world")),
        "`example`: a slack command has an empty `command`; write the words after the namespace, \
         such as `command = \"say hello [name]\"` (line 10)"
    );
}

#[test]
fn bad_command_words() {
    let msg = error(&command("say [Name]", "schedule_job", "hello"));
    assert!(msg.starts_with("`example` slack command `say [Name]`: placeholder `[Name]` is not a valid name"), "{msg}");
    let msg = error(&command("say [name", "schedule_job", "hello"));
    assert_eq!(
        msg,
        "`example` slack command `say [name`: word `[name` has a stray bracket; write placeholders \
         as `[name]`, separated by spaces (line 10)"
    );
}

#[test]
fn command_with_unknown_job() {
    assert_eq!(
        error(&command("say hi", "schedule_job", "helo")),
        "`example` slack command `say hi`: unknown job `helo`; did you mean `hello`? (line 10)"
    );
    assert_eq!(
        error(&command("say hi", "schedule_job", "goodbye")),
        "`example` slack command `say hi`: unknown job `goodbye`; use one of `hello`, `hello_world` (line 10)"
    );
    assert_eq!(
        error(&command("say hi", "schedule_job", "example_hello_world")),
        "`example` slack command `say hi`: job_type `example_hello_world` is a full job type; \
         write `hello_world`, the job's name inside `example` (line 10)"
    );
}

#[test]
fn unknown_action() {
    assert_eq!(
        error(&command("say hi", "shedule_job", "hello_world")),
        "`example` slack command `say hi`: action `shedule_job` is not valid; did you mean \
         `schedule_job`? (one of `schedule_job`, `cancel_job`, `schedule_suppression`, \
         `cancel_suppression`) (line 10)"
    );
}

#[test]
fn schedule_job_params_must_equal_the_template() {
    assert_eq!(
        error(&command("say hello", "schedule_job", "hello")),
        "`example` slack command `say hello`: its placeholders must be those of `example_hello` \
         (`{name}`); add `[name]` (line 10)"
    );
    assert_eq!(
        error(&command("say hello [who]", "schedule_job", "hello")),
        "`example` slack command `say hello [who]`: its placeholders must be those of \
         `example_hello` (`{name}`); add `[name]` and remove `[who]` (line 10)"
    );
    assert_eq!(
        error(&command("say [x]", "schedule_job", "hello_world")),
        "`example` slack command `say [x]`: `example_hello_world` takes no placeholders; remove `[x]` (line 10)"
    );
}

#[test]
fn suppression_params() {
    assert!(parse(&command("mute [end_at] [start_at]", "schedule_suppression", "hello")).is_ok());
    assert_eq!(
        error(&command("mute [until]", "schedule_suppression", "hello")),
        "`example` slack command `mute [until]`: `schedule_suppression` commands take exactly \
         `[start_at]` and `[end_at]`; add `[end_at]`, `[start_at]` and remove `[until]` (line 10)"
    );
    for action in ["cancel_job", "cancel_suppression"] {
        assert_eq!(
            error(&command("stop [name]", action, "hello")),
            format!(
                "`example` slack command `stop [name]`: `{action}` commands take no placeholders; remove `[name]` (line 10)"
            )
        );
        assert!(parse(&command("stop hello", action, "hello")).is_ok());
    }
}

#[test]
fn repeated_command_param() {
    let text = with("[example.jobs.pair]\nrun_args_template = \"echo {a}\"\n")
        + "[[example.slack]]\ncommand = \"pair [a] [a]\"\nhelp = \"\"\naction = \"schedule_job\"\njob_type = \"pair\"\n";
    assert_eq!(
        error(&text),
        "`example` slack command `pair [a] [a]`: placeholder `[a]` appears twice; use it once (line 12)"
    );
}

#[test]
fn commands_matching_the_same_texts() {
    let two = |a: (&str, &str), b: (&str, &str)| {
        with("[example.jobs.greet]\nrun_args_template = \"echo Hi {who}\"\n")
            + &slack_entry(a.0, "schedule_job", a.1)
            + &slack_entry(b.0, "schedule_job", b.1)
    };
    assert_eq!(
        error(&two(("say hello [name]", "hello"), ("SAY Hello [who]", "greet"))),
        "`example` slack commands `say hello [name]` and `SAY Hello [who]` match exactly the same \
         texts; change or remove one (line 17)"
    );
    assert!(parse(&two(("say hello [name]", "hello"), ("say hi [who]", "greet"))).is_ok());
    assert!(parse(&two(("say hello [name]", "hello"), ("say [who] hello", "greet"))).is_ok());
    assert!(parse(&two(("say hello", "hello_world"), ("say hello [name]", "hello"))).is_ok());
    let same = two(("unsuppress hello", "hello_world"), ("Unsuppress  HELLO", "hello_world"));
    let msg = error(&same);
    assert!(msg.contains("`unsuppress hello` and `Unsuppress HELLO` match exactly"), "{msg}");
}

#[test]
fn negative_delay() {
    let text = command("say hi", "schedule_job", "hello_world") + "delay_seconds = -1\n";
    assert_eq!(
        error(&text),
        "`example` slack command `say hi`: delay_seconds `-1` is negative; write 0 or more seconds (line 10)"
    );
}
