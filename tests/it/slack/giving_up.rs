//! Retries that end (issue 11, item 3): a message Slack keeps failing is given up after
//! `SLACK_DELIVERY_MAX_AGE` (time paused left out), on an injected clock; `fatal_error` is not
//! repeated; Retry-After holds back one Web API method, not one message, and nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ebmbot::bot::DelivererThread;
use ebmbot::clock::ManualClock;
use ebmbot::config::{Catalog, Overrides, Settings};
use ebmbot::queue::{Options, Queue};

use crate::support::fake_slack::Failure;
use crate::support::slack::{Slack, text};

fn settings(t: &Slack) -> Settings {
    let vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_API_URL", t.fake.url.clone()),
        ("SLACK_RETRY_BASE", "20ms".to_owned()),
        ("SLACK_AUTO_JOIN", "false".to_owned()),
        ("EBMBOT_DB", t.env.db()),
    ]);
    Settings::from_lookup(|k| vars.get(k).cloned(), &t.env.root, &Overrides::default()).unwrap()
}

#[test]
fn a_message_slack_keeps_failing_is_given_up_after_a_day_not_counting_a_pause() {
    let t = Slack::new();
    // `internal_error`: https://api.slack.com/methods/chat.postMessage#errors ("The server
    // could not complete your operation(s) without encountering an error, likely due to a
    // transient issue on our end").
    t.fake.refuse("chat.postMessage", "text", "doomed", "internal_error");
    t.run_without_slack(&["schedule", "t", "echo", "--value", "doomed", "--notify", "C1"]);
    t.run_without_slack(&["dispatch", "--once"]);
    let t0 = jiff::Timestamp::now();
    let at = |h: u64| ebmbot::queue::add_duration(t0, Duration::from_secs(h * 3600 + 60));
    let clock = Arc::new(ManualClock::new(t0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let settings = Arc::new(settings(&t));
    let catalog = Catalog::load(&settings.config, &settings).unwrap();
    let deliverer =
        DelivererThread::spawn(settings, catalog, runtime.handle().clone(), clock.clone()).unwrap().unwrap();
    let tries = |n: usize| {
        move |f: &crate::support::fake_slack::Fake| {
            (f.calls("chat.postMessage").iter().filter(|p| p["text"] == "doomed").count() >= n).then_some(())
        }
    };
    let mut q = Queue::open(t.env.location(), Options::default()).unwrap();
    let failed = |q: &Queue, n: u32| q.undelivered(10).unwrap().iter().any(|d| d.attempts >= n);
    t.fake.wait("the first try", tries(1));
    t.fake.wait("its failure recorded", |_| failed(&q, 1).then_some(()));

    // Paused for two hours (another process met a revoked token), then resumed.
    clock.set(at(1));
    q.pause_slack("token_revoked", at(1)).unwrap();
    clock.set(at(3));
    q.resume_slack(at(3)).unwrap();

    // 24 h after it was queued, but only 22 h of it not paused: tried again, not given up.
    clock.set(at(24));
    t.fake.wait("a try after 24 h", tries(2));
    t.fake.wait("its failure recorded", |_| failed(&q, 2).then_some(()));
    assert!(t.fake.posts().iter().all(|p| !text(p).contains("Could not notify")));

    clock.set(at(26));
    let note = t.fake.wait_post("Could not notify slack: Slack kept failing (`internal_error`) for 1d");
    assert!(text(&note).contains("(doomed in C1)"), "{note}");
    t.fake.wait("every delivery recorded", |_| q.undelivered(10).unwrap().is_empty().then_some(()));
    deliverer.finish(None).unwrap();
}

#[test]
fn fatal_error_is_not_posted_again() {
    let t = Slack::new();
    // `fatal_error`: https://api.slack.com/methods/chat.postMessage#errors ("… It's possible
    // some aspect of the operation succeeded before the error was raised").
    t.fake.refuse("chat.postMessage", "text", "maybe-posted", "fatal_error");
    t.run_without_slack(&["schedule", "t", "echo", "--value", "maybe-posted", "--notify", "C1"]);
    t.run_without_slack(&["schedule", "t", "echo", "--value", "next", "--notify", "C1"]);
    t.dispatch_once();
    let note = t.fake.wait_post("Could not notify slack: Slack answered `fatal_error`");
    assert!(text(&note).contains("may have been posted in part"), "{note}");
    t.fake.wait_post("next");
    let tries = t.fake.calls("chat.postMessage").iter().filter(|p| p["text"] == "maybe-posted").count();
    assert_eq!(tries, 1, "not repeated");
}

#[test]
fn retry_after_holds_back_its_method_for_every_message_and_nothing_else() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // the mentions' replies in threads of their own
    t.start_bot();
    // A 429 with Retry-After on one method: https://api.slack.com/apis/rate-limits.
    t.fake.fail("reactions.add", Failure::RateLimited(60), 1);
    t.mention("C1", "50.1", "t echo a");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.fake.wait("the 429", |f| (!f.calls("reactions.add").is_empty()).then_some(()));
    // Another thread's reply is posted, but its reaction waits for the same Retry-After.
    t.mention("COPS", "50.2", "t echo b");
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
    t.run_without_slack(&["schedule", "t", "echo", "--value", "elsewhere", "--notify", "C1"]);
    t.run_without_slack(&["dispatch", "--once"]);
    t.fake.wait_post("elsewhere");
    assert_eq!(t.fake.calls("reactions.add").len(), 1, "no reaction is tried during the Retry-After");
    let results = t.fake.posts().iter().filter(|p| text(p) == "a" || text(p) == "b").count();
    assert_eq!(results, 0, "results wait behind their threads' reactions");
}
