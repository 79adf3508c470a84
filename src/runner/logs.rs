//! Job logs: where they live (`LOGS_DIR/<type>/<YYYYMMDD-HHMMSS>-<id>/{stdout,stderr}`) and the
//! capped writer that fills them as the job runs.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Settings;
use crate::queue::model::JobId;

/// One of a job's two outputs: what the CLI, the Slack grammar and the log files all name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// Its log file's name inside the job's log directory, and its word in commands.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Creates `dir` and any missing parent as 0700 (docs/security.md §5): the mode is given
/// explicitly, so ebmbot need not change its umask, which its jobs inherit.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates (or truncates) `path` as 0600, for writing; see [`create_private_dir`].
pub(crate) fn create_private_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

/// `LOGS_DIR/<type>/<YYYYMMDD-HHMMSS>-<id>`, the start time in UTC.
pub fn log_dir(logs_dir: &Path, job_type: &str, started: Timestamp, id: JobId) -> PathBuf {
    let stamp = started.strftime("%Y%m%d-%H%M%S");
    logs_dir.join(job_type).join(format!("{stamp}-{id}"))
}

/// A log directory as the host sees it (`HOST_LOGS_DIR` in place of `LOGS_DIR`), for messages.
pub fn host_log_dir(settings: &Settings, dir: &str) -> String {
    match Path::new(dir).strip_prefix(&settings.logs_dir) {
        Ok(rest) => settings.host_logs_dir.join(rest).display().to_string(),
        Err(_) => dir.to_owned(),
    }
}

/// Removes a pruned job's log directory if it lies inside `logs_dir`. A failure is logged,
/// not fatal: the row is gone either way, and a leftover directory harms nothing.
pub fn remove_log_dir(dir: &str, logs_dir: &Path) {
    let path = Path::new(dir);
    if !path.starts_with(logs_dir) {
        tracing::warn!(dir, "not removing a log directory outside LOGS_DIR");
        return;
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir, error = &e as &dyn std::error::Error, "could not remove a pruned job's log directory");
        }
    }
}

/// A log stream capped at `max` bytes. Past the cap nothing more is written but one line
/// `[ebmbot: output cut at N bytes]`; the caller keeps feeding it so the job's pipe drains.
/// Bytes pass through unchanged (invalid UTF-8 included). A write error stops the log (it is
/// reported once through `tracing`) without stopping the caller.
#[derive(Debug)]
pub(crate) struct CappedLog<W> {
    out: W,
    max: u64,
    written: u64,
    ends_with_newline: bool,
    closed: bool,
}

impl<W: Write> CappedLog<W> {
    pub(crate) fn new(out: W, max: u64) -> CappedLog<W> {
        CappedLog { out, max, written: 0, ends_with_newline: true, closed: false }
    }

    /// Appends `chunk` (or the part of it under the cap) and flushes, so that a reader following
    /// the file sees it at once.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.closed || chunk.is_empty() {
            return;
        }
        let room = usize::try_from(self.max - self.written).unwrap_or(usize::MAX);
        let part = &chunk[..chunk.len().min(room)];
        let mut result = self.write(part);
        if result.is_ok() && part.len() < chunk.len() {
            let newline = if self.ends_with_newline { "" } else { "\n" };
            let notice = format!("{newline}[ebmbot: output cut at {} bytes]\n", self.max);
            result = self.out.write_all(notice.as_bytes());
            self.closed = true;
        }
        if let Err(error) = result.and_then(|()| self.out.flush()) {
            tracing::warn!(%error, "cannot write a job log; the rest of this stream is dropped");
            self.closed = true;
        }
    }

    fn write(&mut self, part: &[u8]) -> io::Result<()> {
        if let Some(&last) = part.last() {
            self.out.write_all(part)?;
            self.written += part.len() as u64;
            self.ends_with_newline = last == b'\n';
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> W {
        self.out
    }
}

/// Copies `pipe` into `log` until the pipe closes, flushing each read; with `tee`, also to it
/// (until it fails: our own terminal going away does not stop the job's log).
pub(crate) fn copy_output(mut pipe: impl Read, mut log: CappedLog<impl Write>, mut tee: Option<Box<dyn Write + Send>>) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot read a job's output");
                return;
            }
        };
        log.push(&buf[..n]);
        if let Some(out) = &mut tee
            && out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err()
        {
            tee = None;
        }
    }
}

/// Appends one line that ebmbot itself has to say (why a job could not run) to a log file.
pub(crate) fn append_line(path: &Path, line: &str) {
    let written = OpenOptions::new().append(true).open(path).and_then(|mut f| writeln!(f, "{line}"));
    if let Err(error) = written {
        tracing::warn!(%error, path = %path.display(), "cannot write to a job log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_dir_is_type_then_utc_start_and_id() {
        let started: Timestamp = "2024-03-05T07:08:09.5+02:00".parse().unwrap();
        assert_eq!(
            log_dir(Path::new("/l"), "example_hello", started, JobId(42)),
            Path::new("/l/example_hello/20240305-050809-42")
        );
    }

    #[test]
    fn under_the_cap_everything_passes_through() {
        let mut log = CappedLog::new(Vec::new(), 10);
        log.push(b"ab\xffc");
        log.push(b"");
        log.push(b"defghi");
        assert_eq!(log.into_inner(), b"ab\xffcdefghi");
    }

    #[test]
    fn past_the_cap_one_notice_on_its_own_line() {
        let mut log = CappedLog::new(Vec::new(), 5);
        log.push(b"abc");
        log.push(b"defg");
        log.push(b"more");
        assert_eq!(String::from_utf8(log.into_inner()).unwrap(), "abcde\n[ebmbot: output cut at 5 bytes]\n");

        let mut log = CappedLog::new(Vec::new(), 4);
        log.push(b"abc\nd");
        let mut log2 = CappedLog::new(Vec::new(), 4);
        log2.push(b"abc\n");
        log2.push(b"d");
        let expected = "abc\n[ebmbot: output cut at 4 bytes]\n";
        assert_eq!(String::from_utf8(log.into_inner()).unwrap(), expected);
        assert_eq!(String::from_utf8(log2.into_inner()).unwrap(), expected);
    }

    /// A writer the test can read back after handing it over.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tee_gets_everything_the_cap_cuts() {
        let (log, tee) = (Shared::default(), Shared::default());
        let input = vec![b'x'; 200_000];
        copy_output(&input[..], CappedLog::new(log.clone(), 10), Some(Box::new(tee.clone())));
        assert_eq!(log.0.lock().unwrap().len(), 10 + "\n[ebmbot: output cut at 10 bytes]\n".len());
        assert_eq!(*tee.0.lock().unwrap(), input);
    }

    #[test]
    fn a_broken_tee_does_not_stop_the_log() {
        let log = Shared::default();
        copy_output(&b"abc"[..], CappedLog::new(log.clone(), 10), Some(Box::new(Broken)));
        assert_eq!(*log.0.lock().unwrap(), b"abc");
    }
}
