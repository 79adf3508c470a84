//! `queue import FILE|-`: a `queue export` written into this queue, in one transaction. The
//! whole file is read and checked first: a line of an unknown version or kind, or one that does
//! not read, refuses the file (naming the line) and nothing is written. What is already in the
//! queue is not written twice (see [`crate::queue::transfer`]).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::queue::Queue;
use crate::queue::transfer::{self, Imported, Record};

use super::access::{Allowed, Caller, Scope};
use super::{Action, CommandError, Context, Result};

/// Where the export comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Self::Stdin => "stdin".to_owned(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueImport {
    pub source: Source,
}

/// What the import did, and what to look at.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: String,
    #[serde(flatten)]
    pub imported: Imported,
    /// Jobs of types `jobs.toml` does not have: they fail when they are due.
    pub warnings: Vec<String>,
}

impl Action for QueueImport {
    type Output = ImportReport;

    fn scope(&self) -> Scope<'_> {
        Scope::TrustedOnly("importing into the queue")
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<ImportReport> {
        let file = self.source.name();
        let text = read(&self.source)?;
        let (lines, records) = parse(&file, &text)?;
        let bad =
            |index: usize, reason: String| CommandError::BadImport { file: file.clone(), line: lines[index], reason };
        transfer::validate(&records).map_err(|e| bad(e.index, e.reason))?;
        let logs = &ctx.settings.logs_dir;
        for (index, record) in records.iter().enumerate() {
            let path = match record {
                Record::Job(j) => j.finished.as_ref().and_then(|f| f.log_dir.as_deref()),
                Record::SlackReply(r) => r.log_path.as_deref(),
                _ => None,
            };
            if let Some(path) = path.filter(|p| !within(Path::new(p), logs)) {
                return Err(bad(
                    index,
                    format!(
                        "log path `{path}` is not in LOGS_DIR ({}); import where LOGS_DIR holds the exported queue's logs",
                        logs.display()
                    ),
                ));
            }
        }
        let mut warnings = Vec::new();
        for record in &records {
            if let Record::Job(j) = record
                && j.finished.is_none()
                && ctx.catalog.job(&j.namespace, &j.job).is_none()
            {
                warnings.push(format!(
                    "job {} `{}_{}` is not in {}: it will fail when it is due",
                    j.id,
                    j.namespace,
                    j.job,
                    ctx.catalog.path.display()
                ));
            }
        }
        let imported = queue.import(&records)?;
        Ok(ImportReport { file, imported, warnings })
    }
}

fn read(source: &Source) -> Result<String> {
    let (path, text) = match source {
        Source::Stdin => {
            let mut text = String::new();
            (PathBuf::from("stdin"), std::io::stdin().read_to_string(&mut text).map(|_| text))
        }
        Source::File(path) => (path.clone(), std::fs::read_to_string(path)),
    };
    text.map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CommandError::BadValue {
            what: "queue import",
            text: path.display().to_string(),
            reason: "no such file; give the file `ebmbot queue export` wrote, or `-` for stdin".to_owned(),
        },
        std::io::ErrorKind::InvalidData => CommandError::BadImport {
            file: path.display().to_string(),
            line: 0,
            reason: "not UTF-8 text; give the file `ebmbot queue export` wrote".to_owned(),
        },
        _ => CommandError::Io { what: "cannot read", path, source },
    })
}

/// Every record with its line number (blank lines are skipped). The first must be the header.
fn parse(file: &str, text: &str) -> Result<(Vec<usize>, Vec<Record>)> {
    let mut lines = Vec::new();
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record = Record::from_line(line, records.is_empty()).map_err(|e| CommandError::BadImport {
            file: file.to_owned(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        lines.push(i + 1);
        records.push(record);
    }
    if records.is_empty() {
        return Err(CommandError::BadImport {
            file: file.to_owned(),
            line: 0,
            reason: "it is empty; give the file `ebmbot queue export` wrote".to_owned(),
        });
    }
    Ok((lines, records))
}

/// `path` is inside `dir`, without `..` to climb out.
fn within(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir) && !path.components().any(|c| c == Component::ParentDir)
}
