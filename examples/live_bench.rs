//! Live job messages under load (issue 12): 50 jobs asked for in Slack run at once for two
//! minutes, each printing a line a second, against the fake Slack of the tests. Reports the
//! `chat.update` calls per minute (Slack's Tier 3 allows about 50 a minute; ebmbot's progress
//! budget is 40) and, for each job, the delay between its end and the update of its message
//! saying so. The bot (Socket Mode, worker, deliverer) and a dispatcher run in this process as
//! `ebmbot serve` runs them.
//!
//! ```text
//! cargo run --release --example live_bench -- [JOBS] [SECONDS]     # default 50 jobs, 120 s
//! ```

#![allow(unreachable_pub, reason = "the fake Slack is the tests' module, whose items are `pub` for them")]

#[allow(dead_code)]
#[path = "../tests/it/support/fake_slack/mod.rs"]
mod fake;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ebmbot::clock::SystemClock;
use ebmbot::config::{Catalog, Overrides, Settings};
use ebmbot::queue::model::Job;
use ebmbot::runner::{Control, Dispatcher, Mode, Reporter};
use serde_json::json;

struct Quiet;

impl Reporter for Quiet {
    fn started(&self, _: &Job) {}
    fn finished(&self, _: &Job) {}
    fn note(&self, _: &str) {}
}

fn catalogue(jobs: usize) -> String {
    let mut out = String::from("[b]\n");
    for i in 0..jobs {
        out.push_str(&format!(
            "[b.jobs.j{i}]\nrun_args_template = \"./work.sh\"\nreport_stdout = true\n[[b.slack]]\ncommand = \"j{i}\"\nhelp = \"Works\"\naction = \"schedule_job\"\njob_type = \"j{i}\"\n"
        ));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let jobs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(120);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("jobs.toml"), catalogue(jobs)).expect("jobs.toml");
    let ws = dir.path().join("workspace/b");
    std::fs::create_dir_all(&ws).expect("workspace");
    let script = format!("#!/usr/bin/env bash\nfor i in $(seq 1 {seconds}); do echo line $i; sleep 1; done\n");
    std::fs::write(ws.join("work.sh"), script).expect("script");
    std::process::Command::new("chmod").arg("+x").arg(ws.join("work.sh")).status().expect("chmod");

    let fake = fake::Fake::start();
    fake.add_channel(json!({"id": "C1", "name": "general"}));
    let vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-bench".to_owned()),
        ("SLACK_APP_TOKEN", "xapp-bench".to_owned()),
        ("SLACK_API_URL", fake.url.clone()),
        ("SLACK_AUTO_JOIN", "false".to_owned()),
        ("EBMBOT_MAX_JOBS", jobs.to_string()),
        ("EBMBOT_SLACK_MAX_PENDING", (jobs + 10).to_string()),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).cloned(), dir.path(), &Overrides::default()).unwrap();
    let catalog = Catalog::load(&settings.config, &settings).expect("catalogue");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = runtime.spawn(ebmbot::bot::run(Arc::new(settings.clone()), catalog.clone(), async {
        let _ = stopped.await;
    }));
    fake.wait_connected(1);
    let control = Control::default();
    let began = (Instant::now(), jiff::Timestamp::now());
    let finished: Vec<Job> = std::thread::scope(|s| {
        let dispatcher = s.spawn(|| {
            let queue = ebmbot::commands::open_queue(&settings).expect("queue");
            let d = Dispatcher::new(queue, catalog.clone(), &settings, &SystemClock, &Quiet, "dispatch")
                .expect("dispatcher");
            d.run(Mode::Forever, &control).expect("dispatcher run")
        });
        for i in 0..jobs {
            let ts = format!("{}.{i:06}", 1_800_000_000 + i);
            let text = format!("<@{}> b j{i}", fake::BOT);
            let envelope = fake.send_event(
                &format!("Ev{i}"),
                json!({"type": "app_mention", "user": "U1", "text": text, "channel": "C1", "ts": ts}),
            );
            fake.wait_ack(&envelope);
        }
        let queue = ebmbot::commands::open_queue(&settings).expect("queue");
        let deadline = Instant::now() + Duration::from_secs(seconds + 120);
        let since = began.1 - jiff::SignedDuration::from_hours(1);
        let all = loop {
            let list = queue.list(&ebmbot::queue::ListFilter { all: true, since, limit: 1000 }).expect("list");
            if list.len() >= jobs && list.iter().all(Job::is_finished) {
                break list;
            }
            if Instant::now() > deadline {
                let states: Vec<String> = list.iter().map(|j| format!("{}:{}", j.id, j.state())).collect();
                eprintln!("the jobs did not finish in time: {} of {jobs} listed: {states:?}", list.len());
                std::process::exit(1);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        // The last updates: a few seconds for the deliverer to say so.
        std::thread::sleep(Duration::from_secs(5));
        control.request_stop();
        control.request_stop();
        let _ = dispatcher.join();
        all
    });
    report(&fake, &finished, began, jobs, seconds);
    let _ = stop.send(());
    runtime.block_on(bot).expect("bot task").expect("bot");
}

fn report(fake: &fake::Fake, finished: &[Job], began: (Instant, jiff::Timestamp), jobs: usize, seconds: u64) {
    let st = fake.state();
    let updates: Vec<(Instant, String)> = st
        .calls
        .iter()
        .filter(|c| c.method == "chat.update")
        .map(|c| (c.at, c.params["text"].as_str().unwrap_or_default().to_owned()))
        .collect();
    drop(st);
    let Some(first) = updates.first().map(|u| u.0) else { return println!("no chat.update calls") };
    let mut per_minute: Vec<usize> = Vec::new();
    for (at, _) in &updates {
        let minute = (*at - first).as_secs() as usize / 60;
        if per_minute.len() <= minute {
            per_minute.resize(minute + 1, 0);
        }
        per_minute[minute] += 1;
    }
    let running = updates.iter().filter(|(_, t)| t.contains(" running for ")).count();
    println!(
        "{jobs} jobs of {seconds} s each, started together; {} chat.update calls in all: {running} progress, {} final",
        updates.len(),
        updates.len() - running
    );
    for (minute, n) in per_minute.iter().enumerate() {
        println!("  minute {}: {n} chat.update calls (Tier 3: about 50 a minute)", minute + 1);
    }
    let mut delays: Vec<f64> = Vec::new();
    for job in finished {
        let Some(end) = job.finished_at() else { continue };
        let prefix = format!("Job {}: `{}` succeeded", job.id, job.job_type());
        if let Some((at, _)) = updates.iter().find(|(_, text)| text.starts_with(&prefix)) {
            let since = end.duration_since(began.1).as_millis().max(0);
            let end_at = began.0 + Duration::from_millis(u64::try_from(since).unwrap_or(0));
            delays.push(at.saturating_duration_since(end_at).as_secs_f64() * 1000.0);
        }
    }
    delays.sort_by(f64::total_cmp);
    if delays.is_empty() {
        return println!("no final update found");
    }
    let at = |p: f64| delays[((p * delays.len() as f64).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "job end → its message says so: n={} p50={:.0} ms p90={:.0} ms max={:.0} ms",
        delays.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}
