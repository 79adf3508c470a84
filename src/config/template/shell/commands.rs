//! Which commands read a value again: `eval`, `bash -c`, `ssh host …`, `fab task:…`, `declare
//! -i`, `[[ … -gt … ]]`, `printf -v`, variables bash expands again, and the places a value
//! reaches through a variable of the template.

use std::collections::BTreeMap;

use super::{Cmd, Place, Read, Reread, RereadKind, Word};

const SHELLS: [&str; 9] = ["bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "su", "runuser"];
/// Variables whose value bash expands or runs again: prompts (`PS4` with `set -x`), the
/// prompt command, and the files non-interactive shells source.
const SPECIAL_VARIABLES: [&str; 8] = ["PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "BASH_ENV", "ENV"];
const ARITH_TESTS: [&str; 6] = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
/// Words that may stand before the command word.
pub(super) const PREFIXES: [&str; 14] =
    ["!", "{", "if", "then", "else", "elif", "while", "until", "do", "time", "exec", "command", "builtin", "nohup"];
/// `ssh` options that take an argument.
const SSH_ARG_OPTIONS: &str = "BbcDEeFIiJLlmOoPpQRSWw";

pub(super) fn set_place(places: &mut [Place], p: usize, r: &Reread) {
    if matches!(places[p], Place::Plain) {
        places[p] = Place::Reread(r.clone());
    }
}

/// The values a word holds: its placeholders and what it reads with `$`.
pub(super) fn values(word: &Word) -> Vec<usize> {
    let reads = word.reads.iter().filter(|r| r.dollar).flat_map(|r| r.occurrences.iter().copied());
    word.params.iter().map(|&(p, _)| p).chain(reads).collect()
}

fn through(r: &Reread, name: &str) -> Reread {
    Reread::new(r.kind, format!("{} (through `${name}`)", r.what))
}

/// The places of the values in `word`, given the words before it in its simple command.
pub(super) fn classify_word(places: &mut [Place], words: &[&Word], word: &Word, pipeline: &[usize]) {
    for &(p, eq_before) in &word.params {
        if let Some(r) = rule(words, eq_before) {
            set_place(places, p, &r);
        }
    }
    for read in &word.reads {
        if let Some(r) = rule(words, read.eq_before)
            && (read.dollar || r.kind == RereadKind::Arithmetic)
        {
            for &p in &read.occurrences {
                set_place(places, p, &through(&r, &read.name));
            }
        }
    }
    // `[[ {n} -gt 0 ]]`: the operator comes after the operand.
    if ARITH_TESTS.contains(&word.text.as_str())
        && words.iter().any(|w| w.text == "[[")
        && let Some(prev) = words.last()
    {
        let r = Reread::new(RereadKind::Arithmetic, format!("`[[ … {} … ]]`", word.text));
        for &(p, _) in &prev.params {
            set_place(places, p, &r);
        }
        for read in &prev.reads {
            for &p in &read.occurrences {
                set_place(places, p, &through(&r, &read.name));
            }
        }
    }
    if word.base() == "xargs" {
        let r = Reread::new(RereadKind::Shell, "a pipe into `xargs`");
        for &p in pipeline {
            set_place(places, p, &r);
        }
    }
}

/// What a word does to variables: `declare -n r=x` (an alias), `declare -i n` (later
/// assignments are arithmetic), an assignment to a prompt variable, and which variables now hold
/// a value (`n={n}`, `m=$n`, `for i in {x}`).
pub(super) fn word_effects(
    places: &mut [Place],
    taint: &mut BTreeMap<String, Vec<usize>>,
    words: &[&Word],
    word: &Word,
) {
    let flags = |letter: char| {
        words.first().is_some_and(|f| matches!(f.text.as_str(), "declare" | "typeset" | "local"))
            && words[1..].iter().any(|w| w.text.starts_with('-') && w.text.contains(letter))
    };
    let name = word.text.split(['=', '[', '+']).next().unwrap_or_default().to_owned();
    if flags('n')
        && let Some((alias, target)) = word.text.split_once('=')
        && let Some(held) = taint.get(target).cloned()
    {
        taint.entry(alias.to_owned()).or_default().extend(held);
    }
    if flags('i') && !word.text.starts_with(['-', '+']) {
        taint.entry(format!("-i {name}")).or_default();
    }
    let target = if is_assignment(&word.text) {
        let place = if taint.contains_key(&format!("-i {name}")) {
            Some(Reread::new(RereadKind::Arithmetic, format!("an assignment to `{name}`, declared `-i`")))
        } else if SPECIAL_VARIABLES.contains(&name.as_str()) {
            Some(Reread::new(RereadKind::Shell, format!("`{name}`, which bash expands again")))
        } else {
            None
        };
        if let Some(r) = place {
            for p in values(word) {
                set_place(places, p, &r);
            }
        }
        Some(name)
    } else if words.len() >= 3 && words[0].text == "for" && words[2].text == "in" {
        Some(words[1].text.clone())
    } else {
        None
    };
    let new = values(word);
    if let Some(name) = target
        && !new.is_empty()
    {
        let held = taint.entry(name).or_default();
        held.extend(new);
        held.sort_unstable();
        held.dedup();
    }
}

/// At the end of a simple command: values that reach a shell or a variable through stdin
/// (`echo {v} | bash`, `bash <<< {v}`, `read x <<< {v}`) or `printf -v`.
pub(super) fn finish_command(places: &mut [Place], taint: &mut BTreeMap<String, Vec<usize>>, cmd: &Cmd) {
    let words: Vec<&Word> = cmd.words.iter().filter(|w| !w.redirect).collect();
    let Some(first) = words.iter().position(|w| !is_assignment(&w.text) && !PREFIXES.contains(&w.text.as_str())) else {
        return;
    };
    let values = |w: &Word| -> Vec<usize> {
        let reads = w.reads.iter().filter(|r| r.dollar).flat_map(|r| r.occurrences.iter().copied());
        w.params.iter().map(|&(p, _)| p).chain(reads).collect()
    };
    let stdin: Vec<usize> =
        cmd.words.iter().filter(|w| w.herestring).flat_map(&values).chain(cmd.pipeline.iter().copied()).collect();
    let base = words[first].base();
    let rest = &words[first + 1..];
    let set = |places: &mut [Place], p: usize, r: &Reread| {
        if matches!(places[p], Place::Plain) {
            places[p] = Place::Reread(r.clone());
        }
    };
    let is_c = rest.iter().any(|w| w.text.strip_prefix('-').is_some_and(|f| !f.starts_with('-') && f.contains('c')));
    let mut taint_names = |names: Vec<String>, from: &[usize]| {
        if from.is_empty() {
            return;
        }
        for name in names {
            let held = taint.entry(name).or_default();
            held.extend(from);
            held.sort_unstable();
            held.dedup();
        }
    };
    match base {
        b if (SHELLS.contains(&b) && !is_c) || b == "xargs" => {
            let r = Reread::new(RereadKind::Shell, format!("the input of `{b}`, which runs it"));
            for &p in &stdin {
                set(places, p, &r);
            }
        }
        "read" | "mapfile" | "readarray" => {
            let takes_arg = if base == "read" { "pdtnNui" } else { "dnOsuCc" };
            let mut names = Vec::new();
            let mut skip = false;
            for w in rest {
                if skip {
                    skip = false;
                } else if let Some(flag) = w.text.strip_prefix('-') {
                    skip = flag.len() == 1 && takes_arg.contains(flag);
                } else {
                    names.push(w.text.clone());
                }
            }
            taint_names(names, &stdin);
        }
        "printf" => {
            if let Some(at) = rest.iter().position(|w| w.text == "-v")
                && let Some(name) = rest.get(at + 1)
            {
                let all: Vec<usize> = rest.iter().flat_map(|w| values(w)).collect();
                taint_names(vec![name.text.clone()], &all);
            }
        }
        _ => {}
    }
}

/// The variables of `taint` that `text` reads: `$name`, `$1`, and bare names (which only an
/// arithmetic place reads).
pub(super) fn reads(text: &str, taint: &BTreeMap<String, Vec<usize>>) -> Vec<Read> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let dollar = c == '$';
        let start = if dollar { i + 1 } else { i };
        let preceded = i > 0 && ident(chars[i - 1].1);
        if dollar && let Some(&(_, all @ ('@' | '*'))) = chars.get(i + 1) {
            if let Some(occurrences) = taint.get(&all.to_string()) {
                let eq_before = text[..at].contains('=');
                out.push(Read { name: all.to_string(), occurrences: occurrences.clone(), dollar, eq_before });
            }
            i += 2;
            continue;
        }
        if (dollar || (ident(c) && !preceded)) && start < chars.len() && ident(chars[start].1) {
            let mut end = start;
            // `$1` is one digit; a name runs on.
            if chars[start].1.is_ascii_digit() {
                end += 1;
            } else {
                while end < chars.len() && ident(chars[end].1) {
                    end += 1;
                }
            }
            let name: String = chars[start..end].iter().map(|(_, c)| c).collect();
            let number = name.starts_with(|c: char| c.is_ascii_digit());
            if let Some(occurrences) = taint.get(&name).filter(|_| dollar || !number) {
                out.push(Read { name, occurrences: occurrences.clone(), dollar, eq_before: text[..at].contains('=') });
            }
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

pub(super) fn is_assignment(text: &str) -> bool {
    let name_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    name_end > 0 && !text.starts_with(|c: char| c.is_ascii_digit()) && text[name_end..].starts_with(['=', '[', '+'])
}

/// The place of a placeholder in `word`, given the words before it in its simple command.
fn rule(words: &[&Word], eq_before: bool) -> Option<Reread> {
    let shell = |what: String| Some(Reread::new(RereadKind::Shell, what));
    let first = words.iter().position(|w| !is_assignment(&w.text) && !PREFIXES.contains(&w.text.as_str()));
    let prev = words.last().map(|w| w.text.as_str());
    for (j, w) in words.iter().enumerate() {
        let base = w.base();
        match base {
            "eval" | "source" | "xargs" | "trap" | "watch" | "alias" => return shell(format!("`{base}`")),
            "." if Some(j) == first => return shell("`.` (source)".to_owned()),
            "fab" => return Some(Reread::new(RereadKind::Fab, "a `fab` command line")),
            "let" => return Some(Reread::new(RereadKind::Arithmetic, "`let`")),
            "ssh" if after_ssh_destination(&words[j + 1..]) => {
                return shell("`ssh host …`, whose remote shell parses it again".to_owned());
            }
            "declare" | "typeset" | "local" => {
                let flags: String = words[j + 1..]
                    .iter()
                    .filter(|w| w.text.starts_with(['-', '+']) && w.params.is_empty())
                    .map(|w| w.text.as_str())
                    .collect();
                if !eq_before {
                    return Some(Reread::new(RereadKind::Name, format!("a variable name after `{base}`")));
                }
                if flags.contains('i') {
                    return Some(Reread::new(RereadKind::Arithmetic, format!("`{base} -i`")));
                }
                if flags.contains('n') {
                    return Some(Reread::new(RereadKind::Name, format!("`{base} -n`")));
                }
            }
            "printf" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, "`printf -v`")),
            "read" if Some(j) == first && !matches!(prev, Some("-p" | "-d" | "-t" | "-n" | "-N" | "-u" | "-i")) => {
                return Some(Reread::new(RereadKind::Name, "`read`"));
            }
            "mapfile" | "readarray" if prev == Some("-C") => return shell(format!("`{base} -C`")),
            "test" | "[" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, format!("`{base} -v`"))),
            "[[" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, "`[[ -v … ]]`")),
            "[[" if prev.is_some_and(|p| ARITH_TESTS.contains(&p)) => {
                return Some(Reread::new(RereadKind::Arithmetic, format!("`[[ … {} … ]]`", prev.unwrap_or_default())));
            }
            _ => {}
        }
        let is_shell = SHELLS.contains(&base) || w.text.starts_with('$');
        if is_shell && is_command_string(&words[j + 1..]) {
            let name = if w.text.starts_with('$') { w.text.as_str() } else { base };
            return shell(format!("`{name} -c`"));
        }
    }
    None
}

/// After a shell word: whether `word`, coming after `rest`, is the command string of a `-c`.
fn is_command_string(rest: &[&Word]) -> bool {
    let is_c = |w: &Word| {
        w.params.is_empty()
            && (w.text.starts_with("--command")
                || w.text.strip_prefix('-').is_some_and(|f| !f.starts_with('-') && f.contains('c')))
    };
    let Some(k) = rest.iter().position(|w| is_c(w)) else { return false };
    let mut skip = false;
    for w in &rest[k + 1..] {
        if skip {
            skip = false;
            continue;
        }
        if w.params.is_empty() && w.text.starts_with(['-', '+']) {
            skip = matches!(w.text.as_str(), "-o" | "+o" | "-O" | "+O");
            continue;
        }
        // The command string is already given; `word` is a positional parameter.
        return false;
    }
    // `word` is the first non-option word after `-c` (or the argument of `-o`: counted too).
    true
}

/// After `ssh`: whether its destination is among `rest` (so what follows is the remote command).
fn after_ssh_destination(rest: &[&Word]) -> bool {
    let mut skip = false;
    for w in rest {
        if skip {
            skip = false;
            continue;
        }
        if w.params.is_empty() && w.text.starts_with('-') {
            let flag = w.text.strip_prefix('-').unwrap_or_default();
            skip = flag.len() == 1 && SSH_ARG_OPTIONS.contains(flag);
            continue;
        }
        return true;
    }
    false
}
