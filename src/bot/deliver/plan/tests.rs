use std::path::Path;

use super::*;
use crate::bot::deliver::format::tests::job;
use crate::queue::model::{Origin, Request};

const JOBS: &str = r#"
[t]
[t.jobs.fail]
run_args_template = "exit 1"
[t.jobs.quiet]
run_args_template = "true"
call_tech_support_on_error = false
"#;

fn setup() -> (Settings, Catalog) {
    let mut s = Settings::for_root(Path::new("/srv"));
    s.slack_logs_channel = Some("CLOGS".into());
    s.slack_tech_support_channel = Some("#tech-support".into());
    let catalog = Catalog::from_str(JOBS, Path::new("/srv/jobs.toml"), &s).unwrap();
    (s, catalog)
}

fn slack(channel: &str, channel_type: &str, ts: &str) -> Origin {
    Origin::Slack {
        user: "U1".into(),
        channel: channel.into(),
        channel_type: channel_type.into(),
        thread_ts: (channel_type != "im").then(|| ts.to_owned()),
        message_ts: Some(ts.into()),
    }
}

fn with(mut j: Job, origins: Vec<Origin>) -> Input {
    j.requests = origins
        .into_iter()
        .enumerate()
        .map(|(i, origin)| Request { id: i as i64, created_at: j.created_at, origin })
        .collect();
    Input::Event { kind: EventKind::Finished, job: Box::new(j), suppressed_until: None, live: Vec::new() }
}

fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            // A message with buttons is a post (the buttons are checked on their own).
            Action::Post { to, .. } | Action::Buttons { to, .. } => format!("post {}", to.channel),
            Action::React { ts, name, .. } => format!("react {name} {ts}"),
            Action::Update { channel, ts, .. } => format!("update {ts} in {channel}"),
            Action::Permalink { of_step, to, .. } => format!("permalink of {of_step} to {}", to.channel),
            Action::Upload { to, .. } => format!("upload {}", to.channel),
            Action::Blocks { to, .. } => format!("blocks {}", to.channel),
            Action::Repost { ts, to, .. } => format!("repost {ts} to {}", to.channel),
        })
        .collect()
}

#[test]
fn a_failure_from_a_public_channel_is_reposted_as_a_permalink() {
    let (s, c) = setup();
    let input = with(job(JobState::Failed), vec![slack("C1", "channel", "1.1"), slack("D1", "im", "2.2")]);
    let actions = plan(&input, &s, &c);
    assert_eq!(
        names(&actions),
        ["post C1", "react x 1.1", "post D1", "react x 2.2", "permalink of 0 to #tech-support"]
    );
    let threads = threads(&input, &s);
    assert!(threads.contains(&Target { channel: "#tech-support".into(), thread_ts: None }));
}

#[test]
fn only_dms_and_private_channels_are_never_reposted_other_origins_send_the_text() {
    let (s, c) = setup();
    let private = with(job(JobState::Failed), vec![slack("D1", "im", "2.2"), slack("G1", "group", "3.3")]);
    assert_eq!(names(&plan(&private, &s, &c)), ["post D1", "react x 2.2", "post G1", "react x 3.3"]);
    let github = Origin::Github { delivery: "d1".into(), project: "t".into(), channel: Some("#deploys".into()) };
    let from_web = with(job(JobState::TimedOut), vec![github]);
    assert_eq!(names(&plan(&from_web, &s, &c)), ["post #deploys", "post #tech-support"]);
    let mut quiet = job(JobState::Failed);
    quiet.job = "quiet".into();
    let opted_out = with(quiet, vec![slack("C1", "channel", "1.1")]);
    assert_eq!(names(&plan(&opted_out, &s, &c)), ["post C1", "react x 1.1"], "call_tech_support_on_error = false");
    let cancelled = with(job(JobState::Cancelled), vec![slack("C1", "channel", "1.1")]);
    assert_eq!(names(&plan(&cancelled, &s, &c)), ["post C1", "react no_entry_sign 1.1"], "no tech support");
}

#[test]
fn the_same_thread_hears_once_and_terminal_jobs_without_a_channel_hear_nothing() {
    let (s, c) = setup();
    let twice = with(job(JobState::Failed), vec![slack("C1", "channel", "1.1"), slack("C1", "channel", "1.1")]);
    assert_eq!(names(&plan(&twice, &s, &c)), ["post C1", "react x 1.1", "permalink of 0 to #tech-support"]);
    let terminal = with(job(JobState::Failed), vec![Origin::Terminal { user: "me".into(), notify: None }]);
    assert!(plan(&terminal, &s, &c).is_empty());
}

#[test]
fn starts_go_to_the_logs_channel_and_suppressions_to_the_requesters() {
    let (mut s, c) = setup();
    let Input::Event { job, .. } = with(job(JobState::Running), vec![slack("C1", "channel", "1.1")]) else {
        unreachable!()
    };
    let started = Input::Event { kind: EventKind::Started, job: job.clone(), suppressed_until: None, live: Vec::new() };
    assert_eq!(names(&plan(&started, &s, &c)), ["post CLOGS"]);
    let until = Some("2026-01-01 10:00:00 UTC".to_owned());
    let suppressed = Input::Event { kind: EventKind::Suppressed, job, suppressed_until: until, live: Vec::new() };
    let actions = plan(&suppressed, &s, &c);
    assert!(matches!(&actions[..], [Action::Post { text, .. }] if text.contains("suppressed until 2026-01-01")));
    s.slack_logs_channel = None;
    assert!(plan(&started, &s, &c).is_empty(), "no logs channel: nothing to announce");
}

#[test]
fn long_replies_go_up_as_a_file() {
    let reply = |text: String| {
        Input::Reply(
            Reply {
                id: 3,
                created_at: jiff::Timestamp::UNIX_EPOCH,
                reply: NewReply {
                    channel: "C1".into(),
                    thread_ts: Some("1.1".into()),
                    message_ts: Some("1.1".into()),
                    text: Some(text),
                    reaction: Some("eyes".into()),
                    log: None,
                    repost_to: None,
                    job: None,
                    confirm: None,
                },
            },
            None,
        )
    };
    let (s, c) = setup();
    assert_eq!(names(&plan(&reply("short".into()), &s, &c)), ["post C1", "react eyes 1.1"]);
    assert_eq!(names(&plan(&reply("y".repeat(40_001)), &s, &c)), ["upload C1", "react eyes 1.1"]);
}

#[test]
fn a_support_reply_reacts_then_reposts_the_message() {
    let reply = |text: Option<&str>| {
        Input::Reply(
            Reply {
                id: 4,
                created_at: jiff::Timestamp::UNIX_EPOCH,
                reply: NewReply {
                    channel: "C1".into(),
                    thread_ts: Some("1.1".into()),
                    message_ts: Some("1.1".into()),
                    text: text.map(str::to_owned),
                    reaction: Some("sos".into()),
                    log: None,
                    repost_to: Some("#tech-support".into()),
                    job: None,
                    confirm: None,
                },
            },
            None,
        )
    };
    let (s, c) = setup();
    assert_eq!(names(&plan(&reply(None), &s, &c)), ["react sos 1.1", "repost 1.1 to #tech-support"]);
    assert_eq!(names(&plan(&reply(Some("away")), &s, &c)), ["post C1", "react sos 1.1", "repost 1.1 to #tech-support"]);
}

#[test]
fn a_queued_job_gets_cancel_and_a_result_rerun_and_logs() {
    let (s, c) = setup();
    let queued = Input::Reply(
        Reply {
            id: 5,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            reply: NewReply {
                channel: "C1".into(),
                thread_ts: Some("1.1".into()),
                text: Some("queued".into()),
                job: Some(12),
                ..NewReply::default()
            },
        },
        None,
    );
    let actions = plan(&queued, &s, &c);
    let Some(Action::Buttons { buttons, .. }) = actions.first() else { panic!("{actions:?}") };
    assert_eq!((buttons[0].action, buttons[0].value.as_str()), (crate::bot::actions::CANCEL, "12"));
    let blocks = super::format::with_buttons("x".repeat(3_500).as_str(), buttons);
    assert_eq!(blocks.len(), 3, "two sections of at most 3,000 characters, then the buttons");
    assert_eq!(blocks[2]["elements"][0]["action_id"], "ebmbot_cancel");
}

/// A confirmation's answer posts its own message first (a reply's first step is its message:
/// the job's end finds it there), then closes the question; Confirm/Cancel only while it waits.
#[test]
fn an_answer_posts_first_then_closes_the_question() {
    let (s, c) = setup();
    let confirmation = |state: &str| crate::queue::Confirmation {
        id: 3,
        created_at: jiff::Timestamp::UNIX_EPOCH,
        user: "U1".into(),
        channel: "C1".into(),
        thread_ts: None,
        message_ts: "1.1".into(),
        namespace: "ops".into(),
        job: "deploy".into(),
        args: "[]".into(),
        delay_ms: 0,
        state: state.into(),
    };
    let reply = |id: i64, job: Option<i64>, asked: Asked| {
        let reply =
            NewReply { channel: "C1".into(), text: Some("x".into()), job, confirm: Some(3), ..NewReply::default() };
        Input::Reply(Reply { id, created_at: jiff::Timestamp::UNIX_EPOCH, reply }, Some(Box::new(asked)))
    };
    let ask = plan(&reply(7, None, Asked { confirmation: confirmation("pending"), prompt: None }), &s, &c);
    let Some(Action::Buttons { buttons, .. }) = ask.first() else { panic!("{ask:?}") };
    assert_eq!(buttons.iter().map(|b| b.action).collect::<Vec<_>>(), ["ebmbot_confirm", "ebmbot_confirm_cancel"]);
    let prompt = Some(("C1".to_owned(), "7.7".to_owned()));
    let answer = plan(&reply(8, Some(12), Asked { confirmation: confirmation("confirmed"), prompt }), &s, &c);
    assert_eq!(names(&answer), ["post C1", "update 7.7 in C1"]);
    let (Action::Buttons { buttons, .. }, Action::Update { text, buttons: none, .. }) = (&answer[0], &answer[1]) else {
        panic!("{answer:?}")
    };
    assert_eq!(buttons.iter().map(|b| b.action).collect::<Vec<_>>(), ["ebmbot_cancel"], "the queued job's own Cancel");
    assert_eq!((text.as_str(), none.len()), ("Run `ops deploy` now? Confirmed by <@U1>.", 0));
    let late = plan(&reply(9, None, Asked { confirmation: confirmation("expired"), prompt: None }), &s, &c);
    assert!(matches!(&late[..], [Action::Post { .. }]), "asked after it expired: no buttons: {late:?}");
}
