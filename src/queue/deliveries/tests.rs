//! The delivery log, job metrics and their retention.

use std::time::Duration;

use jiff::Timestamp;

use crate::queue::model::{DispatcherId, JobId, JobState, Origin, Outcome};
use crate::queue::{DeliveryOutcome, JobMetrics, NewDispatcher, NewJob, Options, Queue, WebhookDelivery};

fn open() -> (crate::queue::testdb::Guard, Queue) {
    crate::queue::testdb::open(Options::default())
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn job(name: &str, sha: &str) -> NewJob {
    NewJob {
        namespace: "app".into(),
        job: name.into(),
        args: [("sha", sha)].into_iter().collect(),
        delay: Duration::from_secs(60),
        origin: Origin::Github { delivery: "d1".into(), project: "app".into(), channel: None },
    }
}

fn delivery(id: &str) -> WebhookDelivery<'_> {
    WebhookDelivery { id, project: "app", event: "push", body_sha256: None }
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
fn a_delivery_schedules_once_even_after_its_job_finished() {
    let (_d, mut q) = open();
    let DeliveryOutcome::Scheduled(first) =
        q.schedule_delivery(delivery("d1"), &[job("build", "a"), job("test", "a")], t(0)).unwrap()
    else {
        panic!("not scheduled")
    };
    assert_eq!(first.len(), 2);
    let ids: Vec<JobId> = first.iter().map(|s| s.id).collect();
    assert_eq!(q.schedule_delivery(delivery("d1"), &[job("build", "a")], t(1)).unwrap(), {
        DeliveryOutcome::AlreadyHandled(ids.clone())
    });

    let d = dispatcher(&mut q);
    let claimed = q.claim(d, t(61), t(61), 8).unwrap().unwrap();
    q.finish(claimed.id, &Outcome::Succeeded, t(70)).unwrap();
    assert_eq!(q.schedule_delivery(delivery("d1"), &[job("build", "a")], t(80)).unwrap(), {
        DeliveryOutcome::AlreadyHandled(ids.clone())
    });
    assert_eq!(q.count_in(JobState::Pending).unwrap(), 1);
    assert_eq!(q.delivery_jobs("d1").unwrap(), ids);
    assert!(q.delivery_jobs("d2").unwrap().is_empty());
}

#[test]
fn two_deliveries_asking_for_the_same_job_share_it() {
    let (_d, mut q) = open();
    q.schedule_delivery(delivery("d1"), &[job("build", "a")], t(0)).unwrap();
    let DeliveryOutcome::Scheduled(second) = q.schedule_delivery(delivery("d2"), &[job("build", "a")], t(1)).unwrap()
    else {
        panic!("not scheduled")
    };
    assert!(second[0].merged);
    assert_eq!(q.delivery_jobs("d1").unwrap(), q.delivery_jobs("d2").unwrap());
    assert_eq!(q.job(second[0].id).unwrap().unwrap().requests.len(), 2);
}

#[test]
fn a_job_scheduled_into_a_suppression_gets_a_suppressed_event() {
    let (_d, mut q) = open();
    q.suppress("app_build", t(0), t(3600), t(0)).unwrap();
    let mut told = job("build", "a");
    told.origin = Origin::Github { delivery: "d1".into(), project: "app".into(), channel: Some("#deploys".into()) };
    let DeliveryOutcome::Scheduled(s) = q.schedule_delivery(delivery("d1"), &[told], t(0)).unwrap() else {
        panic!("not scheduled")
    };
    assert_eq!(s[0].suppressed_until, Some(t(3600)));
    let kinds: Vec<String> =
        q.db.rows("SELECT kind FROM events WHERE job_id = ?1", &[&s[0].id.0], |r| r.get(0)).unwrap();
    assert_eq!(kinds, ["suppressed"]);
    // Without a channel nobody would deliver it, so it is not written (the log says it instead).
    q.schedule_delivery(delivery("d2"), &[job("build", "b")], t(0)).unwrap();
    assert_eq!(q.delivery_status().unwrap().undelivered, 1);
}

#[test]
fn metrics_count_finished_jobs_and_survive_pruning() {
    let (_d, mut q) = open();
    let d = dispatcher(&mut q);
    for (i, outcome) in [Outcome::Succeeded, Outcome::Failed { exit_code: 3 }, Outcome::Succeeded].iter().enumerate() {
        let n = i64::try_from(i).unwrap();
        q.schedule(&job("build", &n.to_string()), t(0)).unwrap();
        let claimed = q.claim(d, t(100 + n), t(100 + n), 8).unwrap().unwrap();
        q.finish(claimed.id, outcome, t(100 + n + 2 * n)).unwrap();
    }
    q.schedule(&job("test", "x"), t(0)).unwrap();
    q.cancel_pending("app", "test", "alice", t(1)).unwrap();
    q.schedule(&job("build", "pending"), t(0)).unwrap();

    let check = |m: &JobMetrics| {
        let outcomes: Vec<(&str, JobState, u64)> =
            m.outcomes.iter().map(|o| (o.job_type.as_str(), o.outcome, o.count)).collect();
        assert_eq!(
            outcomes,
            [
                ("app_build", JobState::Failed, 1),
                ("app_build", JobState::Succeeded, 2),
                ("app_test", JobState::Cancelled, 1)
            ]
        );
        let h = &m.durations[0];
        assert_eq!((h.job_type.as_str(), h.count, h.sum_seconds), ("app_build", 3, 6.0));
        assert_eq!(h.buckets.first(), Some(&(0.1, 1)), "the first ran 0 s");
        assert_eq!(h.buckets.iter().find(|(le, _)| *le == 5.0), Some(&(5.0, 2)), "the others 2 s and 4 s");
        assert_eq!(h.buckets.iter().map(|(_, n)| n).sum::<u64>(), 3);
        assert_eq!(m.durations.len(), 1, "the cancelled job never ran");
    };
    let m = q.job_metrics().unwrap();
    check(&m);
    assert_eq!((m.pending, m.running), (1, 0));

    q.schedule_delivery(delivery("old"), &[job("deploy", "z")], t(0)).unwrap();
    let pruned = q.prune(t(100_000), 500).unwrap();
    assert_eq!((pruned.jobs, pruned.deliveries), (4, 1));
    assert!(q.delivery_jobs("old").unwrap().is_empty());
    check(&q.job_metrics().unwrap());
}

#[test]
fn a_replayed_body_schedules_nothing_in_its_project_only() {
    let (_d, mut q) = open();
    let body = |id, project| WebhookDelivery { id, project, event: "push", body_sha256: Some("abc123") };
    let DeliveryOutcome::Scheduled(first) = q.schedule_delivery(body("d1", "app"), &[job("build", "a")], t(0)).unwrap()
    else {
        panic!("not scheduled")
    };
    // The same body under another delivery id: a replay.
    assert_eq!(q.schedule_delivery(body("d2", "app"), &[job("build", "b")], t(1)).unwrap(), {
        DeliveryOutcome::Replayed { delivery: "d1".into(), jobs: vec![first[0].id] }
    });
    // The same body to another project: scheduled there.
    let mut other = job("build", "a");
    other.namespace = "site".into();
    assert!(matches!(q.schedule_delivery(body("d3", "site"), &[other], t(2)).unwrap(), DeliveryOutcome::Scheduled(_)));
    // A different body under a new id: scheduled.
    let fresh = WebhookDelivery { id: "d4", project: "app", event: "push", body_sha256: Some("def456") };
    assert!(matches!(q.schedule_delivery(fresh, &[job("build", "c")], t(3)).unwrap(), DeliveryOutcome::Scheduled(_)));
    // Once retention prunes the record, the body is forgotten with it.
    q.prune(t(10), 100).unwrap();
    assert!(matches!(
        q.schedule_delivery(body("d5", "app"), &[job("build", "d")], t(11)).unwrap(),
        DeliveryOutcome::Scheduled(_)
    ));
}
