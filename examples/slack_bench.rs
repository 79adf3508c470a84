//! Slack bot latency against the fake Slack of the tests: for each of N mentions, the time from
//! the `events_api` envelope being sent on the Socket Mode websocket to its ack, and to the job
//! it asks for being in the queue. The bot runs in this process exactly as `ebmbot bot` runs
//! it (slack-morphism's Socket Mode listener, the worker, the deliverer posting the replies).
//!
//! ```text
//! cargo run --example slack_bench -- [MENTIONS] [INTERVAL_MS]     # default 300 mentions, 5 ms apart
//! ```

#![allow(unreachable_pub, reason = "the fake Slack is the tests' module, whose items are `pub` for them")]

#[allow(dead_code)]
#[path = "../tests/it/support/fake_slack/mod.rs"]
mod fake;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ebmbot::config::{Catalog, Overrides, Settings};
use serde_json::json;

const JOBS: &str = r#"
[b]
[b.jobs.echo]
run_args_template = "printf '%s' {value}"
[[b.slack]]
command = "echo [value]"
help = "Echoes"
action = "schedule_job"
job_type = "echo"
"#;

fn percentiles(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    println!(
        "{name:<18} n={:<4} p50={:>6.2} ms  p90={:>6.2} ms  p99={:>6.2} ms  max={:>6.2} ms",
        ms.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let interval = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("jobs.toml"), JOBS).expect("jobs.toml");
    std::fs::create_dir_all(dir.path().join("workspace/b")).expect("workspace");

    let fake = fake::Fake::start();
    fake.add_channel(json!({"id": "C1", "name": "general"}));
    let vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-bench".to_owned()),
        ("SLACK_APP_TOKEN", "xapp-bench".to_owned()),
        ("SLACK_API_URL", fake.url.clone()),
        ("SLACK_AUTO_JOIN", "false".to_owned()),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).cloned(), dir.path(), &Overrides::default()).unwrap();
    let catalog = Catalog::load(&settings.config, &settings).expect("catalogue");
    let db = settings.db.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = runtime.spawn(ebmbot::bot::run(Arc::new(settings), catalog, async {
        let _ = stopped.await;
    }));
    fake.wait_connected(1);

    let mention = |i: usize| {
        let ts = format!("{}.{i:06}", 1_800_000_000 + i);
        json!({"type": "app_mention", "user": "U1", "text": format!("<@{}> b echo m{i}", fake::BOT),
               "channel": "C1", "ts": ts})
    };
    // Warm up: the user cache, the connection, SQLite.
    for i in 0..10 {
        let envelope = fake.send_event(&format!("EvWarm{i}"), mention(1_000_000 + i));
        fake.wait_ack(&envelope);
    }

    let started = (Instant::now(), jiff::Timestamp::now());
    let mut envelopes = Vec::with_capacity(n);
    for i in 0..n {
        envelopes.push(fake.send_event(&format!("Ev{i}"), mention(i)));
        std::thread::sleep(interval);
    }
    fake.wait("every ack", |f| envelopes.iter().all(|e| f.state().acks.contains_key(e)).then_some(()));
    let conn = rusqlite::Connection::open(db.to_string()).expect("database");
    let queued: HashMap<String, i64> = fake.wait("every job", |_| {
        let mut stmt = conn.prepare("SELECT args, created_at FROM jobs").ok()?;
        let rows: HashMap<String, i64> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).ok()?.filter_map(Result::ok).collect();
        (rows.len() >= n + 10).then_some(rows)
    });

    let st = fake.state();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let acks: Vec<f64> = envelopes.iter().map(|e| ms(st.acks[e] - st.sent[e])).collect();
    let jobs: Vec<f64> = envelopes
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let sent = started.1.as_millisecond() as f64 + ms(st.sent[e] - started.0);
            let created = queued[&json!({"value": format!("m{i}")}).to_string()] as f64;
            created - sent
        })
        .collect();
    let elapsed = st.sent[&envelopes[n - 1]] - st.sent[&envelopes[0]];
    drop(st);
    println!("{n} mentions sent {interval:?} apart over {elapsed:.1?} (debug build unless --release)");
    percentiles("envelope → ack", acks);
    percentiles("envelope → queued", jobs);
    let _ = stop.send(());
    runtime.block_on(bot).expect("bot task").expect("bot");
}
