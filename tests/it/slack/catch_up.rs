//! Nothing missed while ebmbot was down: on start (and after each Socket Mode reconnection)
//! the bot reads each channel's history from the last message it read there
//! (`conversations.history`, https://docs.slack.dev/reference/methods/conversations.history:
//! newest first, `oldest` exclusive, paginated) and handles the mentions and support messages
//! it missed, each once; a missed command older than `SLACK_MISSED_COMMAND_AGE` is not run.

use serde_json::json;

use super::support::{permalink, posts_of, with_listeners};
use crate::support::slack::{SUPPORT, Slack, text};

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Waits until the bot has read the channels (its log says so) `times` times in all.
fn caught_up(t: &Slack, times: usize) {
    crate::support::wait_until("the catch-up", || {
        (t.log("bot").matches("caught up with the channels").count() >= times).then_some(())
    });
}

/// Moves where the catch-up starts in `channel` back to `ts`, as if ebmbot had been down since.
fn rewind(t: &Slack, channel: &str, ts: &str) {
    let sql = "UPDATE slack_channels SET last_ts = $1 WHERE channel = $2";
    if let Some(pg) = &t.env.pg {
        let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
        assert_eq!(db.execute(sql, &[&ts, &channel]).unwrap(), 1);
    } else {
        let db = rusqlite::Connection::open(t.env.path("ebmbot.db")).unwrap();
        assert_eq!(db.execute(&sql.replace('$', "?"), [ts, channel]).unwrap(), 1);
    }
}

#[test]
fn what_was_said_while_the_bot_was_down_is_handled_once_after_it_starts() {
    let mut t = with_listeners();
    t.start_bot();
    caught_up(&t, 1);
    t.stop_bot();
    // Said while ebmbot was stopped: a command three hours ago (too old to run now), a command
    // and a support call just now, and an ordinary message. The channel was last read four
    // hours ago.
    let now = now_secs();
    rewind(&t, "C1", &format!("{}.000000", now - 4 * 3600));
    let (old, cmd, help) = (format!("{}.000100", now - 3 * 3600), format!("{now}.000200"), format!("{now}.000300"));
    t.fake.add_history("C1", json!({"type": "message", "user": "U1", "ts": old, "text": "<@UBOT> t echo old"}));
    t.fake.add_history("C1", json!({"type": "message", "user": "U1", "ts": cmd, "text": "<@UBOT> t echo new"}));
    t.fake.add_history(
        "C1",
        json!({"type": "message", "user": "U2", "ts": help, "text": "tech-support: the VPN is down"}),
    );
    t.fake.add_history("C1", json!({"type": "message", "user": "U2", "ts": format!("{now}.000400"), "text": "lunch?"}));
    // ebmbot's own help names it, and another bot's alert calls tech-support: neither is a
    // person asking.
    let own = json!({"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": format!("{now}.000500"),
                     "text": "<@UBOT> t echo mine"});
    t.fake.add_history("C1", own);
    let alert = json!({"type": "message", "subtype": "bot_message", "bot_id": "B2", "ts": format!("{now}.000600"),
                       "text": "tech-support: disk full"});
    t.fake.add_history("C1", alert);

    t.start_bot();
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.fake.wait_reaction("C1", &help, "sos");
    t.fake.wait_post(&permalink("C1", &help));
    let missed = t.fake.wait_post("I missed this command while I was not running");
    assert_eq!((missed["channel"].as_str(), missed["thread_ts"].as_str()), (Some("C1"), Some(old.as_str())));
    assert!(text(&missed).contains("so I have not run it"), "{missed}");
    let jobs = t.jobs();
    assert_eq!(jobs.len(), 1, "only the recent command ran: {jobs:?}");
    assert!(!t.fake.reactions().iter().any(|(_, ts, _)| ts.ends_with(".000600")), "a bot's alert is left alone");
    assert_eq!(jobs[0]["args"]["value"], "new");

    // A second restart reads from where the first stopped: nothing is handled again.
    let posts = t.fake.posts().len();
    t.stop_bot();
    t.start_bot();
    caught_up(&t, 2);
    assert_eq!(t.jobs().len(), 1);
    assert_eq!(posts_of(&t, SUPPORT, &permalink("C1", &help)), 1);
    assert_eq!(t.fake.posts().len(), posts, "nothing posted twice: {:?}", t.fake.posts());
    // `status` says how many channels the listeners hear: the five the fake lists.
    let listening = &t.status()["listening"];
    assert_eq!(listening["channels"], 5, "{listening}");
    assert_eq!(listening["listeners"], json!(["tech-support", "bennett-admins"]), "{listening}");
    let text = String::from_utf8_lossy(&t.run(&["status"]).stdout).into_owned();
    assert!(text.contains("hear the 5 channel(s) ebmbot is in"), "{text}");
}
