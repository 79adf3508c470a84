//! What ebmbot writes is its user's only — the database with its `-wal` and `-shm`, job log
//! directories and files — whatever the umask; and jobs keep the umask ebmbot was started with
//! (docs/security.md §5).

use std::process::Command;

use crate::support::{OURS, TestEnv};

const JOBS: &str = r#"
[f.jobs.modes]
run_args_template = "./modes.sh"
"#;

/// Prints the modes of what ebmbot made (the database is open while the job runs, so its WAL
/// and shared-memory files exist) and of what the job makes itself.
const MODES: &str = r#"#!/usr/bin/env bash
touch own-file && mkdir -p own-dir
for f in ../../ebmbot.db ../../ebmbot.db-wal ../../ebmbot.db-shm ../../logs ../../logs/f_modes "$EBMBOT_LOG_DIR" \
    "$EBMBOT_LOG_DIR/stdout" "$EBMBOT_LOG_DIR/stderr" own-file own-dir; do
  echo "$(stat -c %a "$f") ${f#../../}"
done
"#;

/// `ebmbot args...` started with `umask`, in the test's directory.
fn with_umask(env: &TestEnv, umask: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_ebmbot")])
        .args(args)
        .current_dir(&env.root);
    for var in OURS {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run ebmbot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn ebmbot_creates_its_files_private_and_jobs_keep_the_umask() {
    for (umask, file, dir) in [("022", "644", "755"), ("002", "664", "775"), ("077", "600", "700")] {
        let env = TestEnv::new(JOBS);
        env.script("f", "modes.sh", MODES);
        let out = with_umask(&env, umask, &["run", "f", "modes"]);
        let log = out.lines().find(|l| l.contains("/logs/f_modes/")).map(|l| l.split(' ').nth(1).unwrap());
        let expected = format!(
            "600 ebmbot.db\n600 ebmbot.db-wal\n600 ebmbot.db-shm\n700 logs\n700 logs/f_modes\n700 {log}\n\
             600 {log}/stdout\n600 {log}/stderr\n{file} own-file\n{dir} own-dir\n",
            log = log.unwrap_or("(no log dir)")
        );
        assert_eq!(out, expected, "umask {umask}");
    }
}
