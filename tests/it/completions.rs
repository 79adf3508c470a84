//! Shell completions, the man page, and the small things a new user trips on: `config check`
//! naming what it validated, `say help` ending its line.

use std::process::Command;

use crate::env;

/// Runs `script` in a non-interactive bash inside the test's directory, with the completion
/// script of the real binary sourced and a `comp WORD...` helper that completes the last word
/// as bash's programmable completion would, printing one candidate a line.
fn bash(env: &crate::support::TestEnv, script: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_ebmbot");
    let setup = format!(
        r#"source <({bin:?} completions bash) || exit 9
comp() {{
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_TYPE=9; COMPREPLY=()
  _clap_complete_ebmbot ebmbot "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
  printf '%s\n' "${{COMPREPLY[@]}}"
}}
"#
    );
    let mut cmd = Command::new("bash");
    for var in crate::support::OURS {
        cmd.env_remove(var);
    }
    let out = cmd.current_dir(&env.root).arg("-c").arg(format!("{setup}{script}")).output().expect("run bash");
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn the_bash_script_registers_ebmbot_and_completes_names_from_jobs_toml() {
    let env = env();
    let registered = bash(&env, "complete -p ebmbot");
    assert!(registered.contains("-F _clap_complete_ebmbot ebmbot"), "{registered}");

    assert_eq!(lines(&bash(&env, "comp ebmbot sched")), ["schedule"]);
    assert_eq!(lines(&bash(&env, "comp ebmbot schedule t")), ["t"], "a namespace completes");
    assert_eq!(lines(&bash(&env, "comp ebmbot run t sl")), ["sleep_a", "slow"], "jobs of that namespace");
    assert_eq!(lines(&bash(&env, "comp ebmbot cancel t ec")), ["echo"]);
    assert_eq!(lines(&bash(&env, "comp ebmbot schedule t echo --va")), ["--value"], "params of that job");
    assert_eq!(
        lines(&bash(&env, "comp ebmbot schedule t echo --value x --")),
        ["--delay", "--notify", "--dry-run", "--config", "--db", "--json", "--verbose", "--help"],
        "a param given once is not offered again"
    );
    assert_eq!(lines(&bash(&env, "comp ebmbot run t slow --")).first(), Some(&"--seconds"));
}

#[test]
fn names_come_from_the_config_named_on_the_line() {
    let env = env();
    std::fs::write(env.path("other.toml"), "[other]\n[other.jobs.only]\nrun_args_template = \"true\"\n").unwrap();
    assert_eq!(lines(&bash(&env, "comp ebmbot --config other.toml schedule o")), ["other"]);
    assert_eq!(lines(&bash(&env, "comp ebmbot schedule --config other.toml other o")), ["only"]);
    assert_eq!(lines(&bash(&env, "EBMBOT_CONFIG=other.toml comp ebmbot suppress o")), ["other"]);
    // A file that does not parse completes no names, and says nothing.
    std::fs::write(env.path("broken.toml"), "[broken").unwrap();
    assert_eq!(bash(&env, "comp ebmbot --config broken.toml schedule b"), "\n");
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_bad_input() {
    let env = env();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.ok(&["completions", shell]);
        assert!(script.contains("EBMBOT_COMPLETE"), "{shell}: {script}");
    }
    let err = env.fails(2, &["completions", "tcsh"]);
    assert!(err.contains("invalid value 'tcsh'") && err.contains("bash"), "{err}");
}

#[test]
fn man_prints_a_roff_page_whatever_the_settings() {
    let env = env();
    let out =
        env.cmd().args(["man"]).env("EBMBOT_MAX_JOBS", "lots").env("EBMBOT_CONFIG", "/no/such.toml").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH ebmbot 1"), "{page}");
    assert!(page.contains("schedule") && page.contains("completions"), "{page}");
    assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains(".SH ENVIRONMENT"), "{page}");

    let page = env.ok(&["man", "schedule"]);
    assert!(page.contains(".TH ebmbot-schedule 1"), "{page}");
    assert!(page.contains("ebmbot schedule") && page.contains(".SH \"SEE ALSO\""), "{page}");
    let err = env.fails(2, &["man", "nope"]);
    assert!(err.starts_with("error: command `nope` is not valid") && err.contains("schedule"), "{err}");
    assert_eq!(lines(&bash(&env, "comp ebmbot man sch")), ["schedule"], "command names complete");
}

#[test]
fn config_check_names_each_namespace_with_its_counts() {
    let env = env();
    std::fs::write(
        env.path("two.toml"),
        r#"
[alpha]
[alpha.jobs.a]
run_args_template = "true"
[alpha.jobs.b]
run_args_template = "true"
[[alpha.slack]]
command = "go"
help = "Goes"
action = "schedule_job"
job_type = "a"

[beta]
[beta.jobs.deploy]
run_args_template = "true"
[[beta.github]]
event = "push"
job_type = "deploy"
"#,
    )
    .unwrap();
    let text = env.ok(&["--config", "two.toml", "config", "check"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with("is valid: 2 namespace(s), 3 job(s), 1 Slack command(s), 1 webhook trigger(s)"),
        "{text}"
    );
    assert_eq!(
        lines[1..],
        ["  alpha  2 job(s), 1 Slack command(s)", "  beta   1 job(s), 0 Slack command(s), 1 webhook trigger(s)"]
    );
    let json = env.json(&["--config", "two.toml", "config", "check"]);
    assert_eq!(json["by_namespace"][0]["name"], "alpha");
    assert_eq!(json["by_namespace"][0]["jobs"], 2);
    assert_eq!(json["by_namespace"][1]["github_triggers"], 1);
}

#[test]
fn say_help_ends_its_output_with_one_newline() {
    let env = env();
    for words in [&["say", "help"][..], &["say", "t", "help"], &["say", "nonsense"]] {
        let out = env.run(words);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{words:?}: {text:?}");
    }
}

/// A job that runs until the test creates `release` in its directory, then says so.
const GATE: &str = "
[g.jobs.gate]
run_args_template = \"while [ ! -e release ]; do sleep 0.01; done; echo released\"
timeout = \"60s\"
";

#[test]
fn run_spins_while_it_waits_on_a_terminal_and_prints_plain_lines_on_a_pipe() {
    use std::io::Read;
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};

    use crate::support::{TestEnv, stop, wait_until};

    let env = TestEnv::new(GATE);
    let release = env.workspace("g").join("release");
    let mut dispatcher = env.spawn(&["dispatch"]);
    let id = env.schedule(&["g", "gate"]);
    env.wait_state(id, "running");

    // On a pipe: one plain line per reason, no terminal control characters.
    let mut piped = env.spawn(&["run", "g", "gate"]);
    let line = piped.stderr_lines().wait_for(&format!("waiting for job {id}"));
    assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{line:?}");

    // On a terminal (a pty from `script`): a spinner, cleared before the job's output.
    let bin = env!("CARGO_BIN_EXE_ebmbot");
    let mut cmd = Command::new("script");
    for var in crate::support::OURS {
        cmd.env_remove(var);
    }
    let mut tty = cmd
        .args(["-qefc", &format!("{bin:?} run g gate"), "/dev/null"])
        .current_dir(&env.root)
        .env("TERM", "xterm")
        .env("EBMBOT_KILL_GRACE", "200ms")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs ebmbot on a pty");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut out = tty.stdout.take().unwrap();
    let sink = Arc::clone(&screen);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let seen = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    wait_until("the spinner on the pty", || seen().contains(&format!("waiting for job {id}")).then_some(()));

    std::fs::write(&release, "").unwrap();
    assert!(piped.output().status.success());
    let status = tty.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "{}", seen());
    let screen = seen();
    let waiting = screen.find(&format!("waiting for job {id}")).unwrap();
    let output = screen.rfind("released").expect("the job's output");
    let cleared = screen[waiting..output].rfind("\r\u{1b}[2K").map(|at| waiting + at);
    assert!(cleared.is_some(), "the spinner's line is cleared before the job's output: {screen:?}");
    assert!(!screen[cleared.unwrap() + 4..output].contains("waiting"), "{screen:?}");
    stop(&mut dispatcher);
}
