use std::time::Duration;

use crate::queue::{Options, add_duration};

#[test]
fn one_pause_at_a_time_and_its_time_is_counted_once() {
    let (_guard, mut q) = crate::queue::testdb::open(Options::default());
    let t0: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    let at = |s: u64| add_duration(t0, Duration::from_secs(s));
    assert!(q.pause_slack("token_revoked", at(10)).unwrap());
    assert!(!q.pause_slack("invalid_auth", at(11)).unwrap(), "already paused");
    let open = q.slack_pause().unwrap().unwrap();
    assert_eq!((open.code.as_str(), open.since), ("token_revoked", at(10)));
    assert_eq!(q.paused_between(t0, at(15)).unwrap(), Duration::from_secs(5), "open: up to now");
    assert_eq!(q.resume_slack(at(20)).unwrap().unwrap().code, "token_revoked");
    assert_eq!(q.resume_slack(at(21)).unwrap(), None);
    assert_eq!(q.slack_pause().unwrap(), None);
    assert!(q.pause_slack("app_uninstalled", at(30)).unwrap());
    q.resume_slack(at(40)).unwrap();
    assert_eq!(q.paused_between(t0, at(100)).unwrap(), Duration::from_secs(20));
    assert_eq!(q.paused_between(at(15), at(35)).unwrap(), Duration::from_secs(10), "overlaps only");
    assert_eq!(q.prune(at(35), 100).unwrap().pauses, 1, "the pause that ended before the cut-off");
    assert_eq!(q.paused_between(t0, at(100)).unwrap(), Duration::from_secs(10));
}
