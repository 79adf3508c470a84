//! Moving `{placeholders}` out of quotes in the original's templates.
//!
//! The original substituted `shlex.quote(value)` into the template, so `echo "{name}"` put a
//! single-quoted value inside double quotes, where `$(…)` in it runs. ebmbot refuses a
//! placeholder inside quotes. Closing the quote before the placeholder and opening it again
//! after keeps the word whole and makes the value one literal piece of it:
//! `echo "Hello {name}!"` → `echo "Hello "{name}"!"`, `cat '{f}'` → `cat {f}`.
//! Placeholders inside backticks or right after `$` have no such rewrite; the loader refuses
//! them with its own message, and the import says how to fix them.

/// A template with every placeholder that stood inside single or double quotes moved out of
/// them, and the names moved (empty: nothing changed).
pub(super) fn unquote_placeholders(template: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(template.len() + 8);
    let mut moved = Vec::new();
    let mut chars = template.chars().peekable();
    let mut quote: Option<char> = None;
    // Where in `out` the open quote character is.
    let mut opened_at = 0;
    let mut escaped = false;
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                out.push(c);
                out.push(c);
                escaped = false;
                continue;
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for n in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    name.push(n);
                }
                let placeholder = if closed { format!("{{{name}}}") } else { format!("{{{name}") };
                let movable = closed && !out.ends_with('$') && matches!(quote, Some('\'' | '"'));
                if let (true, Some(q)) = (movable, quote) {
                    // Close the quote before the placeholder (or drop it if nothing is in it).
                    if out.len() == opened_at + q.len_utf8() {
                        out.truncate(opened_at);
                    } else {
                        out.push(q);
                    }
                    out.push_str(&placeholder);
                    if chars.peek() == Some(&q) {
                        chars.next();
                        quote = None;
                    } else {
                        opened_at = out.len();
                        out.push(q);
                    }
                    if !moved.contains(&name) {
                        moved.push(name);
                    }
                } else {
                    out.push_str(&placeholder);
                }
                escaped = false;
                continue;
            }
            _ => out.push(c),
        }
        // Shell quoting of the literal text, as the loader tracks it.
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (None | Some('"' | '`'), '\\') => escaped = true,
            (None, '\'' | '"' | '`') => {
                quote = Some(c);
                opened_at = out.len() - c.len_utf8();
            }
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    (out, moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Template;
    use crate::config::template::quote;

    fn fix(t: &str) -> String {
        unquote_placeholders(t).0
    }

    #[test]
    fn placeholders_leave_their_quotes_and_words_stay_whole() {
        assert_eq!(fix(r#"echo "{name}""#), "echo {name}");
        assert_eq!(fix("cat '{f}'"), "cat {f}");
        assert_eq!(fix(r#"echo "Hello {name}!""#), r#"echo "Hello "{name}"!""#);
        assert_eq!(fix(r#"echo "{a} and {b}""#), r#"echo {a}" and "{b}"#);
        assert_eq!(fix(r#"run --msg="{m}" --x '{y}z'"#), r"run --msg={m} --x {y}'z'");
        assert_eq!(unquote_placeholders(r#"say "{x}" "{x}""#).1, ["x"]);
    }

    #[test]
    fn what_needs_no_change_or_has_no_rewrite_is_left_alone() {
        for t in [
            "echo {name}",
            "python jobs.py --statuses 'In Progress' {statuses}",
            r#"echo "\"" {x}"#,
            "echo `date {x}`",
            r#"echo "${x}""#,
            "printf '{{}}' {v}",
            "awk '{{print $1}}' {file}",
        ] {
            assert_eq!(unquote_placeholders(t), (t.to_owned(), vec![]), "{t}");
        }
    }

    #[test]
    fn the_result_passes_the_loader_and_runs_the_value_as_one_literal_word() {
        for t in [r#"printf '[%s]' "pre {v} post""#, "printf '[%s]' 'x{v}'", r#"printf '[%s]' "{v}""#] {
            let fixed = fix(t);
            let template = Template::parse(&fixed).unwrap_or_else(|e| panic!("{fixed}: {e}"));
            assert_eq!(template.params().collect::<Vec<_>>(), ["v"]);
            let hostile = "$(touch /tmp/pwned) `id` \"q\" 'a' b";
            let line = fixed.replace("{v}", &quote(hostile));
            let out = std::process::Command::new("bash").arg("-c").arg(&line).output().unwrap();
            let printed = String::from_utf8(out.stdout).unwrap();
            let expected = t.split_once("'[%s]' ").unwrap().1.trim_matches(['"', '\'']).replace("{v}", hostile);
            assert_eq!(printed, format!("[{expected}]"), "{t} → {fixed}");
        }
    }
}
