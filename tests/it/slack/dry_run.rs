//! `dry run <command>` in Slack: the access policy of running the job, and nothing queued.

use crate::support::slack::{Slack, mention, text};

#[test]
fn a_dry_run_shows_a_restricted_template_only_to_those_who_may_run_it() {
    let mut t = Slack::new();
    t.start_bot();
    t.send("Ev1", mention("C1", "1.1", "UGUEST", "dry run secret show"));
    let refused = t.fake.wait_post("restricted to internal users");
    assert!(!text(&refused).contains("classified"), "no template for a guest: {}", text(&refused));

    t.send("Ev2", mention("C1", "1.2", "U1", "dry run secret show"));
    let plan = text(&t.fake.wait_post("this is a dry run"));
    assert!(plan.ends_with("Command:\n```echo classified; echo secret-stderr &gt;&amp;2; exit 1```"), "{plan}");
    assert!(plan.contains("• reports to: this Slack conversation (channel C1)"), "{plan}");

    t.send("Ev3", mention("C1", "1.3", "UGUEST", "dry run t echo it's $(id)"));
    let plan = text(&t.fake.wait_post("`t_echo` (nothing is queued"));
    assert!(plan.ends_with("```printf '%s' 'it'\\''s $(id)'```"), "{plan}");

    t.send("Ev4", mention("C1", "1.4", "U1", "dry run status"));
    t.fake.wait_post("Usage: `dry run &lt;a command that runs a job&gt;`");
    assert!(t.jobs().is_empty(), "a dry run queues nothing");
    assert!(t.fake.reactions().is_empty(), "and is not acknowledged as a job");
}
