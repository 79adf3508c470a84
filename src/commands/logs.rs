//! `logs`: a job's stdout or stderr, whole or its head or tail, or followed as it grows.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::queue::model::{Job, JobId, JobState};
use crate::queue::{Queue, Shipped};

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
    /// Read at most this many bytes of the log (its end for `all` and `tail`, its start for
    /// `head`); `None`: the whole file. Slack asks for [`SLACK_LIMIT`].
    pub limit: Option<u64>,
}

/// The most of a log a Slack reply carries: its last (or, for `head`, first) megabyte.
pub const SLACK_LIMIT: u64 = 1_000_000;

impl Part {
    /// `all`, `head:N` or `tail:N`: how a reply stores which part of a log it shows.
    pub fn to_stored(self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Head(n) => format!("head:{n}"),
            Self::Tail(n) => format!("tail:{n}"),
        }
    }

    pub fn from_stored(text: &str) -> Option<Part> {
        match text.split_once(':') {
            None if text == "all" => Some(Self::All),
            Some(("head", n)) => n.parse().ok().map(Self::Head),
            Some(("tail", n)) => n.parse().ok().map(Self::Tail),
            _ => None,
        }
    }
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
    /// The log's size in bytes when `text` is only part of it (past the command's `limit`).
    pub cut_from: Option<u64>,
    /// Which part of the log `text` is.
    pub part: Part,
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
        let mut out = LogText {
            id: job.id,
            stream,
            path: None,
            text: String::new(),
            note: None,
            cut_from: None,
            part: self.part,
            job: job.clone(),
        };
        let Some(dir) = job.log_dir() else {
            out.note = Some(NoText::NotYet { id: job.id, state: job.state() });
            return Ok(out);
        };
        let path = Path::new(dir).join(stream.file_name());
        match read_part(&path, self.part, self.limit) {
            Ok((text, cut_from)) => (out.text, out.cut_from) = (text, cut_from),
            // Run on another host (or its files removed): what the queue keeps of it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match queue.shipped_log(job.id, stream.file_name(), 0)? {
                    Some(shipped) => (out.text, out.cut_from) = from_queue(&shipped, self.part, self.limit),
                    None => out.note = Some(NoText::Removed { id: job.id, dir: dir.to_owned() }),
                }
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

/// `part` of the log at `path`, reading at most `limit` bytes of it (its start for a head, its
/// end otherwise), so that a log of any size costs at most `limit` of memory; and the file's
/// size when that was not all of it. A line cut by the limit is dropped.
pub fn read_part(path: &Path, part: Part, limit: Option<u64>) -> std::io::Result<(String, Option<u64>)> {
    let Some(limit) = limit else {
        let bytes = std::fs::read(path)?;
        return Ok((select(&String::from_utf8_lossy(&bytes), part), None));
    };
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let cut = size > limit;
    let mut bytes = Vec::new();
    match part {
        Part::Head(_) => {
            file.take(limit).read_to_end(&mut bytes)?;
        }
        Part::All | Part::Tail(_) => {
            file.seek(SeekFrom::Start(size.saturating_sub(limit)))?;
            file.take(limit).read_to_end(&mut bytes)?;
            if cut && let Some(newline) = bytes.iter().position(|b| *b == b'\n') {
                bytes.drain(..=newline);
            }
        }
    }
    let text = select(&String::from_utf8_lossy(&bytes), part);
    Ok((text, cut.then_some(size)))
}

/// `part` of what the queue keeps of a log, as [`read_part`] reads a file: at most `limit`
/// bytes, a line cut at the start dropped; and the log's size when that is not all of it.
fn from_queue(shipped: &Shipped, part: Part, limit: Option<u64>) -> (String, Option<u64>) {
    let mut bytes: &[u8] = &shipped.bytes;
    let mut cut = shipped.start > 0;
    if let Some(limit) = limit.and_then(|l| usize::try_from(l).ok()).filter(|l| bytes.len() > *l) {
        cut = true;
        bytes = match part {
            Part::Head(_) => &bytes[..limit],
            Part::All | Part::Tail(_) => &bytes[bytes.len() - limit..],
        };
    }
    if cut
        && !matches!(part, Part::Head(_))
        && let Some(newline) = bytes.iter().position(|b| *b == b'\n')
    {
        bytes = &bytes[newline + 1..];
    }
    (select(&String::from_utf8_lossy(bytes), part), cut.then_some(shipped.end))
}

/// `part` of a job's `stream` (at most 4 KB of it): the local file, or the queue's copy when the
/// job ran on another host; empty when there is neither (a running job's message shows it).
pub fn last_lines(queue: &Queue, job: &Job, stream: Stream, part: Part) -> String {
    const LIMIT: u64 = 4096;
    let Some(dir) = job.log_dir() else { return String::new() };
    match read_part(&Path::new(dir).join(stream.file_name()), part, Some(LIMIT)) {
        Ok((text, _)) => text,
        Err(_) => match queue.shipped_log(job.id, stream.file_name(), 0) {
            Ok(Some(shipped)) => from_queue(&shipped, part, Some(LIMIT)).0,
            _ => String::new(),
        },
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
/// grows (or, for a job on another host, what the queue keeps of it), and returns the job once
/// it has finished and everything is copied.
pub fn follow(queue: &Queue, id: JobId, stream: Stream, out: &mut dyn Write) -> Result<Job> {
    const POLL: Duration = Duration::from_millis(50);
    let mut job = find(queue, id)?;
    let mut source = Source::NotYet;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if matches!(source, Source::NotYet)
            && let Some(dir) = job.log_dir()
        {
            let path = Path::new(dir).join(stream.file_name());
            source = match File::open(&path) {
                Ok(f) => Source::File(f),
                // The files exist once the log directory is recorded: not here, so on another host.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Source::Queue(0),
                Err(source) => return Err(CommandError::Io { what: "cannot read the log", path, source }),
            };
        }
        let write = |out: &mut dyn Write, bytes: &[u8]| out.write_all(bytes).and_then(|()| out.flush());
        match &mut source {
            Source::NotYet => {}
            Source::File(f) => loop {
                let n = f.read(&mut buf).map_err(|source| io(source, &job, stream))?;
                if n == 0 {
                    break;
                }
                write(out, &buf[..n]).map_err(|source| io(source, &job, stream))?;
            },
            Source::Queue(pos) => {
                if let Some(shipped) = queue.shipped_log(id, stream.file_name(), *pos)? {
                    write(out, &shipped.bytes).map_err(|source| io(source, &job, stream))?;
                    *pos = shipped.end;
                }
            }
        }
        if job.is_finished() {
            return Ok(job);
        }
        std::thread::sleep(POLL);
        job = find(queue, id)?;
        if let Source::File(f) = &mut source {
            // A file truncated under us (it never is, but be safe): start again.
            let pos = f.stream_position().map_err(|source| io(source, &job, stream))?;
            if f.metadata().is_ok_and(|m| m.len() < pos) {
                f.seek(SeekFrom::Start(0)).map_err(|source| io(source, &job, stream))?;
            }
        }
    }
}

/// Where a followed log is read from.
enum Source {
    /// The job has no log directory yet.
    NotYet,
    File(File),
    /// The queue's copy (the job runs on another host), from this byte on.
    Queue(u64),
}

fn io(source: std::io::Error, job: &Job, stream: Stream) -> CommandError {
    let path = job.log_dir().map(|d| Path::new(d).join(stream.file_name())).unwrap_or_default();
    CommandError::Io { what: "cannot follow the log", path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_reads_only_the_end_or_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        let text = (0..1000).fold(String::new(), |mut text, i| {
            text.push_str(&format!("line {i:04}\n"));
            text
        });
        std::fs::write(&path, &text).unwrap();
        let (all, cut) = read_part(&path, Part::All, Some(100)).unwrap();
        assert_eq!(cut, Some(10_000));
        assert!(all.len() <= 100 && all.starts_with("line 09") && all.ends_with("line 0999\n"), "{all}");
        let (head, _) = read_part(&path, Part::Head(3), Some(100)).unwrap();
        assert_eq!(head, "line 0000\nline 0001\nline 0002\n");
        let (tail, _) = read_part(&path, Part::Tail(2), Some(100)).unwrap();
        assert_eq!(tail, "line 0998\nline 0999\n");
        assert_eq!(read_part(&path, Part::All, Some(20_000)).unwrap(), (text.clone(), None));
        assert_eq!(read_part(&path, Part::All, None).unwrap(), (text, None));
        assert_eq!(Part::from_stored(&Part::Tail(20).to_stored()), Some(Part::Tail(20)));
        assert_eq!(Part::from_stored("all"), Some(Part::All));
        assert_eq!(Part::from_stored("middle"), None);
    }

    #[test]
    fn head_and_tail() {
        let text = "a\nb\nc\n";
        assert_eq!(select(text, Part::Head(2)), "a\nb\n");
        assert_eq!(select(text, Part::Tail(2)), "b\nc\n");
        assert_eq!(select(text, Part::Tail(9)), text);
        assert_eq!(select("x\ny", Part::Tail(1)), "y");
    }
}
