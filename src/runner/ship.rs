//! Shipping running jobs' output into the queue, so that `logs` (and `logs --follow`) work from
//! any host (docs/postgres.md, "Several hosts"). The local files stay the record; the queue
//! keeps the last `EBMBOT_DB_LOG_MAX` bytes of each stream. Shipping is best effort: a queue
//! that cannot take a chunk now gets it at the next round, and never holds up a job.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use crate::queue::model::JobId;
use crate::queue::{Queue, QueueError};

use super::Stream;

/// How often running jobs' new output is shipped.
pub const SHIP_EVERY: Duration = Duration::from_secs(1);

/// The jobs whose output is shipped, and how far each stream has gone.
#[derive(Debug, Default)]
pub struct Shipper {
    /// `EBMBOT_DB_LOG_MAX`: the end of each stream kept; 0 ships nothing.
    max: u64,
    jobs: HashMap<JobId, Shipping>,
    /// Whether the last round failed (a failure is logged once, not every second).
    failing: bool,
}

#[derive(Debug)]
struct Shipping {
    dir: PathBuf,
    /// Bytes of stdout and stderr shipped (or skipped as older than the kept tail).
    shipped: [u64; 2],
}

const STREAMS: [Stream; 2] = [Stream::Stdout, Stream::Stderr];

impl Shipper {
    pub fn new(max: u64) -> Shipper {
        Shipper { max, ..Shipper::default() }
    }

    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty()
    }

    /// A job started with its logs in `dir`.
    pub fn add(&mut self, id: JobId, dir: PathBuf) {
        if self.max > 0 {
            self.jobs.insert(id, Shipping { dir, shipped: [0, 0] });
        }
    }

    /// Ships what every job wrote since the last round.
    pub fn ship_all(&mut self, queue: &mut Queue) {
        let ids: Vec<JobId> = self.jobs.keys().copied().collect();
        let mut result = Ok(());
        for id in ids {
            result = result.and(self.ship(queue, id));
        }
        self.note(result);
    }

    /// Ships the rest of a job that ended, and forgets it.
    pub fn finish(&mut self, queue: &mut Queue, id: JobId) {
        let result = self.ship(queue, id);
        self.note(result);
        self.jobs.remove(&id);
    }

    fn note(&mut self, result: Result<(), QueueError>) {
        match result {
            Ok(()) => self.failing = false,
            Err(e) if !std::mem::replace(&mut self.failing, true) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot ship job output into the queue; trying again"
                );
            }
            Err(_) => {}
        }
    }

    fn ship(&mut self, queue: &mut Queue, id: JobId) -> Result<(), QueueError> {
        let max = self.max;
        let Some(job) = self.jobs.get_mut(&id) else { return Ok(()) };
        for (i, stream) in STREAMS.into_iter().enumerate() {
            let Some((pos, bytes)) = read_new(&job.dir.join(stream.file_name()), job.shipped[i], max) else {
                continue;
            };
            let end = pos + bytes.len() as u64;
            queue.ship_log(id, stream.file_name(), pos, &bytes, end.saturating_sub(max))?;
            job.shipped[i] = end;
        }
        Ok(())
    }
}

/// What was written to `path` past byte `from`: at most its last `max` bytes, and where they
/// start. `None` when nothing new (or no file).
fn read_new(path: &std::path::Path, from: u64, max: u64) -> Option<(u64, Vec<u8>)> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    if size <= from {
        return None;
    }
    let pos = from.max(size.saturating_sub(max));
    file.seek(SeekFrom::Start(pos)).ok()?;
    let mut bytes = Vec::new();
    file.take(size - pos).read_to_end(&mut bytes).ok()?;
    Some((pos, bytes))
}
