//! `logs`: a job's stdout or stderr, whole or its head or tail, or followed as it grows.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::queue::Queue;
use crate::queue::model::{Job, JobId, JobState};

use super::access::{Allowed, Caller, Scope};
use super::{Action, CommandError, Context, Result};

pub use crate::runner::Stream;

/// Which part of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    All,
    Head(usize),
    Tail(usize),
}

/// Lines in a head or tail when no number is given.
pub const DEFAULT_LINES: usize = 20;

/// A job's stdout or stderr. Without a stream: stderr for a job that failed, timed out or was
/// lost, stdout otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logs {
    pub id: JobId,
    pub stream: Option<Stream>,
    pub part: Part,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogText {
    pub id: JobId,
    pub stream: Stream,
    /// The log file, when the job has one.
    pub path: Option<PathBuf>,
    /// The text (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
    /// Why there is no text to show, when there is none to show.
    pub note: Option<NoText>,
    /// The job, as it was when its log was read.
    #[serde(skip)]
    pub job: Job,
}

/// Why a log has no text to show. Serialized as its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoText {
    /// The job has not started (or never got a log directory).
    NotYet { id: JobId, state: JobState },
    /// The log directory was removed.
    Removed { id: JobId, dir: String },
}

impl std::fmt::Display for NoText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotYet { id, state } => write!(f, "job {id} has no logs yet ({state})"),
            Self::Removed { id, dir } => write!(f, "the logs of job {id} are gone (removed from {dir})"),
        }
    }
}

impl Serialize for NoText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Action for Logs {
    type Output = LogText;

    fn scope(&self) -> Scope<'_> {
        Scope::Job(self.id)
    }

    fn run(self, _: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<LogText> {
        let job = find(queue, self.id)?;
        let failed = matches!(job.state(), JobState::Failed | JobState::TimedOut | JobState::Lost);
        let stream = self.stream.unwrap_or(if failed { Stream::Stderr } else { Stream::Stdout });
        let mut out = LogText { id: job.id, stream, path: None, text: String::new(), note: None, job: job.clone() };
        let Some(dir) = job.log_dir() else {
            out.note = Some(NoText::NotYet { id: job.id, state: job.state() });
            return Ok(out);
        };
        let path = Path::new(dir).join(stream.file_name());
        match std::fs::read(&path) {
            Ok(bytes) => out.text = select(&String::from_utf8_lossy(&bytes), self.part),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.note = Some(NoText::Removed { id: job.id, dir: dir.to_owned() });
            }
            Err(source) => return Err(CommandError::Io { what: "cannot read the log", path, source }),
        }
        out.path = Some(path);
        Ok(out)
    }
}

pub fn find(queue: &Queue, id: JobId) -> Result<Job> {
    match queue.job(id)? {
        Some(job) => Ok(job),
        None if queue.was_pruned(id)? => Err(CommandError::Pruned(id)),
        None => Err(CommandError::UnknownId(id)),
    }
}

/// The whole text, or its first or last `n` lines.
fn select(text: &str, part: Part) -> String {
    match part {
        Part::All => text.to_owned(),
        Part::Head(n) => text.split_inclusive('\n').take(n).collect(),
        Part::Tail(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n)..].concat()
        }
    }
}

/// Follows a job's log into `out`: waits for a pending job to start, copies the file as it
/// grows, and returns the job once it has finished and everything is copied.
pub fn follow(queue: &Queue, id: JobId, stream: Stream, out: &mut dyn Write) -> Result<Job> {
    const POLL: Duration = Duration::from_millis(50);
    let mut job = find(queue, id)?;
    let mut file: Option<File> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if file.is_none()
            && let Some(dir) = job.log_dir()
        {
            let path = Path::new(dir).join(stream.file_name());
            match File::open(&path) {
                Ok(f) => file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !job.is_finished() => {}
                Err(source) => return Err(CommandError::Io { what: "cannot read the log", path, source }),
            }
        }
        if let Some(f) = file.as_mut() {
            loop {
                let n = f.read(&mut buf).map_err(|source| io(source, &job, stream))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n]).and_then(|()| out.flush()).map_err(|source| io(source, &job, stream))?;
            }
        }
        if job.is_finished() {
            return Ok(job);
        }
        std::thread::sleep(POLL);
        job = find(queue, id)?;
        if let Some(f) = file.as_mut() {
            // A file truncated under us (it never is, but be safe): start again.
            let pos = f.stream_position().map_err(|source| io(source, &job, stream))?;
            if f.metadata().is_ok_and(|m| m.len() < pos) {
                f.seek(SeekFrom::Start(0)).map_err(|source| io(source, &job, stream))?;
            }
        }
    }
}

fn io(source: std::io::Error, job: &Job, stream: Stream) -> CommandError {
    let path = job.log_dir().map(|d| Path::new(d).join(stream.file_name())).unwrap_or_default();
    CommandError::Io { what: "cannot follow the log", path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_tail() {
        let text = "a\nb\nc\n";
        assert_eq!(select(text, Part::Head(2)), "a\nb\n");
        assert_eq!(select(text, Part::Tail(2)), "b\nc\n");
        assert_eq!(select(text, Part::Tail(9)), text);
        assert_eq!(select("x\ny", Part::Tail(1)), "y");
    }
}
