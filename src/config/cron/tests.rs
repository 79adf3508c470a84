//! Fire times, daylight saving in Europe/London (clocks go forward at 01:00 GMT on 29 March
//! 2026 and back at 02:00 BST on 25 October 2026), and the expressions refused.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Cron, CronError};

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The first `n` fire times after `after`, as UTC text.
fn fires(expr: &str, after: &str, tz: &TimeZone, n: usize) -> Vec<String> {
    let cron = Cron::parse(expr).unwrap();
    let mut at = t(after);
    let mut out = Vec::new();
    for _ in 0..n {
        at = cron.next_after(at, tz).unwrap();
        out.push(at.to_string());
    }
    out
}

#[test]
fn five_fields_fire_on_the_minute_and_six_on_the_second() {
    let utc = TimeZone::UTC;
    assert_eq!(
        fires("0 9 * * MON-FRI", "2026-03-06T10:00:00Z", &utc, 3),
        ["2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z", "2026-03-11T09:00:00Z"],
        "Friday after nine: Monday next"
    );
    assert_eq!(
        fires("*/20 * * * * *", "2026-03-06T10:00:00.500Z", &utc, 3),
        ["2026-03-06T10:00:20Z", "2026-03-06T10:00:40Z", "2026-03-06T10:01:00Z"]
    );
    assert_eq!(fires("* * * * * *", "2026-03-06T10:00:00Z", &utc, 2), ["2026-03-06T10:00:01Z", "2026-03-06T10:00:02Z"]);
    assert_eq!(
        fires("5/15 0 1 jan,Jul *", "2026-03-06T10:00:00Z", &utc, 2),
        ["2026-07-01T00:05:00Z", "2026-07-01T00:20:00Z"]
    );
    assert_eq!(fires("0 0 * * 7", "2026-03-06T10:00:00Z", &utc, 1), ["2026-03-08T00:00:00Z"], "7 is Sunday");
}

#[test]
fn day_of_month_and_day_of_week_fire_on_either_when_both_are_given() {
    let utc = TimeZone::UTC;
    // The 1st and 15th, and every Sunday (Vixie cron's rule).
    assert_eq!(
        fires("0 0 1,15 * SUN", "2026-03-01T12:00:00Z", &utc, 3),
        ["2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z"]
    );
    // With `*` in one of them, only the other decides.
    assert_eq!(fires("0 0 * * SUN", "2026-03-01T12:00:00Z", &utc, 1), ["2026-03-08T00:00:00Z"]);
    assert_eq!(fires("0 0 29 2 *", "2026-03-01T12:00:00Z", &utc, 1), ["2028-02-29T00:00:00Z"]);
}

#[test]
fn a_fixed_time_the_clocks_skip_fires_once_when_they_have_jumped() {
    // 01:30 does not exist in London on 29 March: it fires at 02:00 BST (01:00Z), once.
    assert_eq!(
        fires("30 1 * * *", "2026-03-28T12:00:00Z", &london(), 3),
        ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
    );
    // Several fixed times inside the gap fire once between them.
    assert_eq!(
        fires("0 15,45 1 * * *", "2026-03-29T00:00:00Z", &london(), 2),
        ["2026-03-29T01:00:00Z", "2026-03-30T00:15:00Z"]
    );
}

#[test]
fn a_fixed_time_that_happens_twice_fires_the_first_time_only() {
    // 01:30 happens at 00:30Z (BST) and again at 01:30Z (GMT) on 25 October.
    assert_eq!(
        fires("30 1 * * *", "2026-10-24T12:00:00Z", &london(), 2),
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
    // From between the two: the second is not a fire time.
    assert_eq!(fires("30 1 * * *", "2026-10-25T00:31:00Z", &london(), 1), ["2026-10-26T01:30:00Z"]);
}

#[test]
fn intervals_follow_real_time_across_both_changes() {
    // Spring: 00:45 GMT, then 02:00 BST, fifteen real minutes later.
    assert_eq!(
        fires("*/15 * * * *", "2026-03-29T00:40:00Z", &london(), 3),
        ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"]
    );
    // Autumn: every quarter of an hour through both 01:xx hours, none twice, none left out.
    let autumn = fires("*/15 * * * *", "2026-10-24T23:50:00Z", &london(), 10);
    let expected: Vec<String> =
        (0..10).map(|i| (t("2026-10-25T00:00:00Z") + jiff::Span::new().minutes(15 * i)).to_string()).collect();
    assert_eq!(autumn, expected);
    // An hourly wildcard fires at 01:00 BST and again at 01:00 GMT.
    assert_eq!(
        fires("0 * * * *", "2026-10-24T23:30:00Z", &london(), 3),
        ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]
    );
}

#[test]
fn bad_expressions_say_what_to_write() {
    let err = |text: &str| Cron::parse(text).unwrap_err();
    assert_eq!(err("0 9 * *"), CronError::FieldCount { count: 4 });
    assert_eq!(err("0 0 9 * * * *"), CronError::FieldCount { count: 7 });
    assert_eq!(err("61 9 * * *").to_string(), "minute field `61`: `61` is not a value; use 0 to 59");
    assert_eq!(
        err("0 9 * * FRI-MON").to_string(),
        "day-of-week field `FRI-MON`: range `FRI-MON` runs backwards; write the smaller value first"
    );
    assert_eq!(
        err("0 9 * * MOO").to_string(),
        "day-of-week field `MOO`: `MOO` is not a value; use 0 to 7, or a name such as `MON`"
    );
    assert_eq!(err("*/0 9 * * *").to_string(), "minute field `*/0`: step `0` is not a number from 1 to 59");
    assert_eq!(err("0 0 30 2 *"), CronError::Never);
    assert!(Cron::parse("0 9 * * mon-fri").is_ok(), "names in any case");
}
