//! Soak run (issue 5): 10,000 jobs with mixed outcomes through two `ebmbot dispatch`
//! processes on one database. Reports jobs per second, checks that every job ran exactly once,
//! and samples both dispatchers' memory and open file descriptors as they go.
//!
//! `benches/soak.sh` builds in release mode and runs it: `soak <path to ebmbot> [jobs]`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ebmbot::queue::model::{Args, JobState, Origin};
use ebmbot::queue::{ListFilter, NewJob, Options, Queue};
use jiff::Timestamp;

/// Job types: one job of a type runs at a time, so many types let both dispatchers work.
const TYPES: usize = 40;

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = PathBuf::from(args.next().expect("usage: soak <path to ebmbot> [jobs]")).canonicalize().expect("binary");
    let jobs: usize = args.next().map_or(10_000, |n| n.parse().expect("a number of jobs"));
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();

    // Outcomes by type: most succeed, some fail, a few are killed by their timeout.
    let mut toml = String::new();
    for t in 0..TYPES {
        let (body, timeout) = match t % 10 {
            8 => ("echo $EBMBOT_JOB_ID >> ../../ran; echo failing >&2; exit 3", "10s"),
            9 => ("echo $EBMBOT_JOB_ID >> ../../ran; sleep 5", "100ms"),
            _ => ("echo $EBMBOT_JOB_ID >> ../../ran; echo ok", "10s"),
        };
        writeln!(toml, "[soak.jobs.t{t}]\nrun_args_template = \"{body}; true {{n}}\"\ntimeout = \"{timeout}\"\n")
            .expect("write");
    }
    std::fs::write(root.join("jobs.toml"), toml).expect("jobs.toml");
    std::fs::create_dir_all(root.join("workspace/soak")).expect("workspace");

    let mut queue = Queue::open(&root.join("ebmbot.db"), Options::default()).expect("open");
    for i in 0..jobs {
        let job = NewJob {
            namespace: "soak".into(),
            job: format!("t{}", i % TYPES),
            args: Args([("n".to_owned(), i.to_string())].into_iter().collect()),
            delay: Duration::ZERO,
            origin: Origin::Terminal { user: "soak".into(), notify: None },
        };
        queue.schedule(&job, Timestamp::now()).expect("schedule");
    }

    let start = Instant::now();
    let mut dispatchers: Vec<Child> = (0..2).map(|_| spawn(&bin, root)).collect();
    let mut samples: Vec<[(u64, usize); 2]> = Vec::new();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        samples.push([usage(&dispatchers[0]), usage(&dispatchers[1])]);
        let left =
            queue.count_in(JobState::Pending).expect("count") + queue.count_in(JobState::Running).expect("count");
        if left == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1800), "soak did not finish");
    }
    let elapsed = start.elapsed().as_secs_f64();
    for d in &mut dispatchers {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(d.id()).expect("pid")),
            nix::sys::signal::Signal::SIGTERM,
        );
        let status = d.wait().expect("wait");
        assert!(status.success(), "a dispatcher failed: {status}");
    }

    let ran = std::fs::read_to_string(root.join("ran")).expect("ran");
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for line in ran.lines() {
        *counts.entry(line.parse().expect("an id")).or_default() += 1;
    }
    let twice = counts.values().filter(|n| **n > 1).count();
    let filter = ListFilter { all: true, since: Timestamp::MIN, limit: u32::MAX };
    let finished = queue.list(&filter).expect("list");
    let mut by_state: HashMap<JobState, usize> = HashMap::new();
    for job in &finished {
        *by_state.entry(job.state()).or_default() += 1;
    }

    println!("{jobs} jobs through 2 dispatchers in {elapsed:.1} s: {:.0} jobs/s", jobs as f64 / elapsed);
    println!("outcomes: {by_state:?}");
    println!("ran: {} distinct jobs, {} ran more than once, {} never ran", counts.len(), twice, jobs - counts.len());
    let (first, last) = (samples.first().expect("a sample"), samples.last().expect("a sample"));
    let peak_rss = samples.iter().flat_map(|s| s.iter().map(|(rss, _)| *rss)).max().unwrap_or(0);
    let peak_fds = samples.iter().flat_map(|s| s.iter().map(|(_, fds)| *fds)).max().unwrap_or(0);
    println!(
        "dispatcher RSS KiB / open fds: first sample {:?}, last sample {:?}, peak {peak_rss} KiB / {peak_fds} fds ({} samples)",
        first,
        last,
        samples.len()
    );
    assert_eq!(counts.len(), jobs, "every job ran");
    assert_eq!(twice, 0, "no job ran twice");
}

fn spawn(bin: &Path, root: &Path) -> Child {
    Command::new(bin)
        .arg("dispatch")
        .current_dir(root)
        .env("EBMBOT_MAX_JOBS", "8")
        .env("EBMBOT_KILL_GRACE", "200ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dispatch")
}

/// Resident memory (KiB) and open file descriptors of a process.
fn usage(child: &Child) -> (u64, usize) {
    let pid = child.id();
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
    (rss, fds)
}
