//! Everything the integration tests share, in one place.
//!
//! - here: [`TestEnv`], a temp dir with a `jobs.toml`, workspace scripts, a database and logs,
//!   and the real `ebmbot` binary run inside it as a user would; [`Proc`], a long-running
//!   `ebmbot` killed when dropped; waits for an event with a deadline that fails loudly.
//! - [`fake_slack`]: a fake Slack Web API and Socket Mode websocket on 127.0.0.1.
//! - [`slack`]: [`slack::Slack`], a `TestEnv` wired to a fake Slack.
//! - [`web`]: an in-process web server on 127.0.0.1:0, a client, GitHub signatures and fixtures.

pub mod fake_slack;
#[cfg_attr(not(ebmbot_pg_tests), allow(dead_code, reason = "the partition test is in the PostgreSQL half only"))]
pub mod proxy;
pub mod slack;
pub mod web;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

pub struct TestEnv {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// The test's own PostgreSQL database, in the PostgreSQL half of the suite.
    pub pg: Option<PgDb>,
}

/// True in the PostgreSQL half of the suite: the same tests, compiled a second time inside a
/// module `pg` (see `main.rs`), which libtest names their threads after.
pub fn on_postgres() -> bool {
    std::thread::current().name().is_some_and(|n| n.starts_with("pg::"))
}

/// A database of its own for one test on the server `EBMBOT_TEST_POSTGRES` names (advisory
/// locks and notification channels are per database), dropped with the test.
pub struct PgDb {
    pub url: String,
    name: String,
    admin: String,
}

impl PgDb {
    pub fn create() -> PgDb {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = std::env::var("EBMBOT_TEST_POSTGRES")
            .ok()
            .or_else(|| option_env!("EBMBOT_TEST_POSTGRES").map(str::to_owned))
            .filter(|v| !v.is_empty())
            .expect("the PostgreSQL half was built with EBMBOT_TEST_POSTGRES set; set it when running too");
        let name = format!("ebmbot_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        // On a thread of its own: the blocking client cannot run on an async test's thread.
        let created = std::thread::scope(|s| {
            s.spawn(|| {
                let mut client = postgres::Client::connect(&admin, postgres::NoTls).map_err(|e| e.to_string())?;
                client.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())
            })
            .join()
            .expect("the thread creating the test database")
        });
        if let Err(e) = created {
            panic!(
                "EBMBOT_TEST_POSTGRES={admin}: cannot create a test database ({e}); start the server or unset the variable"
            );
        }
        let (base, query) = admin.split_once('?').map_or((admin.as_str(), ""), |(b, q)| (b, q));
        let host_end = base.find("://").map_or(0, |i| i + 3);
        let base = base[host_end..].find('/').map_or(base, |i| &base[..host_end + i]);
        let url = if query.is_empty() { format!("{base}/{name}") } else { format!("{base}/{name}?{query}") };
        PgDb { url, name, admin }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        std::thread::scope(|s| {
            s.spawn(|| {
                if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
                }
            });
        });
    }
}

/// Environment variables ebmbot reads; cleared so the tests see only what they set.
/// [`TestEnv::on_terminal`]'s driver: argv = prompt, keys, program, args.
const ON_TERMINAL: &str = r#"
import os, pty, select, sys
prompt, keys = sys.argv[1].encode(), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], sys.argv[3:])
seen, typed = b"", False
while True:
    ready, _, _ = select.select([fd], [], [], 20)
    if not ready:
        os.kill(pid, 9)
        break
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if not typed and prompt in seen:
        os.write(fd, keys)
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

pub const OURS: &[&str] = &[
    "EBMBOT_CONFIG",
    "EBMBOT_DB",
    "DB_PATH",
    "WORKSPACE_DIR",
    "WRITEABLE_DIR",
    "WRITEABLE_WORKSPACE_DIR",
    "LOGS_DIR",
    "HOST_LOGS_DIR",
    "EBMBOT_BIND",
    "EBMBOT_SHELL",
    "EBMBOT_JOB_TIMEOUT",
    "EBMBOT_KILL_GRACE",
    "EBMBOT_MAX_JOBS",
    "EBMBOT_SHUTDOWN_GRACE",
    "EBMBOT_RETENTION",
    "EBMBOT_MAX_LOG",
    "EBMBOT_MAX_BODY",
    "EBMBOT_TIMEZONE",
    "EBMBOT_SYNC",
    "EBMBOT_WAKE_POLL",
    "EBMBOT_HOST_ID",
    "EBMBOT_LEASE",
    "EBMBOT_DB_LOG_MAX",
    "PGSSLROOTCERT",
    "PGPASSFILE",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_LOGS_CHANNEL",
    "SLACK_TECH_SUPPORT_CHANNEL",
    "SLACK_APP_USERNAME",
    "SLACK_ACK_REACTION",
    "SLACK_AUTO_JOIN",
    "SLACK_REPLY_IN_THREAD",
    "SLACK_PROGRESS_EVERY",
    "SLACK_RETRY_BASE",
    "GITHUB_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN_FILE",
    "SLACK_APP_TOKEN_FILE",
    "SLACK_SIGNING_SECRET_FILE",
    "GITHUB_WEBHOOK_SECRET_FILE",
    "CREDENTIALS_DIRECTORY",
    "RUST_LOG",
];

impl TestEnv {
    /// A temp dir with `jobs.toml` = `jobs` and an empty `workspace/<ns>` for each namespace
    /// the test adds scripts to.
    pub fn new(jobs: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        std::fs::write(root.join("jobs.toml"), jobs).expect("write jobs.toml");
        std::fs::create_dir_all(root.join("workspace")).expect("workspace");
        let pg = on_postgres().then(PgDb::create);
        TestEnv { _dir: dir, root, pg }
    }

    /// `EBMBOT_DB` for this test: its PostgreSQL database, or `ebmbot.db` in the temp dir.
    pub fn db(&self) -> String {
        match &self.pg {
            Some(pg) => pg.url.clone(),
            None => self.root.join("ebmbot.db").display().to_string(),
        }
    }

    /// The database, for opening the queue in the test itself.
    pub fn location(&self) -> ebmbot::queue::Location {
        ebmbot::queue::Location::parse(&self.db(), &self.root).expect("a valid database")
    }

    /// The environment that points ebmbot at this test's database (none on SQLite: the
    /// default `./ebmbot.db` is it).
    pub fn db_env(&self) -> Vec<(&'static str, String)> {
        self.pg.as_ref().map(|pg| vec![("EBMBOT_DB", pg.url.clone())]).unwrap_or_default()
    }

    /// Writes an executable script `workspace/<ns>/<name>`.
    pub fn script(&self, ns: &str, name: &str, body: &str) -> &TestEnv {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.root.join("workspace").join(ns);
        std::fs::create_dir_all(&dir).expect("namespace dir");
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    pub fn workspace(&self, ns: &str) -> PathBuf {
        let dir = self.root.join("workspace").join(ns);
        std::fs::create_dir_all(&dir).expect("namespace dir");
        dir
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `ebmbot` with a clean environment, run in the temp dir.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebmbot"));
        for var in OURS {
            cmd.env_remove(var);
        }
        cmd.current_dir(&self.root).env("EBMBOT_KILL_GRACE", "200ms").envs(self.db_env()).timeout(DEADLINE);
        cmd
    }

    /// Runs `ebmbot args...` on a terminal (a pseudo-terminal, through python3's `pty`): once
    /// `prompt` appears, `keys` are typed. Returns the exit code and everything the terminal
    /// showed.
    pub fn on_terminal(&self, prompt: &str, keys: &str, args: &[&str]) -> (Option<i32>, String) {
        let mut cmd = Command::new("python3");
        for var in OURS {
            cmd.env_remove(var);
        }
        let out = cmd
            .current_dir(&self.root)
            .env("EBMBOT_KILL_GRACE", "200ms")
            .envs(self.db_env())
            .args(["-c", ON_TERMINAL, prompt, keys, env!("CARGO_BIN_EXE_ebmbot")])
            .args(args)
            .timeout(DEADLINE)
            .output()
            .expect("run python3");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `ebmbot args...` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run ebmbot")
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ebmbot {args:?} failed ({:?}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs a command that must fail with `code`, and returns its stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "ebmbot {args:?}: stdout {}\nstderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// Runs a read command with `--json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// The job with `id` as `queue list --all --json` shows it.
    pub fn job(&self, id: i64) -> Value {
        let jobs = self.json(&["queue", "list", "--all", "--limit", "100000", "--since", "1d"]);
        jobs.as_array()
            .expect("array")
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no job {id} in {jobs:#}"))
    }

    /// Schedules and returns the new job's id.
    pub fn schedule(&self, args: &[&str]) -> i64 {
        let mut all = vec!["schedule"];
        all.extend_from_slice(args);
        self.json(&all)["id"].as_i64().expect("id")
    }

    /// A long-running `ebmbot` (e.g. `dispatch`) with stdout and stderr piped; killed if the
    /// test ends (or fails) without stopping it.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        self.cmd_spawn_with(args, &[])
    }

    /// [`TestEnv::spawn`] with extra environment variables.
    pub fn cmd_spawn_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Proc {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_ebmbot"));
        for var in OURS {
            cmd.env_remove(var);
        }
        cmd.current_dir(&self.root)
            .env("EBMBOT_KILL_GRACE", "200ms")
            .envs(self.db_env())
            .envs(vars.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(Proc)
            .expect("spawn ebmbot")
    }

    /// Polls the queue until the job reaches a state for which `done` is true.
    pub fn wait_for(&self, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        wait_until(&format!("job {id} to become {what}"), || {
            last = self.job(id);
            done(&last).then(|| last.clone())
        })
    }

    pub fn wait_state(&self, id: i64, state: &str) -> Value {
        self.wait_for(id, state, |j| j["state"] == state)
    }

    /// A job's log file (`stdout` or `stderr`).
    pub fn log(&self, id: i64, stream: &str) -> String {
        let job = self.job(id);
        let dir = job["log_dir"].as_str().unwrap_or_else(|| panic!("job {id} has no log dir: {job:#}"));
        std::fs::read_to_string(Path::new(dir).join(stream)).unwrap_or_default()
    }
}

/// How long a test waits for anything before it fails: far longer than anything takes on a
/// loaded machine, short enough that a hung test fails instead of hanging CI.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Waits until `check` returns `Some`, polling every 10 ms; panics naming `what` after
/// [`DEADLINE`].
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up after {DEADLINE:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The lines a child writes to a pipe, read on a thread of their own, so a test can wait for
/// one line with a deadline.
pub struct Lines {
    rx: Receiver<String>,
    seen: Vec<String>,
    /// Lines before this one were passed over by an earlier [`Lines::wait_for`].
    next: usize,
}

impl Lines {
    pub fn of(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, seen: Vec::new(), next: 0 }
    }

    /// Waits for a line containing `text`, after the line the last call returned, and returns
    /// it; panics after [`DEADLINE`], or when the pipe closes first, with everything read so far.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(at) = self.seen[self.next..].iter().position(|l| l.contains(text)) {
                self.next += at + 1;
                return self.seen[self.next - 1].clone();
            }
            match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("no line with `{text}` ({e}); read so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Everything read so far.
    pub fn seen(&self) -> String {
        self.seen.join("\n")
    }
}

/// A child process that is killed when dropped, so a failing test leaves nothing running.
pub struct Proc(pub Child);

impl Proc {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for it to exit by itself and returns its output; kills it and panics after
    /// [`DEADLINE`].
    pub fn output(mut self) -> Output {
        collect(&mut self.0)
    }

    /// Takes its stderr, to wait for lines on it.
    pub fn stderr_lines(&mut self) -> Lines {
        Lines::of(self.0.stderr.take().expect("stderr is piped"))
    }

    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().expect("try_wait")
    }

    /// SIGKILL, like a crash.
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Stops a child we started (SIGTERM) and waits for it.
pub fn stop(proc: &mut Proc) -> Output {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(proc.0.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    collect(&mut proc.0)
}

/// Reads a child's piped output (on threads, so a full pipe cannot stall it) until it exits;
/// kills it and panics after [`DEADLINE`].
fn collect(child: &mut Child) -> Output {
    let (stdout, stderr) = (Drain::of(child.stdout.take()), Drain::of(child.stderr.take()));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ebmbot (pid {}) still running after {DEADLINE:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: stdout.take(), stderr: stderr.take() }
}

/// A pipe read to its end on a thread of its own.
struct Drain {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Drain {
    fn of(pipe: Option<impl Read + Send + 'static>) -> Drain {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&bytes);
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                into.lock().expect("pipe buffer").extend_from_slice(&chunk[..n]);
            }
        });
        Drain { bytes, reader }
    }

    /// What was read, once the pipe closed; or after a second, what was read by then (a job's
    /// grandchild may hold the pipe open after ebmbot exited).
    fn take(self) -> Vec<u8> {
        let until = Instant::now() + Duration::from_secs(1);
        while !self.reader.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *self.bytes.lock().expect("pipe buffer"))
    }
}

/// True while a process with this pid exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits until `pid` is gone.
pub fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}
