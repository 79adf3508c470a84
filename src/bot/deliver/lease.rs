//! Who holds a delivery's lease, and whether it is gone. A lease names its process as
//! dispatchers are named (docs/architecture.md §2): host, boot id, pid and the pid's start
//! time. A lease whose owner is on this host and gone (its pid dead or reused, or the host
//! rebooted) is taken over at once; one of another host cannot be judged, so its lease is short
//! and renewed while its owner works.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::clock::Clock;
use crate::runner::proc;

/// How long a claimed item is its owner's without a renewal. Every action starts with at least
/// [`RENEW_BELOW`] of it left: an upload is three calls of at most 30 s each.
pub const LEASE: Duration = Duration::from_secs(120);
/// An action starting with less of the lease left renews it first.
pub const RENEW_BELOW: Duration = Duration::from_secs(100);

/// A lease owner: `host/boot_id/pid/pid_start/started_ms`. The last part tells two deliverers
/// of one process apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub boot_id: String,
    pub pid: i32,
    pub pid_start: u64,
    pub tag: i64,
}

impl Owner {
    /// This process, now.
    pub fn me(clock: &dyn Clock) -> Owner {
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        Owner {
            host: proc::hostname(),
            boot_id: proc::boot_id(),
            pid,
            pid_start: proc::process_start_time(pid).unwrap_or(0),
            tag: clock.now().as_millisecond(),
        }
    }

    /// An owner as stored; `None` for one this version does not write (an older ebmbot's:
    /// judged by its lease's end only).
    pub fn parse(text: &str) -> Option<Owner> {
        let mut parts = text.rsplitn(5, '/');
        let tag = parts.next()?.parse().ok()?;
        let pid_start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let boot_id = parts.next()?.to_owned();
        let host = parts.next()?.to_owned();
        Some(Owner { host, boot_id, pid, pid_start, tag })
    }

    /// Certainly gone: on this host, and its pid is dead or another process's, or the host has
    /// rebooted since. An owner on another host is never judged gone.
    pub fn is_gone(&self, host: &str, boot_id: &str) -> bool {
        if self.host != host {
            return false;
        }
        self.boot_id != boot_id || !proc::is_alive_as(self.pid, self.pid_start)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}/{}", self.host, self.boot_id, self.pid, self.pid_start, self.tag)
    }
}

/// Judges the owners of leases met in one round, each once.
pub struct Judge {
    me: String,
    host: String,
    boot_id: String,
    seen: HashMap<String, bool>,
}

impl Judge {
    pub fn new(me: &str) -> Judge {
        Judge { me: me.to_owned(), host: proc::hostname(), boot_id: proc::boot_id(), seen: HashMap::new() }
    }

    /// Whether the lease of `owner` may be taken over at once.
    pub fn is_gone(&mut self, owner: &str) -> bool {
        if owner == self.me {
            return false;
        }
        let (host, boot_id) = (&self.host, &self.boot_id);
        *self
            .seen
            .entry(owner.to_owned())
            .or_insert_with(|| Owner::parse(owner).is_some_and(|o| o.is_gone(host, boot_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn an_owner_reads_back_and_only_a_dead_local_one_is_gone() {
        let me = Owner::me(&SystemClock);
        assert_eq!(Owner::parse(&me.to_string()), Some(me.clone()));
        let (host, boot) = (proc::hostname(), proc::boot_id());
        assert!(!me.is_gone(&host, &boot), "this process is alive");
        let reused = Owner { pid_start: me.pid_start + 1, ..me.clone() };
        assert!(reused.is_gone(&host, &boot), "same pid, another start time");
        assert!(Owner { boot_id: "other-boot".into(), ..me.clone() }.is_gone(&host, &boot), "rebooted");
        let elsewhere = Owner { host: "other-host".into(), pid: 1, pid_start: 1, ..me.clone() };
        assert!(!elsewhere.is_gone(&host, &boot), "another host cannot be judged");
        assert_eq!(Owner::parse("host-a/12/1700000000"), None, "an older ebmbot's owner");
        let mut judge = Judge::new(&me.to_string());
        assert!(!judge.is_gone(&me.to_string()));
        assert!(judge.is_gone(&reused.to_string()));
    }
}
