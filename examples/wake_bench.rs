//! Idle cost and wake-up latency (issue 10), on SQLite or PostgreSQL. Run it with
//! `benches/wake.sh`, which builds in release mode and passes the `ebmbot` binary:
//!
//! - `wake_bench idle <ebmbot> <db> <seconds>`: starts `ebmbot serve` on `db` (the dispatcher,
//!   the web server, and the Slack worker and deliverer against a stub Slack in this process,
//!   so every loop of `serve` runs), waits for it to settle, then reads its CPU time twice,
//!   `seconds` apart: `utime + stime` of `/proc/<pid>/stat` (clock ticks) and, to the
//!   nanosecond, the sum of `/proc/<pid>/task/*/schedstat`, with the threads that used any.
//! - `wake_bench latency <ebmbot> <db> <jobs>`: an `ebmbot dispatch` waits; `jobs` times,
//!   `ebmbot schedule` (a process) returns, and the time until the job's shell runs its command
//!   (bash's `$EPOCHREALTIME`, printed by the job) is taken: p50, p95, max.
//!
//! `db` is a SQLite path or a `postgres://` URL, as `EBMBOT_DB` takes it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ebmbot::queue::model::JobId;
use ebmbot::queue::{Location, Options, Queue};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: wake_bench idle|latency <path to ebmbot> <db> <seconds|jobs>";
    let (Some(what), Some(bin), Some(db), Some(n)) = (args.get(1), args.get(2), args.get(3), args.get(4)) else {
        panic!("{usage}")
    };
    let bin = PathBuf::from(bin).canonicalize().expect("the ebmbot binary");
    let n: u64 = n.parse().expect(usage);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("workspace/bench")).expect("workspace");
    std::fs::write(dir.path().join("jobs.toml"), "[bench.jobs.job]\nrun_args_template = \"echo $EPOCHREALTIME {n}\"\n")
        .expect("jobs.toml");
    match what.as_str() {
        "idle" => idle(&bin, dir.path(), db, Duration::from_secs(n)),
        "latency" => latency(&bin, dir.path(), db, usize::try_from(n).expect("jobs")),
        _ => panic!("{usage}"),
    }
}

fn ebmbot(bin: &Path, dir: &Path, db: &str) -> Command {
    let mut cmd = Command::new(bin);
    for var in ["EBMBOT_CONFIG", "DB_PATH", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.current_dir(dir).env("EBMBOT_DB", db);
    cmd
}

fn idle(bin: &Path, dir: &Path, db: &str, span: Duration) {
    let slack = stub_slack();
    let mut serve = ebmbot(bin, dir, db)
        .arg("serve")
        .env("EBMBOT_BIND", "127.0.0.1:0")
        .env("SLACK_BOT_TOKEN", "xoxb-bench")
        .env("SLACK_SIGNING_SECRET", "bench-secret")
        .env("SLACK_API_URL", format!("http://{slack}"))
        .env("SLACK_AUTO_JOIN", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let pid = serve.id();
    let stderr = BufReader::new(serve.stderr.take().expect("stderr"));
    let mut lines = stderr.lines();
    // The banner says it listens; the Slack bot logs that it is starting.
    for line in lines.by_ref() {
        if line.expect("stderr").contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    // Start-up (migrations, the first recovery and prune, the user cache) is not idle.
    std::thread::sleep(Duration::from_secs(5));
    let (ticks0, threads0) = (ticks(pid), threads(pid));
    let start = Instant::now();
    std::thread::sleep(span);
    let (ticks1, threads1) = (ticks(pid), threads(pid));
    let elapsed = start.elapsed().as_secs_f64();
    stop(&mut serve);
    let ns: u64 = threads1.values().map(|(_, ns)| ns).sum::<u64>() - threads0.values().map(|(_, ns)| ns).sum::<u64>();
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "idle serve on {}: {:.4} % of a core over {elapsed:.0} s (schedstat: {:.1} ms on CPU); /proc/<pid>/stat: {} ticks = {:.3} %",
        backend(db),
        ns as f64 / 1e9 / elapsed * 100.0,
        ns as f64 / 1e6,
        ticks1 - ticks0,
        (ticks1 - ticks0) as f64 / hz / elapsed * 100.0,
    );
    for (tid, (name, after)) in &threads1 {
        let before = threads0.get(tid).map_or(0, |(_, ns)| *ns);
        if after > &before {
            println!("  thread {name:<16} {:8.3} ms", (after - before) as f64 / 1e6);
        }
    }
}

fn backend(db: &str) -> &'static str {
    if db.starts_with("postgres") { "PostgreSQL" } else { "SQLite" }
}

fn stop(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

/// `utime + stime` of the process, in clock ticks.
fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // After the `(comm)` field: state is field 3; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Each thread's name and time on CPU (ns), by thread id.
fn threads(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks").flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default().trim().to_owned();
        let ns = std::fs::read_to_string(entry.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        out.insert(tid, (name, ns));
    }
    out
}

/// A stub Slack Web API on 127.0.0.1: every method answers one JSON object with what
/// `auth.test` and `users.list` need.
fn stub_slack() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let json = r#"{"ok":true,"user_id":"UBOT","team_id":"T1","team":"bench","url":"https://bench.slack.com/","bot_id":"B1","members":[],"response_metadata":{"next_cursor":""}}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                        json.len()
                    );
                    if reader.get_mut().write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn latency(bin: &Path, dir: &Path, db: &str, jobs: usize) {
    let mut dispatcher = ebmbot(bin, dir, db).arg("dispatch").stderr(Stdio::null()).spawn().expect("dispatch");
    let at = Location::parse(db, dir).expect("db");
    let q = wait_open(&at);
    std::thread::sleep(Duration::from_secs(1)); // the dispatcher's start-up
    let mut latencies = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let out = ebmbot(bin, dir, db)
            .args(["schedule", "bench", "job", "--n", &i.to_string(), "--json"])
            .stderr(Stdio::null())
            .output()
            .expect("schedule");
        let returned = now_seconds();
        assert!(out.status.success(), "schedule failed");
        let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["id"].as_i64().expect("id");
        let started = wait_for_output(&q, id);
        latencies.push((started - returned) * 1000.0);
    }
    stop(&mut dispatcher);
    latencies.sort_by(f64::total_cmp);
    let p = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "schedule → job running, cross-process, on {}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({jobs} jobs)",
        backend(db),
        p(0.5),
        p(0.95),
        latencies[latencies.len() - 1]
    );
}

/// The queue, once the dispatcher has made it.
fn wait_open(at: &Location) -> Queue {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Queue::open(at.clone(), Options::default()) {
            Ok(q) => return q,
            Err(e) => assert!(Instant::now() < deadline, "cannot open the queue: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64()
}

/// Reads the job's stdout (`$EPOCHREALTIME n`) once it has finished.
fn wait_for_output(q: &Queue, id: i64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = q.job(JobId(id)).expect("job").expect("exists");
        if job.is_finished() {
            let log = std::fs::read_to_string(Path::new(job.log_dir().expect("log dir")).join("stdout")).expect("log");
            return log.split_whitespace().next().expect("time").parse().expect("a time");
        }
        assert!(Instant::now() < deadline, "job {id} did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
}
