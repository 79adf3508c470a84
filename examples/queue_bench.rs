//! The queue's benchmark (issue 2). Run it with `benches/queue.sh`, which builds in release
//! mode and passes the `ebmbot` binary:
//!
//! 1. schedule + claim + finish cycles per second in one process, against plain SQLite
//!    inserts and updates (three transactions a cycle too) measured in the same run;
//! 2. wall time of `ebmbot queue list --json > file` with 10,000 jobs in the database;
//! 3. cross-process dispatch latency: from `ebmbot schedule` returning to the job's shell
//!    running the command (bash's `$EPOCHREALTIME`), with a `dispatch` process waiting.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ebmbot::queue::model::{Args, DispatcherId, Origin, Outcome};
use ebmbot::queue::{NewDispatcher, NewJob, Options, Queue};
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior, params};

fn main() {
    let bin = PathBuf::from(std::env::args().nth(1).expect("usage: queue_bench <path to ebmbot>"))
        .canonicalize()
        .expect("the ebmbot binary");
    let dir = tempfile::tempdir().expect("temp dir");
    let cycles = 20_000;

    let ours = cycles_per_second(dir.path(), cycles);
    let same_rows = plain_same_rows_per_second(dir.path(), cycles);
    let minimal = plain_minimal_per_second(dir.path(), cycles);
    println!("schedule+claim+finish: {ours:.0} cycles/s");
    println!(
        "  plain SQLite, the same rows on the same schema: {same_rows:.0}/s (ebmbot is {:.2}x slower)",
        same_rows / ours
    );
    println!("  plain SQLite, one row inserted and updated twice: {minimal:.0}/s ({:.2}x)", minimal / ours);

    let (median, max) = list_wall_time(&bin, dir.path(), 10_000);
    println!("queue list --json, 10,000 jobs: median {median:.1} ms, max {max:.1} ms (20 runs)");

    let (p50, p95, max) = dispatch_latency(&bin, dir.path(), 200);
    println!("schedule → job running, cross-process: p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms (200 jobs)");
}

fn new_job(i: usize) -> NewJob {
    NewJob {
        namespace: "bench".into(),
        job: "job".into(),
        args: Args([("n".to_owned(), i.to_string())].into_iter().collect()),
        delay: Duration::ZERO,
        origin: Origin::Terminal { user: "bench".into(), notify: None },
    }
}

fn cycles_per_second(dir: &Path, cycles: usize) -> f64 {
    let mut q = Queue::open(&dir.join("cycles.db"), Options::default()).expect("open");
    let me = NewDispatcher { kind: "bench".into(), host: "h".into(), boot_id: "b".into(), pid: 1, pid_start: 1 };
    let d: DispatcherId = q.register_dispatcher(&me, Timestamp::now()).expect("register");
    let start = Instant::now();
    for i in 0..cycles {
        let now = Timestamp::now();
        q.schedule(&new_job(i), now).expect("schedule");
        let job = q.claim(d, now, now, 8).expect("claim").expect("a due job");
        q.finish(job.id, &Outcome::Succeeded, now).expect("finish");
    }
    cycles as f64 / start.elapsed().as_secs_f64()
}

/// The rows a cycle writes (a job and its request, then two updates of the job), in the same
/// three transactions on ebmbot's schema, by plain SQL: none of the queue's checks and reads.
/// (A terminal job writes no events: nobody would deliver them.)
fn plain_same_rows_per_second(dir: &Path, cycles: usize) -> f64 {
    let path = dir.join("same.db");
    drop(Queue::open(&path, Options::default()).expect("create the schema"));
    let mut conn = Connection::open(&path).expect("open");
    conn.pragma_update(None, "synchronous", "NORMAL").expect("sync");
    let start = Instant::now();
    for i in 0..cycles {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("tx");
        tx.prepare_cached(
            "INSERT INTO jobs (type, namespace, job, args, state, created_at, start_after)
             VALUES ('bench_job', 'bench', 'job', ?1, 'pending', 0, 0)",
        )
        .and_then(|mut s| s.execute([format!("{{\"n\":\"{i}\"}}")]))
        .expect("insert job");
        let id = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO requests (job_id, created_at, origin) VALUES (?1, 0, '{}')")
            .and_then(|mut s| s.execute([id]))
            .expect("insert request");
        tx.commit().expect("commit");
        for state in ["running", "succeeded"] {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("tx");
            tx.prepare_cached("UPDATE jobs SET state = ?2, started_at = 1, finished_at = 1 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, state]))
                .expect("update");
            tx.commit().expect("commit");
        }
    }
    cycles as f64 / start.elapsed().as_secs_f64()
}

/// One row inserted and updated twice, in three transactions: the floor.
fn plain_minimal_per_second(dir: &Path, cycles: usize) -> f64 {
    let mut conn = Connection::open(dir.join("plain.db")).expect("open");
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL").expect("sync");
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, args TEXT, state TEXT, at INTEGER)").expect("table");
    let start = Instant::now();
    for i in 0..cycles {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("tx");
        tx.execute("INSERT INTO t (args, state, at) VALUES (?1, 'pending', ?2)", params![i.to_string(), 0])
            .expect("insert");
        let id = tx.last_insert_rowid();
        tx.commit().expect("commit");
        for state in ["running", "succeeded"] {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("tx");
            tx.execute("UPDATE t SET state = ?2, at = ?3 WHERE id = ?1", params![id, state, 1]).expect("update");
            tx.commit().expect("commit");
        }
    }
    cycles as f64 / start.elapsed().as_secs_f64()
}

fn write_catalogue(dir: &Path, template: &str) {
    std::fs::create_dir_all(dir.join("workspace/bench")).expect("workspace");
    std::fs::write(dir.join("jobs.toml"), format!("[bench.jobs.job]\nrun_args_template = \"{template}\"\n"))
        .expect("jobs.toml");
}

fn ebmbot(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).env_remove("EBMBOT_DB").env_remove("DB_PATH").env_remove("EBMBOT_CONFIG");
    cmd
}

fn list_wall_time(bin: &Path, dir: &Path, jobs: usize) -> (f64, f64) {
    let dir = dir.join("list");
    write_catalogue(&dir, "true {n}");
    let mut q = Queue::open(&dir.join("ebmbot.db"), Options::default()).expect("open");
    for i in 0..jobs {
        q.schedule(&new_job(i), Timestamp::now()).expect("schedule");
    }
    drop(q);
    let mut times: Vec<f64> = (0..20)
        .map(|_| {
            // Into a file, so that what is timed is ebmbot, not a reader at the end of a pipe.
            let file = std::fs::File::create(dir.join("out.json")).expect("output file");
            let start = Instant::now();
            let status = ebmbot(bin, &dir).args(["queue", "list", "--json"]).stdout(file).status().expect("run");
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            assert!(status.success());
            let out = std::fs::read(dir.join("out.json")).expect("output");
            let listed: serde_json::Value = serde_json::from_slice(&out).expect("json");
            assert_eq!(listed.as_array().map(Vec::len), Some(jobs));
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1])
}

fn dispatch_latency(bin: &Path, dir: &Path, jobs: usize) -> (f64, f64, f64) {
    let dir = dir.join("latency");
    write_catalogue(&dir, "echo $EPOCHREALTIME {n}");
    let mut dispatcher = ebmbot(bin, &dir).arg("dispatch").stderr(Stdio::null()).spawn().expect("dispatch");
    let mut latencies = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let out = ebmbot(bin, &dir)
            .args(["schedule", "bench", "job", "--n", &i.to_string(), "--json"])
            .stderr(Stdio::null())
            .output()
            .expect("schedule");
        let returned = now_seconds();
        assert!(out.status.success());
        let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["id"].as_i64().expect("id");
        let started = wait_for_output(&dir, id);
        latencies.push((started - returned) * 1000.0);
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(dispatcher.id()).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = dispatcher.wait();
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.95), latencies[latencies.len() - 1])
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64()
}

/// Reads the job's stdout (`$EPOCHREALTIME n`) once it has finished.
fn wait_for_output(dir: &Path, id: i64) -> f64 {
    let q = Queue::open(&dir.join("ebmbot.db"), Options::default()).expect("open");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = q.job(ebmbot::queue::model::JobId(id)).expect("job").expect("exists");
        if job.is_finished() {
            let log = std::fs::read_to_string(Path::new(job.log_dir().expect("log dir")).join("stdout")).expect("log");
            return log.split_whitespace().next().expect("time").parse().expect("a time");
        }
        assert!(Instant::now() < deadline, "job {id} did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
}
