//! Rules the repository keeps about its own code, checked on every `cargo test`: functions in
//! `src/` stay short, no module is borrowed by `#[path]`, comments point at the repo's own
//! docs, and every table has a retention rule.

use std::path::{Path, PathBuf};

/// The longest a function in `src/` may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 80;

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

fn sources(dirs: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f.strip_prefix(root).unwrap().display().to_string(), text)
        })
        .collect()
}

/// `text` with comments, string and char literals blanked out (newlines kept), so that braces
/// and `fn` inside them do not count.
fn code_only(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i..].starts_with(b"//") {
            i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
        } else if b[i..].starts_with(b"/*") {
            i = text[i..].find("*/").map_or(b.len(), |n| i + n + 2);
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let end = format!("\"{}", "#".repeat(hashes));
            i = text[i + 2 + hashes..].find(&end).map_or(b.len(), |n| i + 2 + hashes + n + end.len());
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'\'' && (b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\')) {
            i = text[i + 2..].find('\'').map_or(b.len(), |n| i + 3 + n);
        } else {
            i += 1;
            continue;
        }
        blank(&mut out, start, i);
    }
    out
}

/// Where a function's body opens: the first `{` outside parentheses and brackets, unless a `;`
/// (a declaration without a body) comes first.
fn body_start(signature: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in signature.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '{' if depth == 0 => return Some(i),
            ';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// (name, first line, length in lines) of every function with a body.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = String::from_utf8_lossy(&code_only(text)).into_owned();
    let mut found = Vec::new();
    let mut offset = 0;
    for (n, line) in code.lines().enumerate() {
        let words: Vec<&str> = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
        if let Some(at) = words.iter().position(|w| *w == "fn")
            && words[..at]
                .iter()
                .all(|w| w.is_empty() || ["pub", "crate", "super", "const", "async", "unsafe"].contains(w))
        {
            let name = words[at + 1..].iter().find(|w| !w.is_empty()).unwrap_or(&"?").to_string();
            let rest = &code[offset..];
            let body = body_start(rest);
            if let Some(open) = body {
                let mut depth = 0;
                for (i, c) in rest[open..].char_indices() {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        found.push((name, n + 1, rest[..open + i].matches('\n').count() + 1));
                        break;
                    }
                }
            }
        }
        offset += line.len() + 1;
    }
    found
}

#[test]
fn no_function_in_src_is_longer_than_80_lines() {
    let mut long = Vec::new();
    for (file, text) in sources(&["src"]) {
        for (name, line, length) in functions(&text) {
            if length > MAX_FN_LINES {
                long.push(format!("{file}:{line}: fn {name} is {length} lines"));
            }
        }
    }
    assert!(long.is_empty(), "split these by what they do (at most {MAX_FN_LINES} lines):\n{}", long.join("\n"));
}

#[test]
fn the_length_check_counts_lines_and_skips_strings_and_comments() {
    let text = "fn a() {\n    let s = \"}\";\n    // }\n    let c = '}';\n}\npub(crate) async fn b(x: [u8; 2]) -> u8 {\n    x[0]\n}\nfn c();\n";
    let found = functions(text);
    assert_eq!(found, vec![("a".to_owned(), 1, 5), ("b".to_owned(), 6, 3)]);
}

#[test]
fn no_module_is_borrowed_by_path_and_comments_point_at_the_repo() {
    // Spelt in pieces, so that this file does not find itself.
    const PATH_ATTRIBUTE: &str = concat!("#", "[path");
    const OUTSIDE: [&str; 2] = [concat!("DES", "IGN"), concat!("STACK", ".md")];
    let mut found = Vec::new();
    for (file, text) in sources(&["src", "tests"]) {
        for (n, line) in text.lines().enumerate() {
            // `#[path = "."]` borrows nothing: the PostgreSQL half builds the same files a second
            // time inside a module `pg`, where they are.
            let here = line.trim() == concat!("#", "[path = \".\"]");
            if (line.trim_start().starts_with(PATH_ATTRIBUTE) && !here) || OUTSIDE.iter().any(|o| line.contains(o)) {
                found.push(format!("{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "no #[path] modules, and no pointers at documents outside the repo:\n{}",
        found.join("\n")
    );
}

/// Tables whose rows go only with a row of another table (`ON DELETE CASCADE`, or deleted in
/// the same statement's transaction), or that cannot grow: no `DELETE FROM` of their own.
const PRUNED_WITH_ANOTHER: [(&str, &str); 5] = [
    ("requests", "with their job (cascade)"),
    ("job_logs", "with their job (cascade)"),
    ("slack_steps", "with their event or reply (cascade)"),
    ("meta", "one row per key, a handful of keys"),
    ("metrics_jobs", "one row per (type, outcome, bucket): bounded by the catalogue"),
];

#[test]
fn every_table_has_a_retention_rule() {
    let code: String = sources(&["src/queue", "src/runner"]).into_iter().map(|(_, text)| text).collect();
    let (_, schema) = sources(&["src/queue/schema"])
        .into_iter()
        .find(|(file, _)| file.ends_with("sqlite.rs"))
        .expect("src/queue/schema/sqlite.rs");
    let tables: Vec<&str> = schema
        .split("CREATE TABLE ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next())
        .filter(|t| !t.is_empty())
        .collect();
    assert!(tables.contains(&"jobs") && tables.contains(&"slack_progress"), "{tables:?}");
    let unpruned: Vec<&&str> = tables
        .iter()
        .filter(|t| !code.contains(&format!("DELETE FROM {t} ")))
        .filter(|t| !PRUNED_WITH_ANOTHER.iter().any(|(name, _)| name == *t))
        .collect();
    assert!(unpruned.is_empty(), "tables nothing deletes from (add a retention rule): {unpruned:?}");
}
