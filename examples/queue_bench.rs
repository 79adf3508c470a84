//! The queue's benchmark (issues 2 and 10), on SQLite and on PostgreSQL in the same run. Run it
//! with `benches/queue.sh`, which builds in release mode and passes the `ebmbot` binary and the
//! PostgreSQL server (`EBMBOT_BENCH_POSTGRES`, where the user may create databases):
//!
//! 1. schedule + claim + finish cycles per second: one connection (one dispatcher), and four
//!    connections on four threads at once (four dispatchers); on SQLite also against plain
//!    inserts and updates (three transactions a cycle too) measured in the same run;
//! 2. wall time of `ebmbot queue list --json > file` with 10,000 jobs in the database;
//! 3. cross-process dispatch latency: from `ebmbot schedule` returning to the job's shell
//!    running the command (bash's `$EPOCHREALTIME`), with one `dispatch` process waiting, and
//!    with four, each as a host of its own (issue 15);
//! 4. CPU used by an idle `ebmbot serve` over a minute.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ebmbot::queue::model::{Args, Origin, Outcome};
use ebmbot::queue::{Location, NewDispatcher, NewJob, Options, Queue};
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior, params};

/// Where a measurement's database lives.
enum Backend {
    Sqlite(PathBuf),
    /// The admin URL (`…/postgres`); each measurement gets a database of its own.
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// A new, empty database for `what`: the `EBMBOT_DB` value.
    fn fresh(&self, what: &str) -> String {
        match self {
            Self::Sqlite(dir) => dir.join(format!("{what}.db")).display().to_string(),
            Self::Postgres(admin) => {
                let name = format!("ebmbot_bench_{}_{what}", std::process::id());
                let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("the PostgreSQL server");
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).expect("drop");
                c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the bench database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    }

    fn drop_all(&self) {
        if let Self::Postgres(admin) = self {
            let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("the PostgreSQL server");
            for what in ["cycles1", "cycles4", "list", "latency", "idle"] {
                let name = format!("ebmbot_bench_{}_{what}", std::process::id());
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn open(db: &str) -> Queue {
    Queue::open(Location::parse(db, Path::new("/")).expect("a database"), Options::default()).expect("open")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = PathBuf::from(args.next().expect("usage: queue_bench <path to ebmbot> [postgres admin URL]"))
        .canonicalize()
        .expect("the ebmbot binary");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut backends = vec![Backend::Sqlite(dir.path().to_owned())];
    match args.next().filter(|u| !u.is_empty()) {
        Some(url) => backends.push(Backend::Postgres(url)),
        None => println!("PostgreSQL: skipped (no server given; set EBMBOT_BENCH_POSTGRES)"),
    }
    // `QUEUE_BENCH_QUICK=1`: a small run that checks the benchmark works (figures meaningless).
    let quick = std::env::var_os("QUEUE_BENCH_QUICK").is_some();
    let (cycles, jobs, samples, idle) = if quick { (400, 500, 20, 3) } else { (20_000, 10_000, 200, 60) };
    for backend in &backends {
        println!("== {}", backend.name());
        // Each PostgreSQL commit is a round trip to the server and waits for its WAL to reach
        // the disk: a tenth of the cycles takes as long there.
        let cycles = if matches!(backend, Backend::Postgres(_)) { cycles / 10 } else { cycles };
        let one = cycles_per_second(&backend.fresh("cycles1"), cycles, 1);
        println!("schedule+claim+finish, one dispatcher: {one:.0} cycles/s");
        let four = cycles_per_second(&backend.fresh("cycles4"), cycles, 4);
        println!("schedule+claim+finish, four dispatchers at once: {four:.0} cycles/s");
        if let Backend::Sqlite(dir) = backend {
            let same_rows = plain_same_rows_per_second(dir, cycles);
            let minimal = plain_minimal_per_second(dir, cycles);
            println!(
                "  plain SQLite, the same rows on the same schema: {same_rows:.0}/s (ebmbot is {:.2}x slower)",
                same_rows / one
            );
            println!("  plain SQLite, one row inserted and updated twice: {minimal:.0}/s ({:.2}x)", minimal / one);
        }
        let work = dir.path().join(backend.name());
        let (median, max) = list_wall_time(&bin, &work.join("list"), &backend.fresh("list"), jobs);
        println!("queue list --json, {jobs} jobs: median {median:.1} ms, max {max:.1} ms (20 runs)");
        let (p50, p95, max) = dispatch_latency(&bin, &work.join("latency"), &backend.fresh("latency"), samples, 1);
        println!(
            "schedule → job running, cross-process: p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms ({samples} jobs)"
        );
        let (p50, p95, max) = dispatch_latency(&bin, &work.join("latency4"), &backend.fresh("latency4"), samples, 4);
        println!(
            "  four dispatchers waiting (four host ids): p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms ({samples} jobs)"
        );
        if let Backend::Postgres(_) = backend {
            // Each commit waits for its WAL to reach the disk (`synchronous_commit = on`, the
            // default): the same with that wait left out shows what is the queue's own.
            let off = |db: String| format!("{db}?options=-c%20synchronous_commit%3Doff");
            let one = cycles_per_second(&off(backend.fresh("cycles1")), cycles, 1);
            let four = cycles_per_second(&off(backend.fresh("cycles4")), cycles, 4);
            println!("  synchronous_commit=off: {one:.0} cycles/s with one dispatcher, {four:.0} with four");
            let db = off(backend.fresh("latency"));
            let (p50, p95, max) = dispatch_latency(&bin, &work.join("latency-off"), &db, samples, 1);
            println!("  synchronous_commit=off: schedule → running p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms");
        }
        let cpu = idle_cpu(&bin, &work.join("idle"), &backend.fresh("idle"), Duration::from_secs(idle));
        println!("idle ebmbot serve: {cpu:.3} % of a core over {idle} s");
        backend.drop_all();
    }
}

fn new_job(i: usize, kind: usize) -> NewJob {
    NewJob {
        namespace: "bench".into(),
        job: format!("job{kind}"),
        args: Args([("n".to_owned(), i.to_string())].into_iter().collect()),
        delay: Duration::ZERO,
        origin: Origin::Terminal { user: "bench".into(), notify: None },
    }
}

/// `cycles` schedule + claim + finish cycles over `dispatchers` connections on as many threads,
/// each scheduling jobs of a type of its own and finishing whatever it claims; then whatever is
/// left is claimed and finished. Every job is finished once.
fn cycles_per_second(db: &str, cycles: usize, dispatchers: usize) -> f64 {
    drop(open(db));
    let start = Instant::now();
    let finished: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..dispatchers)
            .map(|t| {
                s.spawn(move || {
                    let mut q = open(db);
                    let me = NewDispatcher {
                        kind: "bench".into(),
                        host: "h".into(),
                        boot_id: "b".into(),
                        pid: 1,
                        pid_start: 1,
                        timezone: "UTC".into(),
                        lease: std::time::Duration::from_secs(60),
                    };
                    let d = q.register_dispatcher(&me, Timestamp::now()).expect("register");
                    let mut done = 0;
                    let mut claim_and_finish = |q: &mut Queue| {
                        let now = Timestamp::now();
                        let job = q.claim(d, now, now, 8).expect("claim");
                        if let Some(job) = &job {
                            q.finish(job.id, &Outcome::Succeeded, now).expect("finish");
                            done += 1;
                        }
                        job.is_some()
                    };
                    for i in 0..cycles / dispatchers {
                        q.schedule(&new_job(i, t), Timestamp::now()).expect("schedule");
                        claim_and_finish(&mut q);
                    }
                    while claim_and_finish(&mut q) {}
                    done
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("a bench thread")).sum()
    });
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(finished, cycles / dispatchers * dispatchers, "every job finished once");
    finished as f64 / elapsed
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
    std::fs::write(dir.join("jobs.toml"), format!("[bench.jobs.job0]\nrun_args_template = \"{template}\"\n"))
        .expect("jobs.toml");
}

/// `ebmbot` in `dir` on the database `db`.
fn ebmbot(bin: &Path, dir: &Path, db: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).env("EBMBOT_DB", db).env_remove("DB_PATH").env_remove("EBMBOT_CONFIG");
    cmd
}

fn list_wall_time(bin: &Path, dir: &Path, db: &str, jobs: usize) -> (f64, f64) {
    write_catalogue(dir, "true {n}");
    let mut q = open(db);
    q.atomically(|q| {
        for i in 0..jobs {
            q.schedule(&new_job(i, 0), Timestamp::now())?;
        }
        Ok::<_, ebmbot::queue::QueueError>(())
    })
    .expect("schedule");
    drop(q);
    let mut times: Vec<f64> = (0..20)
        .map(|_| {
            // Into a file, so that what is timed is ebmbot, not a reader at the end of a pipe.
            let file = std::fs::File::create(dir.join("out.json")).expect("output file");
            let start = Instant::now();
            let status = ebmbot(bin, dir, db).args(["queue", "list", "--json"]).stdout(file).status().expect("run");
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

/// `dispatchers` processes wait, each as a host of its own (`EBMBOT_HOST_ID`).
fn dispatch_latency(bin: &Path, dir: &Path, db: &str, jobs: usize, dispatchers: usize) -> (f64, f64, f64) {
    write_catalogue(dir, "echo $EPOCHREALTIME {n}");
    let mut waiting: Vec<_> = (0..dispatchers)
        .map(|k| {
            let mut cmd = ebmbot(bin, dir, db);
            cmd.arg("dispatch").env("EBMBOT_HOST_ID", format!("host-{k}")).stderr(Stdio::null());
            cmd.spawn().expect("dispatch")
        })
        .collect();
    let q = open(db);
    let mut latencies = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let out = ebmbot(bin, dir, db)
            .args(["schedule", "bench", "job0", "--n", &i.to_string(), "--json"])
            .stderr(Stdio::null())
            .output()
            .expect("schedule");
        let returned = now_seconds();
        assert!(out.status.success());
        let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")["id"].as_i64().expect("id");
        let started = wait_for_output(&q, id);
        latencies.push((started - returned) * 1000.0);
    }
    for dispatcher in &mut waiting {
        stop(dispatcher);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.95), latencies[latencies.len() - 1])
}

fn stop(child: &mut std::process::Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64()
}

/// Reads the job's stdout (`$EPOCHREALTIME n`) once it has finished.
fn wait_for_output(q: &Queue, id: i64) -> f64 {
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

/// CPU time (user + system, all threads) an idle `ebmbot serve` uses over `span`, in percent
/// of one core, after five seconds to settle.
fn idle_cpu(bin: &Path, dir: &Path, db: &str, span: Duration) -> f64 {
    write_catalogue(dir, "true {n}");
    let mut serve =
        ebmbot(bin, dir, db).args(["serve", "--bind", "127.0.0.1:0"]).stderr(Stdio::null()).spawn().expect("serve");
    std::thread::sleep(Duration::from_secs(5));
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", serve.id())).expect("serve is running");
        // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')').expect("stat").1.split_whitespace().collect();
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
    };
    let (before, start) = (ticks(), Instant::now());
    std::thread::sleep(span);
    let used = ticks() - before;
    let elapsed = start.elapsed().as_secs_f64();
    stop(&mut serve);
    // `/proc` counts in USER_HZ, 100 a second on Linux.
    used as f64 / 100.0 / elapsed * 100.0
}
