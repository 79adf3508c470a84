use std::time::Duration;

use jiff::Timestamp;

use crate::queue::model::*;
use crate::queue::*;

fn open() -> (crate::queue::testdb::Guard, Queue) {
    crate::queue::testdb::open(Options::default())
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn req(job: &str, name: &str, delay: u64) -> NewJob {
    NewJob {
        namespace: "example".into(),
        job: job.into(),
        args: [("name", name)].into_iter().collect(),
        delay: Duration::from_secs(delay),
        origin: Origin::Terminal { user: "alice".into(), notify: None },
    }
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
    q.register_dispatcher(&d, t(0)).unwrap()
}

#[test]
fn identical_pending_requests_merge_and_move_the_start() {
    let (_d, mut q) = open();
    let a = q.schedule(&req("hello", "Bob", 10), t(0)).unwrap();
    let b = q.schedule(&req("hello", "Bob", 5), t(2)).unwrap();
    let c = q.schedule(&req("hello", "Ann", 0), t(2)).unwrap();
    assert!(!a.merged && b.merged && !c.merged);
    assert_eq!(a.id, b.id);
    assert_eq!(b.start_after, t(7));
    let job = q.job(a.id).unwrap().unwrap();
    assert_eq!(job.requests.len(), 2);
    assert_eq!(job.start_after, t(7));
}

#[test]
fn claims_in_order_one_per_type_within_the_cap() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    let first = q.schedule(&req("hello", "Bob", 0), t(0)).unwrap().id;
    let second = q.schedule(&req("hello", "Ann", 0), t(0)).unwrap().id;
    let other = q.schedule(&req("greet", "Bob", 0), t(0)).unwrap().id;
    let later = q.schedule(&req("fail", "x", 60), t(0)).unwrap().id;

    assert_eq!(q.claim(d, t(1), t(1), 1).unwrap().unwrap().id, first);
    assert_eq!(q.claim(d, t(1), t(1), 1).unwrap(), None, "cap of one");
    assert_eq!(q.claim(d, t(1), t(1), 8).unwrap().unwrap().id, other, "hello is busy");
    assert_eq!(q.claim(d, t(1), t(1), 8).unwrap(), None, "second hello waits; fail is not due");
    assert_eq!(q.next_wakeup(t(1)).unwrap(), Some(t(60)));

    let done = q.finish(first, &Outcome::Succeeded, t(2)).unwrap().unwrap();
    assert_eq!(done.status.outcome(), Some(&Outcome::Succeeded));
    assert_eq!(q.finish(first, &Outcome::Succeeded, t(2)).unwrap(), None, "finishes once");
    assert_eq!(q.claim(d, t(3), t(3), 8).unwrap().unwrap().id, second);
    assert_eq!(q.claim(d, t(61), t(61), 8).unwrap().unwrap().id, later);
}

#[test]
fn suppression_holds_jobs_until_the_window_ends() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    q.suppress("example_hello", t(0), t(100), t(0)).unwrap();
    q.suppress("example_hello", t(100), t(200), t(0)).unwrap();
    let s = q.schedule(&req("hello", "Bob", 0), t(10)).unwrap();
    assert_eq!(s.suppressed_until, Some(t(200)));
    assert_eq!(q.claim(d, t(150), t(150), 8).unwrap(), None);
    assert_eq!(q.claim(d, t(200), t(200), 8).unwrap().unwrap().id, s.id);
    assert_eq!(q.unsuppress("example_hello", t(300)).unwrap(), 0);
}

#[test]
fn cancel_by_id_and_by_type() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    let running = q.schedule(&req("hello", "Bob", 0), t(0)).unwrap().id;
    q.claim(d, t(0), t(0), 8).unwrap();
    let pending = q.schedule(&req("hello", "Ann", 0), t(0)).unwrap().id;
    let other = q.schedule(&req("hello", "Cy", 0), t(0)).unwrap().id;

    assert!(
        matches!(q.cancel_id(pending, "alice", t(1), false).unwrap(), CancelById::Cancelled(j) if j.state() == JobState::Cancelled)
    );
    assert!(matches!(q.cancel_id(pending, "alice", t(1), false).unwrap(), CancelById::AlreadyFinished(_)));
    assert!(matches!(q.cancel_id(JobId(999), "alice", t(1), false).unwrap(), CancelById::NotFound));
    assert!(matches!(q.cancel_id(running, "bob", t(1), true).unwrap(), CancelById::Running(_)));
    assert!(matches!(q.cancel_id(running, "bob", t(1), false).unwrap(), CancelById::StopRequested(_)));
    assert_eq!(q.stop_requests(d).unwrap(), vec![(running, "bob".to_owned())]);

    let c = q.cancel_pending("example", "hello", "alice", t(2)).unwrap();
    assert_eq!(c.ids, vec![other]);
    assert_eq!(c.running, Some(running));
}

#[test]
fn start_now_waits_for_the_type_and_never_merges() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    let a = q.start_now(&req("hello", "Bob", 0), d, t(0), 8, false).unwrap().unwrap();
    assert_eq!(a.state(), JobState::Running);
    assert_eq!(q.start_now(&req("hello", "Bob", 0), d, t(0), 8, false).unwrap(), Err(Busy::TypeRunning(a.id)));
    q.suppress("example_greet", t(0), t(10), t(0)).unwrap();
    assert_eq!(q.start_now(&req("greet", "x", 0), d, t(1), 8, false).unwrap(), Err(Busy::Suppressed(t(10))));
    assert!(q.start_now(&req("greet", "x", 0), d, t(1), 8, true).unwrap().is_ok());
    assert_eq!(q.start_now(&req("fail", "x", 0), d, t(1), 2, false).unwrap(), Err(Busy::AtCapacity));
}

#[test]
fn list_and_prune() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    for i in 0..5 {
        q.schedule(&req("hello", &i.to_string(), 0), t(0)).unwrap();
        let job = q.claim(d, t(0), t(0), 8).unwrap().unwrap();
        q.finish(job.id, &Outcome::Failed { exit_code: 3 }, t(i)).unwrap();
    }
    q.schedule(&req("hello", "pending", 0), t(0)).unwrap();
    let active = ListFilter { all: false, since: t(0), limit: 200 };
    assert_eq!(q.list(&active).unwrap().len(), 1);
    let all = ListFilter { all: true, since: t(2), limit: 200 };
    let jobs = q.list(&all).unwrap();
    assert_eq!(jobs.len(), 4);
    assert!(jobs.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(jobs[0].requests.len(), 1);

    let pruned = q.prune(t(3), 100).unwrap();
    assert_eq!(pruned.jobs, 3);
    assert!(q.was_pruned(JobId(1)).unwrap());
    assert!(!q.was_pruned(JobId(6)).unwrap());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(Queue::open(&path, Options::default()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(Queue::open(&path, Options::default()), Err(QueueError::TooNew { found: 99, .. })));
}

#[test]
fn missing_directory_names_the_path() {
    let err = Queue::open(std::path::Path::new("/nonexistent/dir/q.db"), Options::default()).err().unwrap();
    assert!(err.to_string().contains("/nonexistent/dir"), "{err}");
}

/// Claims that race: eight connections claim at once with room for three; one running job per
/// type and the cap hold, and no job is claimed twice (on PostgreSQL through `SKIP LOCKED` and
/// the advisory lock).
#[test]
fn racing_claims_keep_the_cap_and_one_running_job_per_type() {
    let (_d, mut q) = open();
    for (job, name) in [("a", "1"), ("a", "2"), ("b", "1"), ("c", "1"), ("d", "1"), ("e", "1")] {
        q.schedule(&req(job, name, 0), t(0)).unwrap();
    }
    let at = q.at.clone();
    let claimed: Vec<JobId> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let at = at.clone();
                s.spawn(move || {
                    let mut q = Queue::open(at, Options::default()).unwrap();
                    let me = dispatcher(&mut q);
                    q.claim(me, t(1), t(1), 3).unwrap().map(|j| j.id)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(claimed.len(), 3, "the cap: {claimed:?}");
    let running = q.jobs_in(JobState::Running).unwrap();
    assert_eq!(running.len(), 3);
    let mut types: Vec<String> = running.iter().map(|j| j.job_type().to_string()).collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 3, "one running job per type: {types:?}");
}

/// Identical requests that race merge into one pending job.
#[test]
fn racing_identical_requests_merge_into_one_job() {
    let (_d, q) = open();
    let at = q.at.clone();
    let ids: Vec<JobId> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let at = at.clone();
                s.spawn(move || {
                    let mut q = Queue::open(at, Options::default()).unwrap();
                    q.schedule(&req("hello", "Bob", 0), t(0)).unwrap().id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let job = q.job(ids[0]).unwrap().unwrap();
    assert_eq!(job.requests.len(), 6);
}

#[test]
fn support_state_reposts_once_keeps_one_period_per_listener_and_is_pruned() {
    let (_d, mut q) = open();
    assert!(q.record_repost("tech-support", "C1", "1.1", t(0)).unwrap());
    assert!(!q.record_repost("tech-support", "C1", "1.1", t(5)).unwrap(), "once per message");
    assert!(q.record_repost("bennett-admins", "C1", "1.1", t(5)).unwrap(), "per listener");
    let period = |start: i64, end: i64| OutOfOffice {
        listener: "tech-support".into(),
        start: t(start),
        end: t(end),
        set_by: "terminal:alice".into(),
    };
    q.set_out_of_office(&period(10, 100), t(0)).unwrap();
    q.set_out_of_office(&period(20, 200), t(0)).unwrap();
    assert_eq!(q.out_of_office(t(0)).unwrap(), [period(20, 200)], "a new period replaces the old one");
    assert!(q.out_of_office(t(0)).unwrap()[0].holds(t(20)) && !q.out_of_office(t(0)).unwrap()[0].holds(t(200)));
    assert!(q.clear_out_of_office("tech-support", t(30)).unwrap());
    assert!(!q.clear_out_of_office("tech-support", t(30)).unwrap());
    q.set_slack_channels(&["C1".into(), "C2".into()], t(0)).unwrap();
    q.set_channel_read("C1", "10.000002", t(1)).unwrap();
    q.set_channel_read("C1", "9.9", t(2)).unwrap();
    q.set_slack_channels(&["C1".into(), "C3".into()], t(3)).unwrap();
    assert_eq!(q.slack_channels().unwrap(), [("C1".into(), Some("10.000002".into())), ("C3".into(), None)]);
    assert_eq!(q.channels_heard().unwrap(), ChannelsHeard { channels: 2, listed_at: Some(t(3)) });
    q.set_out_of_office(&period(0, 50), t(0)).unwrap();
    // Re-posts made before t(1) (one), channel rows listed before t(1) (none: listed at t(3)),
    // periods ended by t(60) (one).
    assert_eq!(q.prune_support(t(1), t(60)).unwrap(), 2);
    assert_eq!(q.prune_support(t(4), t(60)).unwrap(), 2, "the channel rows not listed since");
    assert!(q.record_repost("tech-support", "C1", "1.1", t(70)).unwrap(), "the record is gone");
    assert!(q.out_of_office(t(0)).unwrap().is_empty());
    assert!(ts_order("9.9") < ts_order("10.000002"));
}

#[test]
fn one_deliverer_at_a_time_makes_progress_updates_and_another_takes_over_after_its_lease() {
    let (_g, mut q) = open();
    assert!(q.claim_progress("a", t(0), t(30)).unwrap());
    assert!(!q.claim_progress("b", t(10), t(40)).unwrap(), "a holds it");
    assert!(q.claim_progress("a", t(10), t(40)).unwrap(), "a renews");
    assert!(!q.claim_progress("b", t(39), t(69)).unwrap(), "until a's lease ends");
    assert!(q.claim_progress("b", t(40), t(70)).unwrap(), "a stopped renewing: b takes over");
    assert!(!q.claim_progress("a", t(41), t(71)).unwrap(), "a comes back and waits");
    q.release_progress("a").unwrap();
    assert!(!q.claim_progress("a", t(42), t(72)).unwrap(), "releasing what it does not hold changes nothing");
    q.release_progress("b").unwrap();
    assert!(q.claim_progress("a", t(43), t(73)).unwrap(), "b stopped and gave it up: a at once");
    q.release_progress("a").unwrap();
    assert!(q.claim_progress("b", t(44), t(74)).unwrap());
    assert_eq!(q.prune_slack(t(74)).unwrap(), 0, "b's lease has not ended");
    assert_eq!(q.prune_slack(t(75)).unwrap(), 1, "an ended lease goes with retention");
    assert!(q.claim_progress("a", t(76), t(106)).unwrap());
}
