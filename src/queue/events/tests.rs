use std::time::Duration;

use jiff::Timestamp;

use crate::queue::model::{EventKind, Origin};
use crate::queue::{Attempt, DeliveryItem, NewJob, NewReply, Options, Queue, StepOutcome, add_duration};

fn t(s: u64) -> Timestamp {
    add_duration(Timestamp::from_second(1_800_000_000).unwrap(), Duration::from_secs(s))
}

fn open() -> (crate::queue::testdb::Guard, Queue) {
    crate::queue::testdb::open(Options { announce_starts: true, ..Options::default() })
}

fn slack_job(value: &str) -> NewJob {
    NewJob {
        namespace: "t".into(),
        job: "echo".into(),
        args: [("value", value)].into_iter().collect(),
        delay: Duration::ZERO,
        origin: Origin::Slack {
            user: "U1".into(),
            channel: "C1".into(),
            channel_type: "channel".into(),
            thread_ts: Some("1.1".into()),
            message_ts: Some("1.1".into()),
        },
    }
}

#[test]
fn replies_and_events_come_out_in_creation_order() {
    let (_d, mut q) = open();
    let reply = NewReply { channel: "C1".into(), text: Some("queued".into()), ..NewReply::default() };
    q.add_reply(None, &reply, t(0)).unwrap();
    let job = q.schedule(&slack_job("a"), t(0)).unwrap().id;
    q.cancel_id(job, "U1", t(1), false).unwrap();
    let items = q.undelivered(10).unwrap();
    assert_eq!(items.len(), 2);
    assert!(matches!(items[0].item, DeliveryItem::Reply(_)));
    assert_eq!(items[1].event, Some((job, EventKind::Finished)));
    assert_eq!(q.delivery_status().unwrap().undelivered, 2);
}

#[test]
fn a_lease_keeps_others_out_until_it_runs_out() {
    let (_d, mut q) = open();
    let job = q.schedule(&slack_job("a"), t(0)).unwrap().id;
    q.cancel_id(job, "U1", t(0), false).unwrap();
    let item = q.undelivered(10).unwrap()[0].item;
    assert!(q.claim_delivery(item, "a", None, t(1), t(61)).unwrap());
    assert!(!q.claim_delivery(item, "b", None, t(2), t(62)).unwrap(), "leased by a");
    assert!(!q.claim_delivery(item, "b", Some("z"), t(2), t(62)).unwrap(), "z is gone, but a holds it");
    assert!(q.renew_delivery(item, "a", t(70)).unwrap());
    assert!(!q.claim_delivery(item, "b", None, t(61), t(121)).unwrap(), "a renewed its lease");
    assert!(q.claim_delivery(item, "b", Some("a"), t(2), t(62)).unwrap(), "a is gone: taken over at once");
    assert!(!q.renew_delivery(item, "a", t(80)).unwrap(), "no longer a's");
    assert!(q.claim_delivery(item, "b", None, t(62), t(121)).unwrap(), "b's own lease");

    q.record_step(item, 0, StepOutcome::Done, Some("9.9"), None, t(62), t(122)).unwrap();
    q.record_step(item, 0, StepOutcome::Failed, None, None, t(62), t(122)).unwrap();
    let steps = q.delivery_steps(item).unwrap();
    assert_eq!(steps.len(), 1, "a step is recorded once");
    assert_eq!((steps[0].outcome, steps[0].result.as_deref()), (StepOutcome::Done, Some("9.9")));

    q.retry_delivery(item, t(200), "ratelimited", Attempt::Transient).unwrap();
    assert_eq!(q.delivery_status().unwrap().last_error.as_deref(), Some("ratelimited"));
    assert!(!q.claim_delivery(item, "b", None, t(199), t(300)).unwrap(), "not due yet");
    assert!(q.claim_delivery(item, "c", None, t(200), t(300)).unwrap());
    q.retry_delivery(item, t(200), "msg_blocked", Attempt::Refused).unwrap();
    q.retry_delivery(item, t(200), "paused", Attempt::NotCounted).unwrap();
    let d = &q.undelivered(10).unwrap()[0];
    assert_eq!((d.attempts, d.refusals), (2, 1));
    q.delivered(item, t(201)).unwrap();
    assert!(q.undelivered(10).unwrap().is_empty());
    assert_eq!(q.delivery_status().unwrap().undelivered, 0);
}
