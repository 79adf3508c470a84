//! Which of ebmbot's secrets a namespace's jobs may read: the original gave every job all of
//! its environment, ebmbot only what `pass_secrets` lists. Found by name in the templates and
//! in the files of the namespace's workspace directory.

use std::path::Path;

use crate::config::SecretName;

/// Files larger than this are not read (data, not scripts).
const MAX_FILE: u64 = 1024 * 1024;
/// How deep under the namespace's directory files are read.
const MAX_DEPTH: usize = 4;

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Found {
    /// The secrets' variable names, in `SecretName::ALL` order.
    pub names: Vec<&'static str>,
    /// Where they were seen: "its templates", "`workspace/x/jobs.py`".
    pub places: Vec<String>,
    /// Whether the namespace's directory existed to be read.
    pub looked: bool,
}

pub(super) fn used(templates: &[String], dir: &Path) -> Found {
    let mut found = Found { looked: dir.is_dir(), ..Found::default() };
    let record = |text: &str, place: String, found: &mut Found| {
        let mut any = false;
        for secret in SecretName::ALL.map(SecretName::env_var) {
            if text.contains(secret) {
                any = true;
                if !found.names.contains(&secret) {
                    found.names.push(secret);
                }
            }
        }
        if any && !found.places.contains(&place) {
            found.places.push(place);
        }
    };
    for template in templates {
        record(template, "its templates".to_owned(), &mut found);
    }
    let mut files = Vec::new();
    walk(dir, 0, &mut files);
    files.sort();
    for file in files {
        if let Ok(text) = std::fs::read(&file) {
            let place = format!(
                "`{}`",
                file.strip_prefix(dir.parent().and_then(Path::parent).unwrap_or(dir)).unwrap_or(&file).display()
            );
            record(&String::from_utf8_lossy(&text), place, &mut found);
        }
    }
    let order = SecretName::ALL.map(SecretName::env_var);
    found.names.sort_by_key(|n| order.iter().position(|o| o == n));
    found
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && depth < MAX_DEPTH {
            walk(&entry.path(), depth + 1, files);
        } else if kind.is_file() && entry.metadata().is_ok_and(|m| m.len() <= MAX_FILE) {
            files.push(entry.path());
        }
    }
}
