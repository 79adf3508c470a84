//! `TestEnv`: a temp dir with a `jobs.toml`, workspace scripts, a database and logs, and the
//! real `ebmbot` binary run inside it as a user would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

pub struct TestEnv {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// Environment variables ebmbot reads; cleared so the tests see only what they set.
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
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_LOGS_CHANNEL",
    "SLACK_TECH_SUPPORT_CHANNEL",
    "SLACK_APP_USERNAME",
    "SLACK_ACK_REACTION",
    "SLACK_AUTO_JOIN",
    "SLACK_RETRY_BASE",
    "GITHUB_WEBHOOK_SECRET",
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
        TestEnv { _dir: dir, root }
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
        cmd.current_dir(&self.root).env("EBMBOT_KILL_GRACE", "200ms");
        cmd
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
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} never became {what}: {job:#}");
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// A child process that is killed when dropped, so a failing test leaves nothing running.
pub struct Proc(pub Child);

impl Proc {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for it to exit by itself and returns its output.
    pub fn output(mut self) -> Output {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        use std::io::Read;
        if let Some(mut o) = self.0.stdout.take() {
            let _ = o.read_to_end(&mut stdout);
        }
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_end(&mut stderr);
        }
        Output { status: self.0.wait().expect("wait"), stdout, stderr }
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
    let child = &mut proc.0;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "ebmbot did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    use std::io::Read;
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Output { status: child.wait().expect("wait"), stdout, stderr }
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
