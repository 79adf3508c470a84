use super::shell::RereadKind;
use super::*;

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn renders_quoted_values() {
    let t = Template::parse("echo Hello {name}").unwrap();
    assert_eq!(t.params().collect::<Vec<_>>(), ["name"]);
    assert_eq!(t.render(&args(&[("name", "Bob")])).unwrap(), "echo Hello 'Bob'");
    assert_eq!(t.render(&args(&[("name", "it's")])).unwrap(), r"echo Hello 'it'\''s'");
    assert_eq!(t.render(&args(&[])), None);
}

#[test]
fn double_braces_are_literal() {
    let t = Template::parse("awk '{{print $1}}' {file}").unwrap();
    assert_eq!(t.render(&args(&[("file", "x")])).unwrap(), "awk '{print $1}' 'x'");
}

#[test]
fn refuses_bad_templates() {
    use TemplateError::*;
    assert!(matches!(Template::parse("echo {"), Err(StrayBrace { brace: '{', .. })));
    assert!(matches!(Template::parse("echo }"), Err(StrayBrace { brace: '}', .. })));
    assert!(matches!(Template::parse("echo {Name}"), Err(BadName { .. })));
    assert!(matches!(Template::parse("echo \"{a}\""), Err(InsideQuotes { .. })));
    assert!(matches!(Template::parse("echo '{a}'"), Err(InsideQuotes { .. })));
    assert!(matches!(Template::parse("echo `{a}`"), Err(InsideQuotes { .. })));
    assert!(matches!(Template::parse("echo ${a}"), Err(AfterDollar { .. })));
    assert!(Template::parse("echo \"x\" {a} 'y' \\' {b}").is_ok());
}

#[test]
fn quote_neutralises_shell_syntax() {
    assert_eq!(quote(""), "''");
    assert_eq!(quote("; rm -rf ~"), "'; rm -rf ~'");
    assert_eq!(quote("$(id)"), "'$(id)'");
    assert_eq!(quote("'"), r"''\'''");
}

/// Templates where bash reads a quoted value again, each with a value that runs `touch M` there
/// (`M` is replaced by a marker path) when nothing stops it. `None`: the construct needs a program
/// the test does not run (`ssh`, `watch`, `fab`), so only the verdict is checked.
pub(super) const REREADS: &[(&str, RereadKind, Option<&str>)] = &[
    ("[[ {v} -gt 0 ]]", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("[[ 1 -eq {v} ]]", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("echo $(({v}+1))", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("(( {v} ))", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("let x={v}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("let {v}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("declare -i x={v}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("typeset -i x={v}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("f() {{ local -i x={v}; }}; f", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("declare -ia x=({v})", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("declare -i n; n=1; echo $[ {v} ]", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("for ((i={v}; i<1; i++)); do :; done", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("a=(); a[{v}]=1", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("a=(1); echo ${{a[{v}]}}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("x=( [{v}]=1 )", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("x=abc; echo ${{x:{v}}}", RereadKind::Expansion, Some("a[$(touch M)]")),
    ("[[ -v {v} ]]", RereadKind::Name, Some("a[$(touch M)]")),
    ("test -v {v}", RereadKind::Name, Some("a[$(touch M)]")),
    ("[ -v {v} ]", RereadKind::Name, Some("a[$(touch M)]")),
    ("printf -v {v} %s 1", RereadKind::Name, Some("a[$(touch M)]")),
    ("read -r {v} <<< 1", RereadKind::Name, Some("a[$(touch M)]")),
    ("declare {v}=1", RereadKind::Name, Some("a[$(touch M)]")),
    ("declare -n x={v}; echo $x", RereadKind::Name, Some("a[$(touch M)]")),
    ("cat <<EOF\n{v}\nEOF", RereadKind::Shell, Some("$(touch M)")),
    ("cat <<'EOF'\n{v}\nEOF\n", RereadKind::Shell, Some("x\nEOF\ntouch M\n")),
    ("cat <<-EOF\n\t{v}\n\tEOF", RereadKind::Shell, Some("$(touch M)")),
    ("eval echo {v}", RereadKind::Shell, Some("$(touch M)")),
    ("bash -c {v}", RereadKind::Shell, Some("touch M")),
    ("sh -ec {v}", RereadKind::Shell, Some("touch M")),
    ("$EBMBOT_SHELL -c {v}", RereadKind::Shell, Some("touch M")),
    ("\"${{EBMBOT_SHELL:-bash}}\" -c {v}", RereadKind::Shell, Some("touch M")),
    ("env bash -x -c {v}", RereadKind::Shell, Some("touch M")),
    ("trap {v} EXIT", RereadKind::Shell, Some("touch M")),
    ("echo x | mapfile -C {v} -c 1 a", RereadKind::Shell, Some("touch M #")),
    ("printf '%s' {v} | xargs -I % sh -c 'echo %'", RereadKind::Shell, Some("$(touch M)")),
    ("echo {v} | xargs touch", RereadKind::Shell, Some("x M")),
    ("echo {v} | tr a b | xargs touch", RereadKind::Shell, Some("x M")),
    ("true | xargs echo {v}", RereadKind::Shell, None),
    ("echo hi # {v}", RereadKind::Shell, Some("\ntouch M\n")),
    ("source ./lib.sh {v}", RereadKind::Shell, None),
    (". ./lib.sh {v}", RereadKind::Shell, None),
    ("ssh host echo {v}", RereadKind::Shell, None),
    ("ssh -p 22 -o BatchMode=yes host -- echo {v}", RereadKind::Shell, None),
    ("watch -n 5 ls {v}", RereadKind::Shell, None),
    ("fab deploy:a,{v}", RereadKind::Fab, None),
    ("./fab -H host deploy:sha={v}", RereadKind::Fab, None),
    ("if true; then eval echo {v}; fi", RereadKind::Shell, Some("$(touch M)")),
    // Through a variable of the template.
    ("n={v}; [[ $n -gt 0 ]]", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; echo $((n + 1))", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; echo $(( $n + 1 ))", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; (( n ))", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; let x=n+1", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; m=$n; [[ 1 -lt \"$m\" ]]", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("export n={v}; eval echo $n", RereadKind::Shell, Some("$(touch M)")),
    ("n={v}; eval \"echo $n\"", RereadKind::Shell, Some("$(touch M)")),
    ("for i in {v}; do echo $((i)); done", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("x=abc; o={v}; echo ${{x:$o}}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("a=(1); i={v}; echo ${{a[$i]}}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("a=(1); i={v}; echo ${{a[i]}}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("n={v}; echo \"$n\" | xargs -I % sh -c 'echo %'", RereadKind::Shell, Some("$(touch M)")),
    ("f() {{ [[ $1 -gt 0 ]]; }}; f {v}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("{{ [[ {v} -gt 0 ]]; }}", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("if [[ {v} -gt 0 ]]; then :; fi", RereadKind::Arithmetic, Some("a[$(touch M)]")),
    ("set -- {v}; eval echo \"$@\"", RereadKind::Shell, Some("$(touch M)")),
    ("echo $(eval echo {v})", RereadKind::Shell, Some("$(touch M)")),
    ("(eval echo {v})", RereadKind::Shell, Some("$(touch M)")),
    ("cat <(eval echo {v})", RereadKind::Shell, Some("$(touch M)")),
];

/// Templates where a value stays one literal argument, whatever it holds.
pub(super) const PLAIN: &[&str] = &[
    "echo {v}",
    "echo {v} {v}.bak",
    "[[ {v} == a ]]",
    "[[ -z {v} ]]",
    "[[ {v} =~ a ]]",
    "[ {v} -gt 0 ]",
    "test {v} -eq 1",
    "case {v} in a) echo a;; esac; echo done",
    "cat <<< {v}",
    "x={v}; echo \"$x\"",
    "export X={v}",
    "declare x={v}",
    "a=(); a[0]={v}",
    "x=( {v} )",
    "bash -c 'echo \"$1\"' _ {v}",
    "sh -c 'echo \"$0\"' {v}",
    "printf '%s\\n' {v}",
    "cat <<'EOF'\nhello\nEOF\necho {v}",
    "cat <<EOF\n$HOME\nEOF\necho {v}",
    "f() {{ echo {v}; }}; f",
    "echo $(echo {v})",
    "echo $((1+2)) {v}",
    "for i in {v}; do echo \"$i\"; done",
    "echo ${{HOME}} {v}",
    "if [[ {v} == a ]]; then echo yes; fi",
    "echo \"$(echo hi)\" {v}",
    "echo '#' {v}",
    "echo a#b {v}",
    "echo hi # note\necho {v}",
    "echo x > out.txt; cat out.txt {v}",
    "exec 3>&1; echo {v}",
    "echo {v} >/dev/null 2>&1",
    "v={v}; x=abc; echo ${{x:-$v}} \"$v\"",
    "n={v}; echo \"$n\"; [[ $n == a ]]; echo $((m + 1))",
    "bash -c 'echo \"$1\"' _ {v}",
    "n={v}; sh -c 'echo $n'",
    "f() {{ echo \"$1\"; }}; f {v}",
];

fn hostile() -> Vec<&'static str> {
    let mut values: Vec<&str> = REREADS.iter().filter_map(|(_, _, v)| *v).collect();
    values.extend(["`touch M`", ";touch M", "'; touch M; '", "\"; touch M; \"", "$(touch M)", "a\ntouch M", "-o"]);
    values.sort_unstable();
    values.dedup();
    values
}

/// Runs `command` with bash in a fresh directory; true if it created the marker.
pub(super) fn ran(command: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("M");
    std::fs::write(dir.path().join("lib.sh"), "true\n").unwrap();
    let _ = std::process::Command::new("bash")
        .arg("-c")
        .arg(command)
        .current_dir(dir.path())
        .env("EBMBOT_SHELL", "bash")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    marker.exists()
}

#[test]
fn finds_every_place_that_reads_a_value_again() {
    for (template, kind, _) in REREADS {
        let t = Template::parse(template).unwrap_or_else(|e| panic!("{template:?}: {e}"));
        let found: Vec<_> = t.rereads().map(|(n, r)| (n.to_owned(), r.kind)).collect();
        assert_eq!(found, [("v".to_owned(), *kind)], "{template:?}");
    }
}

/// Proves the list above is about real danger: each of these ran the attack through bash.
#[test]
fn each_reread_place_really_runs_code_with_its_attack() {
    for (template, _, attack) in REREADS {
        let Some(attack) = attack else { continue };
        let t = Template::parse(template).unwrap();
        let value = attack.replace('M', "./M");
        let command = t.render_all_quoted(&args(&[("v", &value)])).unwrap();
        assert!(ran(&command), "{template:?} with {attack:?} did not run the attack: the case proves nothing");
        // Where bash removes no quotes the value is written bare, and only if it fits.
        if t.rereads().any(|(_, r)| r.bare)
            && let Some(command) = t.render(&args(&[("v", &value)]))
        {
            assert!(!ran(&command), "{template:?}: {command:?} ran the attack");
        }
    }
}

#[test]
fn plain_places_keep_every_hostile_value_literal() {
    for template in PLAIN {
        let t = Template::parse(template).unwrap_or_else(|e| panic!("{template:?}: {e}"));
        assert_eq!(t.rereads().count(), 0, "{template:?}: {:?}", t.rereads().collect::<Vec<_>>());
        for value in hostile() {
            let command = t.render(&args(&[("v", &value.replace('M', "./M"))])).unwrap();
            assert!(!ran(&command), "{template:?} ran code with {value:?}");
        }
    }
}

#[test]
fn a_placeholder_after_a_backslash_is_refused() {
    // `\'` would take the opening quote of the value: `echo \'; touch M #'`.
    assert!(matches!(Template::parse("echo \\{v}"), Err(TemplateError::AfterBackslash { .. })));
    assert!(ran("echo \\'; touch ./M #'"), "the attack this refusal stops");
    assert!(Template::parse("echo \\\\ {v}").is_ok());
}

#[test]
fn a_placeholder_may_repeat_and_each_occurrence_is_quoted() {
    let t = Template::parse("cp {f} {f}.bak").unwrap();
    assert_eq!(t.params().collect::<Vec<_>>(), ["f"]);
    assert_eq!(t.render(&args(&[("f", "a b")])).unwrap(), "cp 'a b' 'a b'.bak");
}

#[test]
fn bare_places_take_only_values_that_fit() {
    let t = Template::parse("echo $((1-{n})) ${{a[{n}]}}\ncat <<EOF\n{n}\nEOF").unwrap();
    assert_eq!(t.render(&args(&[("n", "-3")])).unwrap(), "echo $((1-(-3))) ${a[(-3)]}\ncat <<EOF\n-3\nEOF");
    assert_eq!(t.render(&args(&[("n", "a[$(id)]")])), None);
    assert_eq!(t.render(&args(&[("n", "3 ")])), None);
    assert_eq!(t.render(&args(&[("n", "")])), None);
    assert!(ran(&format!("[ $((1-{})) = 4 ] && touch ./M", bare(RereadKind::Arithmetic, "-3").unwrap())));
}

/// Templates that carry a value into a re-reading place, each with a value that runs `touch M`.
const FLOWS: &[(&str, &str)] = &[
    ("$( (eval echo {v}) )", "$(touch M)"),
    ("echo $(case x in x) eval echo {v};; esac)", "$(touch M)"),
    ("! eval echo {v}", "$(touch M)"),
    ("time eval echo {v}", "$(touch M)"),
    ("builtin eval echo {v}", "$(touch M)"),
    ("command eval echo {v}", "$(touch M)"),
    ("coproc eval echo {v}; wait", "$(touch M)"),
    ("true && eval echo {v}", "$(touch M)"),
    ("true || eval echo {v}; eval echo {v}", "$(touch M)"),
    ("x=1 eval echo {v}", "$(touch M)"),
    ("echo \"$(eval echo {v})\"", "$(touch M)"),
    ("echo `eval echo {v}`", "$(touch M)"),
    ("cat <<EOF; echo {v}\n$(echo hi)\nEOF", "$(touch M)"),
    ("cat <<EOF\nx\nEOF\neval echo {v}", "$(touch M)"),
    ("cat <<A <<B\na\nA\n{v}\nB", "$(touch M)"),
    ("while eval echo {v}; do break; done", "$(touch M)"),
    ("select x in a; do eval echo {v}; break; done < /dev/null", "$(touch M)"),
    ("a=({v}); eval echo ${{a[0]}}", "$(touch M)"),
    ("read -r x <<< {v}; eval echo $x", "$(touch M)"),
    ("printf -v x %s {v}; eval echo $x", "$(touch M)"),
    ("declare -n r=x; x={v}; eval echo $r", "$(touch M)"),
    ("x={v}; y=${{x}}; eval echo $y", "$(touch M)"),
    ("x={v}; eval echo ${{x}}", "$(touch M)"),
    ("x={v}; eval echo ${{x:-a}}", "$(touch M)"),
    ("x={v} ; bash -c \"echo $x\"", "$(touch M)"),
    ("x={v}; sh -c \"$x\"", "touch M"),
    ("x={v}; (( ${{#x}} > 0 )) && echo", "a[$(touch M)]"),
    ("echo {v} | while read l; do eval echo $l; done", "$(touch M)"),
    ("echo {v} | bash", "touch M"),
    ("echo {v} | sh -s", "touch M"),
    ("bash <<< {v}", "touch M"),
    ("mapfile -t a <<< {v}; eval ${{a[0]}}", "touch M"),
    ("IFS=, read -r a b <<< {v}; eval $a", "touch M"),
    ("test {v} -eq 1", "a[$(touch M)]"),
    ("[ {v} -eq 1 ]", "a[$(touch M)]"),
    ("(( $(echo {v}) ))", "a[$(touch M)]"),
    ("echo $(( $(echo {v}) ))", "a[$(touch M)]"),
    ("x=$(echo {v}); (( x ))", "a[$(touch M)]"),
    ("declare -i n=0; n+={v}", "a[$(touch M)]"),
    ("declare -i n; n={v}", "a[$(touch M)]"),
    ("typeset -i n; n={v}", "a[$(touch M)]"),
    ("x={v}; [[ -v $x ]]", "a[$(touch M)]"),
    ("x={v}; printf -v \"$x\" %s 1", "a[$(touch M)]"),
    ("x={v}; declare \"$x=1\"", "a[$(touch M)]"),
    ("x={v}; unset \"$x\"", "a[$(touch M)]"),
    ("x={v}; echo ${{!x}}", "a[$(touch M)]"),
    ("export {v}", "a[$(touch M)]"),
    ("local {v} 2>/dev/null; f() {{ local {v}; }}; f", "a[$(touch M)]"),
    ("getopts a {v}", "a[$(touch M)]"),
    ("x=({v}); echo $((x))", "a[$(touch M)]"),
    ("x=({v}); echo $((x[0]))", "a[$(touch M)]"),
    ("x=({v}); echo $(( ${{x[0]}} ))", "a[$(touch M)]"),
    ("alias a={v}", "$(touch M)"),
    ("shopt -s expand_aliases; alias a={v}\na", "touch M"),
    ("PS4={v}; set -x; true", "$(touch M)"),
    ("PROMPT_COMMAND={v}", "touch M"),
    ("BASH_ENV={v} bash -c true", "/dev/stdin"),
    ("ENV={v} sh -c true", "/dev/stdin"),
    ("env {v}=1 bash -c true", "BASH_FUNC_true%%"),
    ("printf {v}", "%s$(touch M)"),
    ("printf %b {v}", "\\ntouch M"),
    ("echo -e {v} | bash", "touch M"),
    ("find . -maxdepth 0 -exec sh -c {v} \\;", "touch M"),
    ("timeout 5 bash -c {v}", "touch M"),
    ("nice -n 1 bash -c {v}", "touch M"),
    ("exec bash -c {v}", "touch M"),
    ("xargs -a /dev/null -I{{}} echo {v}", "$(touch M)"),
];

/// Values that reach a re-reading place through a variable, stdin, `$( … )`, `read`,
/// `printf -v`, an array, `declare -i`/`-n`, `${!…}`, a prompt variable or an alias: each is
/// either refused or runs nothing.
#[test]
fn values_that_flow_into_a_rereading_place_are_refused_or_inert() {
    let cases = FLOWS;
    let mut missed = Vec::new();
    for (template, attack) in cases {
        let Ok(t) = Template::parse(template) else { continue };
        let value = attack.replace('M', "./M");
        if t.rereads().count() > 0 {
            continue;
        }
        let Some(command) = t.render(&args(&[("v", &value)])) else { continue };
        if ran(&command) {
            missed.push(template.to_string());
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}
