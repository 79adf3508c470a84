//! Firing timers against a real queue (SQLite here; PostgreSQL in the `pg` half) at chosen
//! instants: the clock is whatever `now` the test passes.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Catalog, Settings, Timer};
use crate::queue::model::{DispatcherId, EventKind, JobState, Origin};
use crate::queue::testdb::{Guard, open};
use crate::queue::{NewDispatcher, Options, Queue, TimerEntryKind};
use crate::runner::timers::fire_due;

const GRACE: Duration = Duration::from_secs(300);

fn timer(cron: &str, missed: &str) -> Timer {
    let text = format!(
        r##"
[op]
default_channel = "#op"
[op.jobs.import]
run_args_template = "echo {{days}}"
[[op.timers]]
name = "hourly"
job_type = "import"
cron = "{cron}"
timezone = "Europe/London"
params = {{ days = "7" }}
missed = "{missed}"
"##
    );
    let catalog = Catalog::from_str(&text, Path::new("jobs.toml"), &Settings::for_root(Path::new("/srv"))).unwrap();
    catalog.timers().next().unwrap().clone()
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn queue() -> (Guard, Queue) {
    open(Options { announce_starts: true, ..Options::default() })
}

fn dispatcher(q: &mut Queue) -> DispatcherId {
    let d = NewDispatcher {
        kind: "test".into(),
        host: "h".into(),
        boot_id: "b".into(),
        pid: 1,
        pid_start: 1,
        timezone: "UTC".into(),
        lease: std::time::Duration::from_secs(60),
    };
    q.register_dispatcher(&d, t("2026-03-02T08:00:00Z")).unwrap()
}

#[test]
fn a_timer_fires_from_when_it_is_first_seen_and_each_fire_time_once() {
    let (_g, mut q) = queue();
    let timer = timer("0 * * * *", "once");
    // First seen at 08:10: the 08:00 fire time before it is not owed.
    let first = fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    assert!(first.ran.is_empty());
    assert_eq!(first.next, Some(t("2026-03-02T09:00:00Z")));
    // 09:00:01: due, on time. Asked again (another dispatcher, or a second look): nothing more.
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T09:00:01Z")).unwrap();
    assert_eq!(fired.ran.len(), 1);
    assert_eq!(fired.ran[0].0, t("2026-03-02T09:00:00Z"));
    assert!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T09:00:02Z")).unwrap().ran.is_empty());
    let job = q.job(fired.ran[0].1).unwrap().unwrap();
    assert_eq!((job.namespace.as_str(), job.job.as_str()), ("op", "import"));
    assert_eq!(job.args.0.get("days").map(String::as_str), Some("7"));
    assert_eq!(
        job.requests[0].origin,
        Origin::Timer {
            namespace: "op".into(),
            timer: "hourly".into(),
            fire_at: "2026-03-02T09:00:00.000Z".into(),
            channel: Some("#op".into()),
        }
    );
    let state = q.timer_state("op", "hourly").unwrap();
    assert_eq!(
        state.last_fire.map(|e| (e.kind, e.at, e.job)),
        Some((TimerEntryKind::Ran, t("2026-03-02T09:00:00Z"), Some(fired.ran[0].1)))
    );
}

#[test]
fn missed_once_runs_one_job_for_a_downtime() {
    let (_g, mut q) = queue();
    let timer = timer("0 * * * *", "once");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    // Down from 08:10 to 12:20: 09:00, 10:00, 11:00 and 12:00 were missed (12:00 by 20 min).
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T12:20:00Z")).unwrap();
    assert_eq!(fired.ran.len(), 1, "{fired:?}");
    assert_eq!(fired.ran[0].0, t("2026-03-02T12:00:00Z"), "the latest stands for them all");
    assert_eq!(fired.skipped, None);
    assert_eq!(q.timer_state("op", "hourly").unwrap().last_fire.unwrap().covers, 4);
    assert!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T12:30:00Z")).unwrap().ran.is_empty());
    assert_eq!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T13:00:00Z")).unwrap().ran.len(), 1);
}

#[test]
fn missed_skip_runs_nothing_for_a_downtime_and_tells_the_logs_channel() {
    let (_g, mut q) = queue();
    let timer = timer("0 * * * *", "skip");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T12:20:00Z")).unwrap();
    assert!(fired.ran.is_empty(), "{fired:?}");
    assert_eq!(fired.skipped, Some((t("2026-03-02T12:00:00Z"), 4)));
    assert_eq!(q.count_in(JobState::Pending).unwrap(), 0);
    let pending = q.undelivered(10).unwrap();
    assert_eq!(pending.len(), 1);
    let (entry, kind) = pending[0].event.unwrap();
    assert_eq!(kind, EventKind::TimerSkipped);
    let entry = q.timer_entry(entry.0).unwrap().unwrap();
    assert_eq!((entry.kind, entry.at, entry.covers), (TimerEntryKind::Skipped, t("2026-03-02T12:00:00Z"), 4));
    // Its next fire time runs as usual, and a fire on time is not missed, even with `skip`:
    // a `dispatch --once` from cron a little after 13:00 fires it.
    assert_eq!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T13:00:40Z")).unwrap().ran.len(), 1);
}

#[test]
fn a_fire_on_time_after_missed_ones_is_the_one_run() {
    let (_g, mut q) = queue();
    let timer = timer("*/10 * * * *", "once");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:00:00Z")).unwrap();
    // 08:10 and 08:20 missed, 08:30 two minutes late: 08:30 runs, once.
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:32:00Z")).unwrap();
    assert_eq!(fired.ran.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [t("2026-03-02T08:30:00Z")]);
}

#[test]
fn a_long_downtime_of_a_frequent_timer_is_counted_without_walking_it_all() {
    let (_g, mut q) = queue();
    let timer = timer("* * * * * *", "skip");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:00:00Z")).unwrap();
    // A week of seconds later (604,800 fire times), within a moment.
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-09T08:00:00Z")).unwrap();
    let (latest, count) = fired.skipped.unwrap();
    assert_eq!(latest, t("2026-03-09T07:54:59Z"), "the last one more than the grace late");
    assert_eq!(count, crate::runner::timers::COUNT_LIMIT, "counted up to the limit");
    assert_eq!(fired.ran.len(), 301, "the last five minutes are on time, both ends included");
}

#[test]
fn a_paused_timer_fires_nothing_and_resumes_from_the_resume() {
    let (_g, mut q) = queue();
    let timer = timer("0 * * * *", "once");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    assert!(q.pause_timer("op", "hourly", "terminal:alice", t("2026-03-02T08:20:00Z")).unwrap());
    assert!(!q.pause_timer("op", "hourly", "terminal:alice", t("2026-03-02T08:21:00Z")).unwrap(), "already");
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T09:00:10Z")).unwrap();
    assert!(fired.paused && fired.ran.is_empty());
    assert_eq!(
        q.timer_state("op", "hourly").unwrap().paused,
        Some(("terminal:alice".into(), t("2026-03-02T08:20:00Z")))
    );
    assert!(q.resume_timer("op", "hourly", "U1", t("2026-03-02T10:30:00Z")).unwrap());
    // 09:00 and 10:00 fell due while paused: not missed, not run.
    assert!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T10:31:00Z")).unwrap().ran.is_empty());
    assert_eq!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T11:00:00Z")).unwrap().ran.len(), 1);
}

#[test]
fn a_timers_job_waits_for_a_suppression_like_any_other() {
    let (_g, mut q) = queue();
    let d = dispatcher(&mut q);
    let timer = timer("0 * * * *", "once");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    q.suppress("op_import", t("2026-03-02T08:30:00Z"), t("2026-03-02T09:30:00Z"), t("2026-03-02T08:30:00Z")).unwrap();
    let fired = fire_due(&mut q, &timer, GRACE, t("2026-03-02T09:00:00Z")).unwrap();
    let id = fired.ran[0].1;
    assert_eq!(q.claim(d, t("2026-03-02T09:00:00Z"), t("2026-03-02T09:00:00Z"), 8).unwrap(), None, "suppressed");
    assert_eq!(q.claim(d, t("2026-03-02T09:29:59Z"), t("2026-03-02T09:29:59Z"), 8).unwrap(), None);
    assert_eq!(q.claim(d, t("2026-03-02T09:30:00Z"), t("2026-03-02T09:30:00Z"), 8).unwrap().map(|j| j.id), Some(id));
}

#[test]
fn retention_keeps_each_timers_newest_entry() {
    let (_g, mut q) = queue();
    let timer = timer("0 * * * *", "once");
    fire_due(&mut q, &timer, GRACE, t("2026-03-02T08:10:00Z")).unwrap();
    for hour in 9..12 {
        fire_due(&mut q, &timer, GRACE, t(&format!("2026-03-02T{hour:02}:00:00Z"))).unwrap();
    }
    let pruned = q.prune(t("2026-04-01T00:00:00Z"), 100).unwrap();
    assert_eq!(pruned.timers, 3, "seen, 09:00 and 10:00");
    let state = q.timer_state("op", "hourly").unwrap();
    assert_eq!(state.since, Some(t("2026-03-02T11:00:00Z")), "fires still count from the last");
    assert_eq!(fire_due(&mut q, &timer, GRACE, t("2026-03-02T12:00:00Z")).unwrap().ran.len(), 1);
}
