//! `ebmbot serve` with the Slack tokens: web server, dispatcher and bot in one process.

use crate::support::slack::Slack;

#[test]
fn serve_runs_the_bot_beside_the_dispatcher() {
    let t = Slack::new();
    let mut serve = t.spawn(&["serve", "--bind", "127.0.0.1:0"]);
    t.fake.wait_connected(1);
    t.mention("C1", "300.1", "t echo from serve");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    // The dispatcher inside `serve` runs it, and the bot inside `serve` reports it.
    let result = t.fake.wait_post("from serve");
    assert_eq!((result["channel"].as_str(), result["thread_ts"].as_str()), (Some("C1"), Some("300.1")));
    t.fake.wait_reaction("C1", "300.1", "white_check_mark");
    let out = crate::support::stop(&mut serve);
    let log = t.log("serve");
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Slack bot:") && log.contains("Socket Mode on"), "{log}");
}

#[test]
fn serve_with_a_revoked_token_exits_2_naming_it() {
    let t = Slack::new();
    t.fake.fail("auth.test", crate::support::fake_slack::Failure::Api("token_revoked"), 1);
    let out = t.run(&["serve", "--bind", "127.0.0.1:0"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("SLACK_BOT_TOKEN") && log.contains("token_revoked"), "{log}");
}

#[test]
fn sighup_teaches_the_bot_in_serve_new_commands() {
    let t = Slack::new();
    let mut serve = t.spawn(&["serve", "--bind", "127.0.0.1:0"]);
    t.fake.wait_connected(1);
    t.mention("C1", "310.1", "t shout hi");
    t.fake.wait_post("Sorry, I didn't understand that.");

    let jobs = t.env.path("jobs.toml");
    let mut text = std::fs::read_to_string(&jobs).unwrap();
    text.push_str("\n[[t.slack]]\ncommand = \"shout [value]\"\nhelp = \"Echoes loudly\"\naction = \"schedule_job\"\njob_type = \"echo\"\n");
    std::fs::write(&jobs, text).unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(serve.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    t.fake.wait("the reload", |_| t.log("serve").contains("SIGHUP: reloaded").then_some(()));

    t.mention("C1", "311.1", "t shout hi");
    t.fake.wait_post("(`t_echo`) is queued.");
    let out = crate::support::stop(&mut serve);
    assert_eq!(out.status.code(), Some(0), "{}", t.log("serve"));
}
