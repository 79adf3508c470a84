//! The real binary: `ebmbot serve` / `ebmbot web` start-up messages and shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ebmbot::queue::model::{JobId, JobState};
use ebmbot::queue::{Location, Options, Queue};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::web::{SECRET, client, delivery, send, sign256};
use crate::support::{Lines, OURS, PgDb, on_postgres};

const JOBS: &str = r#"
[t.jobs.slow]
run_args_template = "sleep {seconds}"

[[t.github]]
event = "push"
job_type = "slow"
params = { seconds = "/seconds" }
"#;

/// A running `ebmbot` with its stderr read line by line on a thread.
struct Running {
    child: Child,
    stderr: Lines,
    addr: SocketAddr,
}

impl Running {
    fn start(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebmbot"));
        for var in OURS {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .current_dir(dir)
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
            .env("EBMBOT_KILL_GRACE", "200ms")
            .env("EBMBOT_DB", db(dir))
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Lines::of(child.stderr.take().unwrap());
        let mut running = Running { child, stderr, addr: "0.0.0.0:0".parse().unwrap() };
        let first = running.stderr.wait_for("listening on http://");
        running.addr = first.rsplit("http://").next().unwrap().parse().unwrap();
        running.stderr.wait_for("dispatcher:");
        if args.first() == Some(&"serve") {
            running.stderr.wait_for("Slack bot:");
        }
        running
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(i32::try_from(self.child.id()).unwrap()), signal).unwrap();
    }

    /// Waits for the process to exit within `within`.
    fn exit_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.stderr.seen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp dir, and in the PostgreSQL half the test's database (its URL in `db.url`).
struct Temp(#[allow(dead_code)] tempfile::TempDir, #[allow(dead_code)] Option<PgDb>);

fn temp_with(jobs: &str) -> (Temp, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("jobs.toml"), jobs).unwrap();
    std::fs::create_dir_all(root.join("workspace/t")).unwrap();
    let pg = on_postgres().then(PgDb::create);
    if let Some(pg) = &pg {
        std::fs::write(root.join("db.url"), &pg.url).unwrap();
    }
    (Temp(dir, pg), root)
}

/// `EBMBOT_DB` for a temp dir: its PostgreSQL database, or `ebmbot.db` in it.
fn db(root: &Path) -> String {
    std::fs::read_to_string(root.join("db.url")).unwrap_or_else(|_| root.join("ebmbot.db").display().to_string())
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    crate::support::wait_until(what, || done().then_some(()));
}

fn state(root: &Path, id: JobId) -> (JobState, Option<String>) {
    let queue = Queue::open(Location::parse(&db(root), root).unwrap(), Options::default()).unwrap();
    let job = queue.job(id).unwrap().unwrap();
    (job.state(), job.status.outcome().and_then(ebmbot::queue::model::Outcome::detail))
}

/// Schedules `sleep <seconds>` through a signed webhook and returns its id.
fn schedule_slow(addr: SocketAddr, seconds: &str) -> JobId {
    let body = format!(r#"{{"ref": "refs/heads/main", "seconds": "{seconds}"}}"#).into_bytes();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let reply = runtime.block_on(send(
        client()
            .post(format!("http://{addr}/github/t/"))
            .header("X-GitHub-Event", "push")
            .header("X-GitHub-Delivery", delivery())
            .header("X-Hub-Signature-256", sign256(&body))
            .body(body),
    ));
    JobId(reply.json["jobs"][0]["id"].as_i64().unwrap_or_else(|| panic!("{reply:?}")))
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let reply = runtime.block_on(send(client().get(format!("http://{addr}{path}"))));
    (reply.status, reply.text)
}

#[test]
fn serve_in_a_fresh_clone_starts_and_says_what_is_off_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(repo.join("jobs.toml"), root.join("jobs.toml")).unwrap();
    let mut serve = Running::start(&root, &["serve"], &[]);
    let banner = serve.stderr.seen();
    for expected in [
        format!("database:        {}", root.join("ebmbot.db").display()),
        format!("config:          {}", root.join("jobs.toml").display()),
        "GitHub webhooks: off (GITHUB_WEBHOOK_SECRET is not set)".to_owned(),
        "Slack bot:       off (SLACK_BOT_TOKEN is not set)".to_owned(),
        "dispatcher:      on".to_owned(),
    ] {
        assert!(banner.contains(&expected), "no `{expected}` in:\n{banner}");
    }
    assert_eq!(get(serve.addr, "/healthz"), (200, "ok".to_owned()));
    wait_until("/readyz", || get(serve.addr, "/readyz").0 == 200);
    serve.signal(Signal::SIGTERM);
    assert!(serve.exit_within(Duration::from_secs(10)).success());
}

#[test]
fn sigterm_stops_a_running_job_after_the_grace_and_records_it_cancelled() {
    let (_dir, root) = temp_with(JOBS);
    let vars = [("GITHUB_WEBHOOK_SECRET", SECRET), ("EBMBOT_SHUTDOWN_GRACE", "300ms")];
    let mut serve = Running::start(&root, &["serve"], &vars);
    let id = schedule_slow(serve.addr, "30");
    wait_until("the job to run", || state(&root, id).0 == JobState::Running);
    let started = Instant::now();
    serve.signal(Signal::SIGTERM);
    assert!(serve.exit_within(Duration::from_secs(10)).success());
    assert!(started.elapsed() >= Duration::from_millis(300), "did not wait the grace");
    assert_eq!(state(&root, id), (JobState::Cancelled, Some("cancelled by ebmbot shut down".to_owned())));
    assert!(std::net::TcpStream::connect(serve.addr).is_err(), "still accepting");
}

#[test]
fn a_second_signal_skips_the_wait_and_new_connections_are_refused_meanwhile() {
    let (_dir, root) = temp_with(JOBS);
    let vars = [("GITHUB_WEBHOOK_SECRET", SECRET), ("EBMBOT_SHUTDOWN_GRACE", "1h")];
    let mut serve = Running::start(&root, &["serve"], &vars);
    let id = schedule_slow(serve.addr, "30");
    wait_until("the job to run", || state(&root, id).0 == JobState::Running);
    serve.signal(Signal::SIGINT);
    wait_until("the listener to close", || std::net::TcpStream::connect(serve.addr).is_err());
    assert!(serve.child.try_wait().unwrap().is_none(), "exited before its job ended");
    assert_eq!(state(&root, id).0, JobState::Running);
    serve.signal(Signal::SIGTERM);
    assert!(serve.exit_within(Duration::from_secs(10)).success());
    assert_eq!(state(&root, id).0, JobState::Cancelled);
}

#[test]
fn a_job_that_ends_within_the_grace_finishes_normally() {
    let (_dir, root) = temp_with(JOBS);
    let vars = [("GITHUB_WEBHOOK_SECRET", SECRET), ("EBMBOT_SHUTDOWN_GRACE", "30s")];
    let mut serve = Running::start(&root, &["serve"], &vars);
    let id = schedule_slow(serve.addr, "0.5");
    wait_until("the job to run", || state(&root, id).0 != JobState::Pending);
    serve.signal(Signal::SIGTERM);
    assert!(serve.exit_within(Duration::from_secs(10)).success());
    assert_eq!(state(&root, id).0, JobState::Succeeded);
}

#[test]
fn web_serves_webhooks_without_a_dispatcher_and_exits_on_sigint() {
    let (_dir, root) = temp_with(JOBS);
    let mut web = Running::start(&root, &["web"], &[("GITHUB_WEBHOOK_SECRET", SECRET)]);
    let banner = web.stderr.seen();
    assert!(banner.contains("GitHub webhooks: on: POST http://"), "{banner}");
    assert!(banner.contains("dispatcher:      off"), "{banner}");
    assert_eq!(get(web.addr, "/readyz"), (200, "ready\ndatabase: ok\n".to_owned()));
    let id = schedule_slow(web.addr, "1");
    assert_eq!(state(&root, id).0, JobState::Pending);
    web.signal(Signal::SIGINT);
    assert!(web.exit_within(Duration::from_secs(10)).success());
}

#[test]
fn a_bad_bind_address_is_exit_2() {
    let (_dir, root) = temp_with(JOBS);
    let out = Command::new(env!("CARGO_BIN_EXE_ebmbot"))
        .current_dir(&root)
        .args(["web", "--bind", "not an address"])
        .env_remove("EBMBOT_BIND")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bind address"));
}

#[test]
fn a_taken_port_is_exit_1_naming_the_address() {
    let (_dir, root) = temp_with(JOBS);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ebmbot"))
        .current_dir(&root)
        .args(["serve", "--bind", &addr])
        .env_remove("EBMBOT_BIND")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on `{addr}`")), "{stderr}");
}

/// SIGKILL between two deliveries: what was answered is in the database, and a redelivery of
/// it after the restart schedules nothing.
#[test]
fn a_web_server_killed_with_sigkill_loses_no_delivery() {
    let (_dir, root) = temp_with(JOBS);
    let mut web = Running::start(&root, &["web"], &[("GITHUB_WEBHOOK_SECRET", SECRET)]);
    let body = br#"{"ref": "refs/heads/main", "seconds": "5"}"#.to_vec();
    let id = "killed-delivery";
    let post = |addr: SocketAddr| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(send(
            client()
                .post(format!("http://{addr}/github/t/"))
                .header("X-GitHub-Event", "push")
                .header("X-GitHub-Delivery", id)
                .header("X-Hub-Signature-256", sign256(&body))
                .body(body.clone()),
        ))
    };
    let first = post(web.addr);
    let job = JobId(first.json["jobs"][0]["id"].as_i64().unwrap_or_else(|| panic!("{first:?}")));
    web.signal(Signal::SIGKILL);
    let _ = web.exit_within(Duration::from_secs(10));
    assert_eq!(state(&root, job).0, JobState::Pending, "the answered delivery's job survived the kill");

    let web = Running::start(&root, &["web"], &[("GITHUB_WEBHOOK_SECRET", SECRET)]);
    let again = post(web.addr);
    let message = again.json["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("already handled: delivery {id} scheduled job {}", job.0)), "{again:?}");
}
