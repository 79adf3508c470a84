use std::time::Duration;

use jiff::Timestamp;

use crate::queue::model::{Args, DispatcherId, JobState, Origin, Outcome};
use crate::queue::testdb::{Guard, open};
use crate::queue::timers::TimerEntryKind;
use crate::queue::transfer::{LineError, Record, VERSION};
use crate::queue::{DeliveryItem, NewDispatcher, NewJob, NewReply, Options, Queue, StepOutcome, WebhookDelivery};

fn t(s: i64) -> Timestamp {
    Timestamp::from_millisecond(1_800_000_000_000 + s * 1000 + 7).unwrap()
}

fn job(name: &str, delay: u64, origin: Origin) -> NewJob {
    NewJob {
        namespace: "ex".into(),
        job: "hello".into(),
        args: Args::from_iter([("name", name)]),
        delay: Duration::from_secs(delay),
        origin,
    }
}

fn terminal() -> Origin {
    Origin::Terminal { user: "alice".into(), notify: None }
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

/// A queue with one of everything an export carries, and a running job it does not.
fn busy_queue() -> (Guard, Queue) {
    let (guard, mut q) = open(Options::default());
    let slack = Origin::Terminal { user: "bob".into(), notify: Some("C1".into()) };
    let d = dispatcher(&mut q);
    // A job that finished with its Slack report undelivered, then one left running.
    q.schedule(&job("done", 0, slack.clone()), t(1)).unwrap();
    let done = q.claim(d, t(2), t(2), 8).unwrap().unwrap();
    q.set_process(done.id, "/logs/ex_hello/1", Some(42)).unwrap();
    q.finish(done.id, &Outcome::Failed { exit_code: 3 }, t(3)).unwrap();
    q.schedule(&job("running", 0, terminal()), t(4)).unwrap();
    q.claim(d, t(5), t(5), 8).unwrap().unwrap();
    // Pending: merged requests, a delay, a GitHub delivery.
    q.schedule(&job("Bob", 60, terminal()), t(6)).unwrap();
    q.schedule(&job("Bob", 90, slack), t(7)).unwrap();
    let delivery = WebhookDelivery { id: "d-1", project: "ex", event: "push", body_sha256: Some("ab12") };
    let hook = Origin::Github { delivery: "d-1".into(), project: "ex".into(), channel: None };
    q.schedule_delivery(delivery, &[job("hook", 0, hook)], t(8)).unwrap();
    q.suppress("ex_other", t(0), t(500), t(8)).unwrap();
    // Slack: a command not handled yet; a reply half delivered.
    q.store_slack_event("Ev1", "C1", "1.1", r#"{"event":{"user":"U1"}}"#, t(9)).unwrap();
    q.store_slack_event("Ev2", "C1", "1.2", r#"{"event":{"user":"U1"}}"#, t(9)).unwrap();
    let row = q.next_slack_event().unwrap().unwrap();
    q.finish_slack_event(row.id, &crate::queue::InboxOutcome::Handled, t(10)).unwrap();
    // A request waiting for its Confirm, and one answered (which stays behind).
    let ask = |message_ts: &str| crate::queue::Confirmation {
        id: 0,
        created_at: t(9),
        user: "U1".into(),
        channel: "C1".into(),
        thread_ts: None,
        message_ts: message_ts.into(),
        namespace: "ex".into(),
        job: "hello".into(),
        args: r#"[["name","Eve"]]"#.into(),
        delay_ms: 0,
        state: "pending".into(),
    };
    let confirm = q.add_confirmation(&ask("1.4")).unwrap();
    let answered = q.add_confirmation(&ask("1.5")).unwrap();
    q.resolve_confirmation(answered, "confirmed", t(10)).unwrap();
    // The reply names the pending Bob job (its Cancel), the confirmation and a re-post.
    let reply = NewReply {
        channel: "C1".into(),
        text: Some("hi".into()),
        reaction: Some("eyes".into()),
        repost_to: Some("CSUPPORT".into()),
        job: Some(3),
        confirm: Some(confirm),
        ..NewReply::default()
    };
    let id = q.add_reply(Some(row.id), &reply, t(10)).unwrap();
    let item = DeliveryItem::Reply(id);
    q.record_step(item, 0, StepOutcome::Done, Some("1.3"), None, t(11), t(20)).unwrap();
    q.retry_delivery(item, t(30), "rate limited", crate::queue::Attempt::Transient).unwrap();
    // A timer seen, fired once, then paused; another only seen.
    q.timer_seen("ex", "nightly", t(0)).unwrap();
    q.record_timer_fire("ex", "nightly", TimerEntryKind::Ran, t(2), 1, t(2)).unwrap().unwrap();
    q.pause_timer("ex", "nightly", "alice", t(11)).unwrap();
    q.timer_seen("ex", "hourly", t(1)).unwrap();
    // Support: an out-of-office period that holds; two channels, one read up to a message.
    let away =
        crate::queue::OutOfOffice { listener: "tech-support".into(), start: t(0), end: t(900), set_by: "U1".into() };
    q.set_out_of_office(&away, t(8)).unwrap();
    q.set_slack_channels(&["C1".to_owned(), "C2".to_owned()], t(9)).unwrap();
    q.set_channel_read("C1", "1800000005.000100", t(9)).unwrap();
    (guard, q)
}

fn body(records: &[Record]) -> Vec<String> {
    records.iter().filter(|r| !matches!(r, Record::Header(_))).map(Record::to_line).collect()
}

#[test]
fn an_export_imports_into_an_empty_queue_as_it_was_and_again_adds_nothing() {
    let (_a, source) = busy_queue();
    let export = source.export(t(12)).unwrap();
    assert_eq!(export.running.len(), 1, "the running job is named, not exported");
    let kinds: Vec<String> =
        export.records.iter().map(|r| serde_json::to_value(r).unwrap()["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        kinds,
        [
            "header",
            "job",
            "job",
            "job",
            "event",
            "event",
            "suppression",
            "slack_command",
            "slack_command",
            "slack_confirmation",
            "slack_reply",
            "timer",
            "timer",
            "timer",
            "out_of_office",
            "slack_channel",
            "slack_channel"
        ],
        "{:#?}",
        export.records
    );

    let (_b, mut target) = open(Options::default());
    let imported = target.import(&export.records).unwrap();
    assert_eq!((imported.jobs, imported.merged, imported.present, imported.events), (3, 0, 0, 2));
    assert!(imported.renumbered.is_empty());
    let again = target.export(t(12)).unwrap();
    assert_eq!(body(&again.records), body(&export.records));

    let twice = target.import(&export.records).unwrap();
    assert_eq!((twice.jobs, twice.merged, twice.present, twice.requests, twice.events), (0, 0, 3, 0, 0));
    assert_eq!((twice.suppressions, twice.slack_commands, twice.slack_replies, twice.timers), (0, 0, 0, 0));
    assert_eq!((imported.out_of_office, imported.slack_channels), (1, 2));
    assert_eq!((imported.slack_confirmations, twice.slack_confirmations), (1, 0));
    let waiting = target.confirmation(1).unwrap().unwrap();
    assert_eq!((waiting.message_ts.as_str(), waiting.state.as_str()), ("1.4", "pending"));
    assert_eq!((twice.out_of_office, twice.slack_channels), (0, 0));
    assert_eq!(target.out_of_office(t(12)).unwrap(), source.out_of_office(t(12)).unwrap());
    assert_eq!(target.slack_channels().unwrap(), source.slack_channels().unwrap());
    // The timers' state came along (row ids aside): their next fires and the pause hold.
    let state = |q: &Queue, timer: &str| {
        let mut state = q.timer_state("ex", timer).unwrap();
        state.last_fire.iter_mut().for_each(|f| f.id = 0);
        state
    };
    for timer in ["nightly", "hourly"] {
        assert_eq!(state(&target, timer), state(&source, timer), "{timer}");
    }
    assert!(state(&target, "nightly").paused.is_some());
    assert_eq!(body(&target.export(t(12)).unwrap().records), body(&export.records), "nothing doubled");

    // The imported queue works: the pending jobs run in the new one, new ids come after.
    let d = dispatcher(&mut target);
    let next = target.schedule(&job("new", 0, terminal()), t(13)).unwrap();
    assert_eq!(next.id.0, 5, "after the highest imported id");
    let claimed = target.claim(d, t(14), t(14), 8).unwrap().unwrap();
    assert_eq!(claimed.args, Args::from_iter([("name", "hook")]));
    assert_eq!(target.delivery_jobs("d-1").unwrap(), [claimed.id], "the delivery record came along");
}

#[test]
fn a_pending_job_joins_an_identical_one_and_a_taken_id_is_renumbered() {
    let (_a, source) = busy_queue();
    let export = source.export(t(12)).unwrap();
    let (_b, mut target) = open(Options::default());
    // Job 3 here is another job; an identical pending `Bob` was asked for earlier.
    for name in ["x", "y", "z"] {
        target.schedule(&job(name, 0, terminal()), t(0)).unwrap();
    }
    let bob = target.schedule(&job("Bob", 5, terminal()), t(1)).unwrap();
    let imported = target.import(&export.records).unwrap();
    assert_eq!((imported.jobs, imported.merged), (2, 1), "{imported:?}");
    let bob = target.job(bob.id).unwrap().unwrap();
    assert_eq!(bob.requests.len(), 3, "its own request and the two from the file");
    assert_eq!(
        bob.start_after,
        crate::queue::add_duration(t(7), Duration::from_secs(90)),
        "the newest request's start"
    );
    assert_eq!(target.count_in(JobState::Pending).unwrap(), 5);
    assert!(imported.renumbered.iter().all(|(from, to)| from != to));
    // The reply's Cancel names the job it joined here.
    let replies: Vec<_> = target
        .export(t(12))
        .unwrap()
        .records
        .into_iter()
        .filter_map(|r| if let Record::SlackReply(r) = r { Some(r) } else { None })
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!((replies[0].job, replies[0].repost_to.as_deref()), (Some(bob.id.0), Some("CSUPPORT")));
}

#[test]
fn lines_carry_their_version_and_kind_and_unknown_ones_are_refused() {
    let (_a, q) = busy_queue();
    let records = q.export(t(12)).unwrap().records;
    for (i, record) in records.iter().enumerate() {
        let line = record.to_line();
        assert!(line.starts_with(&format!(r#"{{"version":{VERSION},"kind":""#)), "{line}");
        assert_eq!(&Record::from_line(&line, i == 0).unwrap(), record);
    }
    let job = records[1].to_line();
    assert!(matches!(Record::from_line(&job, true), Err(LineError::NoHeader(_))));
    let v2 = job.replacen(r#""version":1"#, r#""version":2"#, 1);
    assert!(matches!(Record::from_line(&v2, false), Err(LineError::Version { .. })));
    let widget = r#"{"version":1,"kind":"widget","name":"nightly"}"#;
    assert!(matches!(Record::from_line(widget, false), Err(LineError::UnknownKind(k)) if k == "widget"));
    let extra = job.replacen(r#""kind":"job","#, r#""kind":"job","colour":"red","#, 1);
    assert!(Record::from_line(&extra, false).unwrap_err().to_string().contains("colour"));
}
