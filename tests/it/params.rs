//! Typed params and templates where bash reads a value again (issue 9, items 3 and 4): each
//! attack performed through the real binary, refused with a message that says why and how to
//! fix it, nothing queued or run; and the good path beside it.

use crate::support::TestEnv;

/// The attack value that ran code in every bash re-reading place: it creates `M` in the job's
/// directory if anything evaluates it.
const ATTACK: &str = "a[$(touch M)]";

fn queue_is_empty(env: &TestEnv) {
    let jobs = env.json(&["queue", "list", "--all"]);
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "something was queued: {jobs:#}");
}

/// A namespace `p` with one job `j` of `template` and `params` tables, run with bash.
fn env_with(template: &str, params: &str) -> TestEnv {
    let env = TestEnv::new(&format!("[p]\n\n[p.jobs.j]\nrun_args_template = '''{template}'''\n{params}"));
    env.workspace("p");
    env.script("p", "lib.sh", "echo sourced \"$@\"\n");
    // `ssh host cmd…` runs `cmd…` in the remote user's shell: this one does the same, locally.
    env.script("p", "ssh", "#!/bin/sh\nshift\nexec bash -c \"$*\"\n");
    env.script("p", "fab", "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
    env
}

/// Places where bash reads a value again, with a value of an int param that passes there.
const PLACES: &[(&str, &str, &str)] = &[
    ("[[ {n} -gt 0 ]] && echo positive", "`[[ … -gt … ]]`", "positive"),
    ("echo $(({n}+1))", "`$(( … ))`", "4"),
    ("(( {n} > 2 )) && echo big", "`(( … ))`", "big"),
    ("let x={n}*2; echo $x", "`let`", "6"),
    ("declare -i x={n}; echo $x", "`declare -i`", "3"),
    ("typeset -i x={n}; echo $x", "`typeset -i`", "3"),
    ("f() {{ local -i x={n}; echo $x; }}; f", "`local -i`", "3"),
    ("[[ -v {n} ]] || echo unset", "`[[ -v … ]]`", "unset"),
    ("a=(x y z w); echo ${{a[{n}]}}", "an array subscript", "w"),
    ("a=(); a[{n}]=v; echo ${{#a[@]}}", "an array subscript", "1"),
    ("cat <<EOF\n{n}\nEOF", "a here-document", "3"),
    ("cat <<'EOF'\n[{n}]\nEOF", "a here-document", "[3]"),
    ("for ((i={n}; i<5; i++)); do echo -n $i; done", "`(( … ))`", "34"),
    ("echo $[ {n} * 2 ]", "`$[ … ]`", "6"),
    ("x=( [{n}]=v ); echo ${{!x[@]}}", "an array subscript", "3"),
    ("read -r {n} <<< x; echo read", "`read`", "read"),
    ("eval echo {n}", "`eval`", "3"),
    ("bash -c {n}; echo ok", "`bash -c`", "ok"),
    ("sh -c {n}; echo ok", "`sh -c`", "ok"),
    ("$EBMBOT_SHELL -c {n}; echo ok", "`$EBMBOT_SHELL -c`", "ok"),
    ("source ./lib.sh {n}", "`source`", "sourced 3"),
    (". ./lib.sh {n}", "`.` (source)", "sourced 3"),
    ("echo {n} | xargs echo got", "a pipe into `xargs`", "got 3"),
    ("xargs echo {n} < /dev/null", "`xargs`", "3"),
    ("./ssh host echo {n}", "`ssh host …`", "3"),
    ("./fab deploy:a,{n}", "a `fab` command line", "deploy:a,3"),
    // Through a variable, stdin or a command's output.
    ("n={n}; [[ $n -gt 0 ]] && echo positive", "`[[ … -gt … ]]` (through `$n`)", "positive"),
    ("n={n}; echo $((n + 1))", "`$(( … ))` (through `$n`)", "4"),
    ("for i in {n}; do echo $((i * 2)); done", "`$(( … ))` (through `$i`)", "6"),
    ("echo {n} | bash 2>/dev/null; echo ok", "the input of `bash`, which runs it", "ok"),
    ("read -r x <<< {n}; eval echo $x", "`eval` (through `$x`)", "3"),
    ("x=$(echo {n}); (( x > 2 )) && echo big", "`(( … ))` (through `$x`)", "big"),
];

#[test]
fn untyped_placeholders_where_bash_reads_again_are_refused_at_load() {
    for (template, place, _) in PLACES {
        let env = env_with(template, "");
        let err = env.fails(2, &["config", "check"]);
        assert_eq!(err.lines().count(), 1, "{template}: {err}");
        assert!(err.contains(&format!("placeholder `{{n}}` in `p_j` stands in {place}")), "{template}: {err}");
        assert!(err.contains("add `[p.jobs.j.params.n]` with"), "{template}: {err}");
        // Nothing can be queued from a refused file, so the attack cannot be made.
        let err = env.fails(2, &["schedule", "p", "j", "--n", ATTACK]);
        assert!(err.contains("stands in"), "{template}: {err}");
        let err = env.fails(2, &["run", "p", "j", "--n", ATTACK]);
        assert!(err.contains("stands in"), "{template}: {err}");
        assert!(!env.workspace("p").join("M").exists(), "{template}: the attack ran");
    }
}

#[test]
fn typed_placeholders_refuse_the_attack_at_request_time_and_run_good_values() {
    for (template, _, expected) in PLACES {
        let env = env_with(template, "[p.jobs.j.params.n]\ntype = \"int\"\nmin = 0\nmax = 1000\n");
        env.ok(&["config", "check"]);
        for bad in [ATTACK, "$(touch M)", "3;touch M", "3 ", "--help"] {
            let err = env.fails(2, &["schedule", "p", "j", "--n", bad]);
            let why = if bad.starts_with('-') { "begins with `-`" } else { "is not a whole number" };
            assert!(err.contains(&format!("param `n` of `p_j` {why}")), "{template} {bad:?}: {err}");
            assert!(err.contains("give a whole number from 0 to 1000, for example `0`"), "{template}: {err}");
            let err = env.fails(2, &["run", "p", "j", "--n", bad]);
            assert!(err.contains("param `n` of `p_j`"), "{template}: {err}");
        }
        queue_is_empty(&env);
        let out = env.cmd().args(["run", "p", "j", "--n", "3"]).env("EBMBOT_SHELL", "bash").output().unwrap();
        assert!(out.status.success(), "{template}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), *expected, "{template}");
        assert!(!env.workspace("p").join("M").exists(), "{template}: the attack ran");
    }
}

#[test]
fn a_pattern_or_choices_that_exclude_the_special_characters_also_guard_a_place() {
    let env = env_with(
        "./fab deploy:sha={sha},env={env}",
        "[p.jobs.j.params.sha]\npattern = \"^[0-9a-f]{7,40}$\"\n\
         [p.jobs.j.params.env]\nchoices = [\"staging\", \"production\"]\n",
    );
    let err = env.fails(2, &["schedule", "p", "j", "--sha", "abc1234,evil=1", "--env", "staging"]);
    assert!(err.contains("param `sha` of `p_j` does not match the pattern `^[0-9a-f]{7,40}$`"), "{err}");
    assert!(err.contains("for example `0000000`"), "{err}");
    let err = env.fails(2, &["schedule", "p", "j", "--sha", "abc1234", "--env", "staging,x=1"]);
    assert!(err.contains("param `env` of `p_j` is not one of the choices; give one of `staging`, `production`"));
    queue_is_empty(&env);
    let out = env.ok(&["run", "p", "j", "--sha", "abc1234", "--env", "staging"]);
    assert_eq!(out, "deploy:sha=abc1234,env=staging\n");
    // A rule that still lets `,` through is refused at load, naming what it lets through.
    let env = env_with("./fab deploy:{x}", "[p.jobs.j.params.x]\npattern = \"^[a-z,=]+$\"\n");
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("and its rule lets through , =;"), "{err}");
}

#[test]
fn values_that_are_options_are_refused_unless_the_param_allows_them() {
    // `git log -n 5 {ref}` with `--output=FILE` wrote FILE.
    let env = TestEnv::new(
        "[p]\n[p.jobs.log]\nrun_args_template = \"git log -n 1 --format=%s {ref}\"\n\
         [p.jobs.grep]\nrun_args_template = \"grep {flags} x file.txt\"\n\
         [p.jobs.grep.params.flags]\nallow_dash = true\n\
         [[p.slack]]\ncommand = \"log [ref]\"\nhelp = \"git log\"\naction = \"schedule_job\"\njob_type = \"log\"\n",
    );
    let repo = env.workspace("p");
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").args(args).current_dir(&repo).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "first commit"]);
    std::fs::write(repo.join("file.txt"), "x\nX\n").unwrap();
    let target = env.path("written");
    let attack = format!("--output={}", target.display());
    let err = env.fails(2, &["schedule", "p", "log", "--ref", &attack]);
    assert_eq!(
        err.trim_end(),
        "error: param `ref` of `p_log` begins with `-`, which a program would read as an option; give text not \
         beginning with `-`, for example `text`"
    );
    let err = env.fails(2, &["run", "p", "log", "--ref", &attack]);
    assert!(err.contains("param `ref` of `p_log` begins with `-`"), "{err}");
    // The same refusal through the bot's grammar.
    let out = env.run(&["say", "p", "log", &attack]);
    let reply = String::from_utf8_lossy(&out.stdout);
    assert!(reply.contains("aram `ref` of `p_log` begins with `-`"), "{reply}");
    queue_is_empty(&env);
    assert!(!target.exists(), "the option reached git");
    // The good path, and a param that opts in.
    assert_eq!(env.ok(&["run", "p", "log", "--ref", "HEAD"]), "first commit\n");
    assert_eq!(env.ok(&["run", "p", "grep", "--flags", "-ic"]), "2\n");
}

#[test]
fn the_dispatcher_checks_values_again_against_the_catalogue_it_runs_with() {
    let env = TestEnv::new("[p]\n[p.jobs.j]\nrun_args_template = \"echo {n}\"\n");
    env.workspace("p");
    let id = env.schedule(&["p", "j", "--n", "abc"]);
    std::fs::write(
        env.path("jobs.toml"),
        "[p]\n[p.jobs.j]\nrun_args_template = \"echo $(( {n} ))\"\n[p.jobs.j.params.n]\ntype = \"int\"\n",
    )
    .unwrap();
    env.ok(&["dispatch", "--once"]);
    let job = env.job(id);
    assert_eq!(job["state"], "failed", "{job:#}");
    assert!(job["detail"].as_str().unwrap().contains("param `n` of `p_j` is not a whole number"), "{job:#}");
}

#[test]
fn jobs_and_help_show_the_rules() {
    let env = TestEnv::new(
        "[p]\n[p.jobs.import]\nrun_args_template = \"./import.sh {days} {mode}\"\n\
         [p.jobs.import.params.days]\ntype = \"int\"\nmin = 1\nmax = 30\n\
         [p.jobs.import.params.mode]\nchoices = [\"daily\", \"weekly\"]\n\
         [[p.slack]]\ncommand = \"import [days] [mode]\"\nhelp = \"imports\"\naction = \"schedule_job\"\njob_type = \"import\"\n",
    );
    let out = env.ok(&["jobs"]);
    assert!(out.contains("days: a whole number from 1 to 30"), "{out}");
    assert!(out.contains("mode: one of `daily`, `weekly`"), "{out}");
    let json = env.json(&["jobs"]);
    assert_eq!(json[0]["jobs"][0]["rules"]["days"], "a whole number from 1 to 30");
    let help = env.ok(&["say", "p", "help"]);
    assert!(help.contains("([days]: a whole number from 1 to 30; [mode]: one of `daily`, `weekly`)"), "{help}");
}

#[test]
fn a_placeholder_may_repeat_and_a_backslash_before_one_is_refused() {
    let env = TestEnv::new("[p]\n[p.jobs.cp]\nrun_args_template = \"cp {f} {f}.bak && ls\"\n");
    std::fs::write(env.workspace("p").join("a b"), "x").unwrap();
    assert_eq!(env.ok(&["run", "p", "cp", "--f", "a b"]), "a b\na b.bak\n");
    // `echo \{v}` with `; touch M #` would have run `touch M`: the backslash takes the quote.
    let env = TestEnv::new("[p]\n[p.jobs.j]\nrun_args_template = 'echo \\{v}'\n");
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("placeholder `{v}` in `p_j` follows `\\`"), "{err}");
}

#[test]
fn config_check_refuses_rules_for_a_param_the_template_lacks() {
    let env =
        TestEnv::new("[p]\n[p.jobs.j]\nrun_args_template = \"echo {days}\"\n[p.jobs.j.params.dayz]\ntype = \"int\"\n");
    let err = env.fails(2, &["config", "check"]);
    assert!(
        err.contains(
            "`p.jobs.j.params.dayz`: the `run_args_template` of `p_j` has no placeholder `{dayz}`; did you mean `days`?"
        ),
        "{err}"
    );
}

#[test]
fn no_rule_makes_a_placeholder_inside_a_parameter_expansion_safe() {
    let env = env_with("x=abcdef; echo ${{x:{n}}}", "[p.jobs.j.params.n]\ntype = \"int\"\n");
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("placeholder `{n}` in `p_j` stands in `${ … }`"), "{err}");
    assert!(err.contains("assign the value to a variable first"), "{err}");
    // The fix it gives works.
    let env = env_with("v={n}; x=abcdef; echo ${{x:-$v}} ${{x:$v}}", "[p.jobs.j.params.n]\ntype = \"int\"\n");
    assert_eq!(env.ok(&["run", "p", "j", "--n", "2"]), "abcdef cdef\n");
}
