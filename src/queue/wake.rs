//! Wake-ups: a part waiting for work (a dispatcher, the Slack worker and deliverer, `cancel`
//! waiting for a job to stop) sleeps until the queue changes, in any process, instead of
//! polling it.
//!
//! Each process watches each database once, on a thread of its own (a [`Hub`]), and wakes
//! every part waiting on it:
//! - SQLite: inotify on the database's `-wal` file, which every commit appends to (and on its
//!   directory, for when the file is made again). A commit is visible to others a moment
//!   after its last write, so the watcher waits for its own connection's `data_version` to
//!   move before it wakes anyone.
//! - PostgreSQL: `LISTEN ebmbot` on a connection of its own; each transaction that changed
//!   rows sends `NOTIFY ebmbot` as it commits (`db::Pg`). A dropped connection is made again
//!   with backoff, listens again, and wakes everyone: notifications sent meanwhile are lost.
//!
//! Behind both, a slow poll (`EBMBOT_WAKE_POLL`, [`WAKE_POLL`] by default): a part that heard
//! nothing for that long looks anyway, so a lost notification costs at most that much delay.
//! Parts of the same process wake each other with [`Waker::poke`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::Location;

/// How long a waiting part goes without looking at the queue when no notification came.
pub const WAKE_POLL: Duration = Duration::from_secs(2);
/// How often a watcher thread checks that someone still waits on it (it ends when nobody does).
const LIVENESS: Duration = Duration::from_secs(5);
/// The longest a SQLite watcher waits for a commit it saw being written to become visible.
const VISIBLE_WITHIN: Duration = Duration::from_millis(50);
/// How long opening a waker waits for its watcher to start watching.
const READY_WITHIN: Duration = Duration::from_secs(2);
/// The PostgreSQL listener's longest wait between two attempts to connect again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The `application_name` of the PostgreSQL listener's connection.
pub(crate) const LISTENER_NAME: &str = "ebmbot-listen";

/// What one process knows of one database's changes: a count of them, and waiting parts.
#[derive(Debug, Default)]
struct Hub {
    changes: Mutex<u64>,
    cv: Condvar,
}

impl Hub {
    fn bump(&self) {
        *self.changes.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.cv.notify_all();
    }
}

/// The process's hubs, by database; a hub lives while a [`Waker`] of it does.
static HUBS: Mutex<Option<HashMap<String, Weak<Hub>>>> = Mutex::new(None);

fn hub(at: &Location) -> Arc<Hub> {
    let mut hubs = HUBS.lock().unwrap_or_else(PoisonError::into_inner);
    let hubs = hubs.get_or_insert_with(HashMap::new);
    let key = at.to_string();
    if let Some(hub) = hubs.get(&key).and_then(Weak::upgrade) {
        return hub;
    }
    hubs.retain(|_, h| h.strong_count() > 0);
    let hub = Arc::new(Hub::default());
    let weak = Arc::downgrade(&hub);
    // The watcher says when it watches, so that a commit after this returns is never missed.
    let (ready, watching) = std::sync::mpsc::sync_channel(1);
    let started = match (at.sqlite_path(), at.postgres()) {
        (Some(path), _) => {
            let path = path.to_owned();
            std::thread::Builder::new().name("queue-watch".into()).spawn(move || watch_sqlite(&path, &weak, &ready))
        }
        (None, Some(config)) => {
            std::thread::Builder::new().name("queue-listen".into()).spawn(move || listen_pg(config, &weak, &ready))
        }
        (None, None) => return hub,
    };
    match started {
        // A watcher that cannot watch (yet) says so itself; the slow poll covers the time.
        Ok(_) => drop(watching.recv_timeout(READY_WITHIN)),
        Err(e) => {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                "cannot start the queue watcher; polling the queue instead"
            );
        }
    }
    hubs.insert(key, Arc::downgrade(&hub));
    hub
}

/// Wakes one waiting part: when the queue changed (a commit by any process), when another part
/// of this process pokes it, or when the slow poll says to look anyway. Clones wake the same
/// part.
#[derive(Debug, Clone)]
pub struct Waker(Arc<Part>);

#[derive(Debug)]
struct Part {
    hub: Arc<Hub>,
    poked: AtomicBool,
    poll: Duration,
    seen: Mutex<Seen>,
}

#[derive(Debug)]
struct Seen {
    /// The hub's count of changes when this part last woke.
    changes: u64,
    /// When this part last woke (the slow poll counts from there).
    woke: Instant,
}

impl Waker {
    pub(super) fn new(at: &Location, poll: Duration) -> Waker {
        let hub = hub(at);
        let changes = *hub.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = Mutex::new(Seen { changes, woke: Instant::now() });
        Waker(Arc::new(Part { hub, poked: AtomicBool::new(false), poll, seen }))
    }

    /// Wakes the part now (or at its next wait).
    pub fn poke(&self) {
        self.0.poked.store(true, Ordering::SeqCst);
        // Under the lock: a waiter between its check and its wait cannot miss this.
        let _changes = self.0.hub.changes.lock().unwrap_or_else(PoisonError::into_inner);
        self.0.hub.cv.notify_all();
    }

    /// Waits up to `timeout` for a reason to look at the queue: a change since the last wait
    /// returned, a poke, or the slow poll's time. True when there is one; false when `timeout`
    /// passed without.
    pub fn wait(&self, timeout: Duration) -> bool {
        let part = &*self.0;
        let mut seen = part.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        let poll_at = seen.woke.checked_add(part.poll);
        let mut changes = part.hub.changes.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            let poked = part.poked.swap(false, Ordering::SeqCst);
            if poked || *changes != seen.changes || poll_at.is_some_and(|at| now >= at) {
                seen.changes = *changes;
                seen.woke = now;
                return true;
            }
            let until = match (deadline, poll_at) {
                (Some(d), Some(p)) => d.min(p),
                (d, p) => d.or(p).unwrap_or(now + LIVENESS),
            };
            if deadline.is_some_and(|d| now >= d) {
                return false;
            }
            changes = part.hub.cv.wait_timeout(changes, until - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

/// The SQLite watcher: inotify on the `-wal` file and its directory. Without inotify (or a
/// directory), it ends, and the parts fall back on the slow poll.
fn watch_sqlite(path: &Path, hub: &Weak<Hub>, ready: &SyncSender<()>) {
    if let Err(e) = watch_sqlite_inner(path, hub, ready) {
        tracing::warn!(
            db = %path.display(),
            error = &e as &dyn std::error::Error,
            "cannot watch the database for changes; polling it instead"
        );
    }
}

fn watch_sqlite_inner(path: &Path, hub: &Weak<Hub>, ready: &SyncSender<()>) -> Result<(), WatchError> {
    use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify};
    use std::os::fd::AsFd;

    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Ok(()) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut wal_name = name.to_owned();
    wal_name.push("-wal");
    let wal: PathBuf = dir.join(&wal_name);
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
    let dir_watch = inotify.add_watch(dir, F::IN_CREATE | F::IN_MOVED_TO)?;
    let mut wal_watch = inotify.add_watch(&wal, F::IN_MODIFY).ok();
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    let version = || conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)).ok();
    let mut seen = version();
    // What was committed before the watch began was not seen: everyone looks once.
    if let Some(hub) = hub.upgrade() {
        hub.bump();
    }
    let _ = ready.try_send(());
    let timeout = nix::poll::PollTimeout::try_from(LIVENESS).unwrap_or(nix::poll::PollTimeout::MAX);
    loop {
        let mut fds = [nix::poll::PollFd::new(inotify.as_fd(), nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(hub) = hub.upgrade() else { return Ok(()) };
        let events = match inotify.read_events() {
            Ok(events) => events,
            Err(nix::errno::Errno::EAGAIN) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut written = false;
        for e in events {
            if e.wd == dir_watch && e.name.as_deref() == Some(wal_name.as_os_str()) {
                // The `-wal` file was made again: watch the new one.
                wal_watch = inotify.add_watch(&wal, F::IN_MODIFY).ok();
                written = true;
            } else if Some(e.wd) == wal_watch {
                written |= e.mask.contains(F::IN_MODIFY);
                if e.mask.contains(F::IN_IGNORED) {
                    wal_watch = None;
                }
            }
        }
        if written {
            // Wait for the commit to become visible (it is, a moment after its last write).
            let deadline = Instant::now() + VISIBLE_WITHIN;
            let mut now = version();
            while now == seen && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
                now = version();
            }
            if now != seen {
                seen = now;
                hub.bump();
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum WatchError {
    #[error("inotify")]
    Inotify(#[from] nix::errno::Errno),
    #[error("cannot open the database")]
    Sqlite(#[from] rusqlite::Error),
}

/// The PostgreSQL listener: `LISTEN ebmbot` on a connection of its own, made again with
/// backoff when it drops.
fn listen_pg(mut config: postgres::Config, hub: &Weak<Hub>, ready: &SyncSender<()>) {
    use postgres::fallible_iterator::FallibleIterator;

    config.application_name(LISTENER_NAME);
    let mut client: Option<postgres::Client> = None;
    let mut backoff = Duration::from_millis(50);
    let mut warned = false;
    loop {
        if hub.strong_count() == 0 {
            return;
        }
        let Some(c) = client.as_mut() else {
            match super::db::tls::connect(&config)
                .and_then(|mut c| c.batch_execute(&format!("LISTEN {}", super::db::CHANNEL)).map(|()| c))
            {
                Ok(c) => {
                    client = Some(c);
                    backoff = Duration::from_millis(50);
                    warned = false;
                    // Whatever was notified before (or while there was no connection) is lost:
                    // everyone looks once.
                    if let Some(hub) = hub.upgrade() {
                        hub.bump();
                    }
                    let _ = ready.try_send(());
                }
                Err(e) => {
                    if !warned {
                        warned = true;
                        tracing::warn!(
                            error = &e as &dyn std::error::Error,
                            "cannot listen for queue changes; retrying (the queue is polled meanwhile)"
                        );
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            continue;
        };
        let heard = c.notifications().timeout_iter(LIVENESS).next();
        match heard {
            Ok(Some(_)) => {
                // Take the others already here: one wake-up for them all.
                while let Ok(Some(_)) = c.notifications().iter().next() {}
                if let Some(hub) = hub.upgrade() {
                    hub.bump();
                }
            }
            Ok(None) if !c.is_closed() => {}
            Ok(None) | Err(_) => {
                tracing::warn!("the connection listening for queue changes dropped; connecting again");
                client = None;
            }
        }
    }
}

#[cfg(test)]
mod tests;
