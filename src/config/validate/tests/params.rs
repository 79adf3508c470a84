//! `[ns.jobs.job.params.name]` tables, and placeholders where bash reads a value again.

use super::{error, parse};

fn job(template: &str, params: &str) -> String {
    format!("[op.jobs.import]\nrun_args_template = '{template}'\n{params}")
}

#[test]
fn param_tables_become_rules() {
    let text = job(
        "./import.sh --days {days} {mode} {src} {file}",
        "[op.jobs.import.params.days]\ntype = \"int\"\nmin = 1\nmax = 30\n\
         [op.jobs.import.params.mode]\nchoices = [\"daily\", \"weekly\"]\n\
         [op.jobs.import.params.src]\ntype = \"url\"\n\
         [op.jobs.import.params.file]\ntype = \"path\"\nallow_dash = true\n",
    );
    let catalog = parse(&text).unwrap();
    let job = catalog.job("op", "import").unwrap();
    assert_eq!(job.params["days"].describe(), "a whole number from 1 to 30");
    assert_eq!(job.params["mode"].describe(), "one of `daily`, `weekly`");
    assert!(job.check_value("days", "7").is_ok());
    assert!(job.check_value("days", "31").is_err());
    assert!(job.check_value("file", "-x").is_ok());
    assert!(job.check_value("src", "https://a:b@example.com/").is_err());
}

#[test]
fn rules_for_a_param_the_template_lacks_are_refused() {
    let msg = error(&job("./import.sh {days}", "[op.jobs.import.params.dayz]\ntype = \"int\"\n"));
    assert_eq!(
        msg,
        "`op.jobs.import.params.dayz`: the `run_args_template` of `op_import` has no placeholder `{dayz}`; \
         did you mean `days`? (line 3)"
    );
    let msg = error(&job("./import.sh", "[op.jobs.import.params.days]\ntype = \"int\"\n"));
    assert!(msg.contains("has no placeholder `{days}`; remove the table or add `{days}` to the template"), "{msg}");
}

#[test]
fn bad_rules_are_refused_with_the_fix() {
    let bad = |table: &str| error(&job("./import.sh {days}", &format!("[op.jobs.import.params.days]\n{table}\n")));
    assert_eq!(
        bad("type = \"integer\""),
        "`op.jobs.import.params.days`: type `integer` is not valid; use one of `string`, `int`, `url`, `path` (line 3)"
    );
    assert!(bad("type = \"nit\"").contains("did you mean `int`?"));
    assert!(bad("min = 1").contains("`min` and `max` are for `type = \"int\"` only"));
    assert!(bad("type = \"int\"\nmin = 3\nmax = 1").contains("min 3 is above max 1"));
    assert!(bad("pattern = \"[a-\"").contains("pattern `[a-` is not a valid regex"));
    assert!(bad("choices = []").contains("the table sets no rule"));
    assert!(bad("type = \"int\"\nchoices = [\"x\"]").contains("choice `x` is not a whole number"));
    assert!(bad("max_len = 3").contains("unknown"), "{}", bad("max_len = 3"));
}

#[test]
fn a_placeholder_where_bash_reads_it_again_needs_a_narrow_type() {
    let msg = error(&job("[[ {n} -gt 0 ]] && ./import.sh", ""));
    assert_eq!(
        msg,
        "placeholder `{n}` in `op_import` stands in `[[ … -gt … ]]`, where bash evaluates the value again as \
         arithmetic (a value such as `a[$(cmd)]` would run code); move it out of there, or type it: add \
         `[op.jobs.import.params.n]` with `type = \"int\"` (line 1)"
    );
    // Typed so that no value can carry the special characters: accepted.
    assert!(parse(&job("[[ {n} -gt 0 ]] && ./import.sh", "[op.jobs.import.params.n]\ntype = \"int\"\n")).is_ok());
    assert!(parse(&job("eval echo {r}", "[op.jobs.import.params.r]\npattern = \"^[a-z0-9]+$\"\n")).is_ok());
    assert!(parse(&job("fab deploy:{r}", "[op.jobs.import.params.r]\nchoices = [\"a\", \"b-c\"]\n")).is_ok());
    // Typed, but the rule still lets dangerous characters through.
    let msg = error(&job("eval echo {r}", "[op.jobs.import.params.r]\ntype = \"url\"\n"));
    assert!(msg.contains("stands in `eval`, where the value is read again as shell text"), "{msg}");
    assert!(msg.contains("and its rule lets through"), "{msg}");
    assert!(msg.contains("narrow `[op.jobs.import.params.r]`"), "{msg}");
    let msg = error(&job("fab deploy:{r}", "[op.jobs.import.params.r]\npattern = \"^[a-z,]+$\"\n"));
    assert!(msg.contains("its rule lets through ,;"), "{msg}");
    // Negative numbers are harmless in arithmetic, but not as a variable name.
    let negative = "[op.jobs.import.params.n]\ntype = \"int\"\nallow_dash = true\n";
    assert!(parse(&job("x=$(( {n} + 1 ))", negative)).is_ok());
    assert!(error(&job("[[ -v {n} ]]", negative)).contains("its rule lets through -;"));
}

#[test]
fn a_placeholder_may_appear_twice() {
    let catalog = parse(&job("cp {f} {f}.bak", "")).unwrap();
    assert_eq!(catalog.job("op", "import").unwrap().template.params().collect::<Vec<_>>(), ["f"]);
}
