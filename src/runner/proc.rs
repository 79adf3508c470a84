//! Linux process identity from `/proc` (docs/architecture.md §2, "lost"): the boot id, a process's start time (so a
//! reused pid is not mistaken for the process we knew), the members of a process group that
//! carry a given environment variable, and stopping a group (TERM, grace, KILL).

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The kernel's boot id (`/proc/sys/kernel/random/boot_id`), or an empty string when it cannot
/// be read (then two unreadable ids compare equal and only the pid check counts).
/// This host's name in the queue, as dispatchers and leases record it: `EBMBOT_HOST_ID`
/// (checked by `Settings`), else the machine's hostname. Read once.
pub fn hostname() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::env::var("EBMBOT_HOST_ID").ok().filter(|h| !h.is_empty()).unwrap_or_else(crate::config::machine_hostname)
    })
    .clone()
}

pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The start time of `pid` in clock ticks since boot (field 22 of `/proc/<pid>/stat`), or
/// `None` when there is no such process.
pub fn process_start_time(pid: i32) -> Option<u64> {
    read_stat(pid)?.start_time()
}

/// True when `pid` is a live (not zombie) process that started at `start_time`: the same process,
/// not another one that reuses its pid.
pub fn is_alive_as(pid: i32, start_time: u64) -> bool {
    read_stat(pid).is_some_and(|stat| stat.is_live() && stat.start_time() == Some(start_time))
}

/// True when `pid` is a process that has not exited (zombies count as exited).
pub fn is_alive(pid: i32) -> bool {
    read_stat(pid).is_some_and(|stat| stat.is_live())
}

/// The processes of group `pgid` (field 5 of their stat) whose environment holds `key=value`,
/// in pid order. Processes that vanish or cannot be read while we look are skipped.
pub fn group_members_with_env(pgid: i32, key: &str, value: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let wanted = format!("{key}={value}");
    let mut pids: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| read_stat(pid).and_then(|s| s.pgid()) == Some(pgid))
        .filter(|&pid| environ_contains(pid, wanted.as_bytes()))
        .collect();
    pids.sort_unstable();
    pids
}

/// Stops process group `pgid`: SIGTERM, then up to `grace` for every member to exit, then
/// SIGKILL. Returns at once when the group does not exist.
pub fn stop_group(pgid: i32, grace: Duration) {
    let group = Pid::from_raw(pgid);
    if killpg(group, Signal::SIGTERM) == Err(Errno::ESRCH) {
        return;
    }
    let deadline = Instant::now() + grace;
    // Members need not be our children, so there is nothing to wait on: poll briefly.
    let mut pause = Duration::from_millis(5);
    while group_exists(pgid) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_tree(pgid);
            return;
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Every descendant of `pid` (its children, theirs, and so on), from the parent links in
/// `/proc`, in any session or process group. Processes that vanish while we look are skipped.
pub fn descendants(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: std::collections::HashMap<i32, Vec<i32>> = std::collections::HashMap::new();
    for child in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        if let Some(parent) = read_stat(child).and_then(|s| s.ppid()) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![pid];
    while let Some(parent) = next.pop() {
        for &child in children.get(&parent).into_iter().flatten() {
            if child != pid && !found.contains(&child) {
                found.push(child);
                next.push(child);
            }
        }
    }
    found
}

/// Stops everything under a job's stuck or stopped reaper: SIGSTOP to `leader`, SIGKILL to its
/// live descendants (in any session or group), then SIGKILL to its group. The tree is walked only
/// while `leader` still leads its group (so its pid cannot have been reused), and again while
/// anything under it is alive (one may be forking), a few times at most.
pub fn kill_tree(leader: i32) {
    let leads = || read_stat(leader).and_then(|s| s.pgid()) == Some(leader);
    // Frozen first, so that it cannot act on its children's deaths (a shell would go on to its
    // next command) before its own SIGKILL.
    if leads() {
        let _ = nix::sys::signal::kill(Pid::from_raw(leader), Signal::SIGSTOP);
    }
    for _ in 0..10 {
        if !leads() {
            break;
        }
        let alive: Vec<i32> = descendants(leader).into_iter().filter(|&pid| is_alive(pid)).collect();
        if alive.is_empty() {
            break;
        }
        for pid in alive {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
}

/// True while any process (zombies included) belongs to group `pgid`.
pub fn group_exists(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), None) != Err(Errno::ESRCH)
}

fn environ_contains(pid: i32, wanted: &[u8]) -> bool {
    std::fs::read(Path::new("/proc").join(pid.to_string()).join("environ"))
        .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == wanted))
}

fn read_stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Stat::parse(&text)
}

/// The fields of `/proc/<pid>/stat` after the command name.
#[derive(Debug)]
struct Stat(Vec<String>);

impl Stat {
    /// The command name (field 2) is in parentheses and may itself contain spaces and
    /// parentheses, so the fields start after the *last* `)`.
    fn parse(text: &str) -> Option<Stat> {
        let rest = &text[text.rfind(')')? + 1..];
        Some(Stat(rest.split_whitespace().map(str::to_owned).collect()))
    }

    /// Field `n` of stat, counting from 1 as `proc(5)` does (`n >= 3`).
    fn field(&self, n: usize) -> Option<&str> {
        self.0.get(n.checked_sub(3)?).map(String::as_str)
    }

    fn is_live(&self) -> bool {
        !matches!(self.field(3), Some("Z" | "X" | "x") | None)
    }

    fn ppid(&self) -> Option<i32> {
        self.field(4)?.parse().ok()
    }

    fn pgid(&self) -> Option<i32> {
        self.field(5)?.parse().ok()
    }

    fn start_time(&self) -> Option<u64> {
        self.field(22)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Stdio};

    #[test]
    fn parses_stat_with_hostile_command_names() {
        let tail = (4..=22).map(|n| n.to_string()).collect::<Vec<_>>().join(" ");
        let stat = Stat::parse(&format!("77 (a) (b c)) S {tail} 23 24\n")).unwrap();
        assert_eq!(stat.field(3), Some("S"));
        assert_eq!(stat.ppid(), Some(4));
        assert_eq!(stat.pgid(), Some(5));
        assert_eq!(stat.start_time(), Some(22));
        assert!(stat.is_live());
        assert!(!Stat::parse("77 (x) Z 1 2").unwrap().is_live());
        assert!(Stat::parse("garbage").is_none());
    }

    #[test]
    fn identifies_the_current_process() {
        let me = i32::try_from(std::process::id()).unwrap();
        let start = process_start_time(me).unwrap();
        assert!(is_alive_as(me, start));
        assert!(!is_alive_as(me, start + 1));
        assert_eq!(boot_id().len(), 36, "a UUID");
        assert_eq!(boot_id(), boot_id());
    }

    #[test]
    fn descendants_include_grandchildren_in_other_sessions() {
        let mut child = Command::new("bash")
            .args(["-c", "setsid sleep 30 & echo $!; sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        let shell = i32::try_from(child.id()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The shell's own `sleep` may not have started yet: wait for the two we know of.
        while !(descendants(me).contains(&shell) && descendants(me).contains(&grandchild)) {
            assert!(Instant::now() < deadline, "{:?}", descendants(me));
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!descendants(shell).contains(&shell) && !descendants(me).contains(&me));
        for pid in descendants(shell) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = nix::sys::signal::kill(Pid::from_raw(grandchild), Signal::SIGKILL);
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn finds_group_members_by_env_and_stops_the_group() {
        // The shell ignores TERM, and so does the sleep it runs: only KILL stops them.
        let mut child = Command::new("bash")
            .args(["-c", "trap '' TERM; echo ready; sleep 30; true"])
            .env("EBMBOT_JOB_ID", "424242")
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = i32::try_from(child.id()).unwrap();
        // Once it speaks, bash has exec'd: its stat and environ are its own.
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert!(is_alive(pgid));
        assert_eq!(group_members_with_env(pgid, "EBMBOT_JOB_ID", "424242").first(), Some(&pgid));
        assert!(group_members_with_env(pgid, "EBMBOT_JOB_ID", "4242").is_empty());
        assert!(group_members_with_env(pgid + 1_000_000, "EBMBOT_JOB_ID", "424242").is_empty());

        let started = Instant::now();
        stop_group(pgid, Duration::from_millis(200));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(child.wait().unwrap().signal(), Some(9));
    }
}
