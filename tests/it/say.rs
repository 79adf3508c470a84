//! `ebmbot say`: the bot's grammar from the terminal.

use crate::env;

#[test]
fn say_schedules_through_the_same_grammar_as_the_cli() {
    let env = env();
    let out = env.ok(&["say", "t", "echo", "Hello", "World"]);
    assert!(out.contains("Job 1 (`t_echo`) is queued."), "{out}");
    let job = env.job(1);
    assert_eq!(job["args"]["value"], "Hello World", "the last placeholder takes the rest");
    // The same command from argv gives the same job (it merges).
    assert_eq!(env.json(&["schedule", "t", "echo", "--value", "Hello World"])["merged"], true);
}

#[test]
fn say_help_status_and_not_understood() {
    let env = env();
    assert!(env.ok(&["say", "help"]).contains("`t`: Test jobs"));
    assert!(env.ok(&["say", "t", "help"]).contains("ebmbot `t echo [value]`"));
    assert!(env.ok(&["say", "status"]).contains("Nothing is happening"));
    let out = env.run(&["say", "frobnicate", "everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Sorry, I didn't understand that."));
}

#[test]
fn say_suppression_and_cancel_commands() {
    let env = env();
    assert!(env.ok(&["say", "t", "pause", "echo", "now", "+1h"]).contains("`t_echo` is suppressed from"));
    let out = env.ok(&["say", "t", "echo", "x"]);
    assert!(out.contains("is suppressed until"), "{out}");
    let out = env.run(&["say", "t", "pause", "echo", "soon", "later"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Wrong time format"));
    assert!(env.ok(&["say", "t", "resume", "echo"]).contains("Removed 1 suppression"));
    assert!(env.ok(&["say", "t", "cancel", "echo"]).contains("Cancelled 1 pending `t_echo` job(s)."));
    let id = env.schedule(&["t", "echo", "--value", "y"]).to_string();
    assert!(env.ok(&["say", "cancel", "job", "id", &id]).contains(&format!("Cancelled job {id} (`t_echo`).")));
    let out = env.run(&["say", "remove", "job", "id", &id]);
    assert_eq!(out.status.code(), Some(2), "a finished job is bad input");
    assert!(String::from_utf8_lossy(&out.stdout).contains("has already finished"));
}

#[test]
fn say_logs_of_a_failed_job_shows_stderr() {
    let env = env();
    let id = env.schedule(&["t", "fail"]);
    env.ok(&["dispatch", "--once"]);
    let out = env.ok(&["say", "logs", &id.to_string()]);
    assert!(out.contains("stderr of job 1") && out.contains("oops"), "{out}");
}

/// Errors are worded by each frontend: the terminal's hints (`ebmbot queue list --all`) stay on
/// the terminal, and the bot's reply (which `say` prints) says what was wrong in its own words.
#[test]
fn terminal_hints_stay_out_of_bot_replies() {
    let env = env();
    let out = env.run(&["say", "logs", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let reply = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reply.trim(), "No job has id 999.");
    let out = env.run(&["logs", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no job has id 999; `ebmbot queue list --all` lists recent jobs"), "{err}");
    let out = env.run(&["say", "t", "pause", "echo", "now", "now"]);
    assert_eq!(out.status.code(), Some(2));
    let reply = String::from_utf8_lossy(&out.stdout);
    assert!(reply.starts_with("The end time `now` is in the past") && !reply.contains("--until"), "{reply}");
}
