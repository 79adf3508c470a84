//! A job cannot read ebmbot's secrets (docs/security.md §3): not in its own environment, not in
//! the environment or memory of any of its ancestors. ebmbot runs as an unprivileged user
//! (`setpriv`), as it should in production: root may read any process, so the attack only
//! means something without it. The probe's control — a process it starts itself with a marker in
//! its environment — shows that the same reads find a value wherever they are allowed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{OURS, TestEnv};

const NOBODY: u32 = 65534;
const TOKEN: &str = "xoxb-probe-4c1d2e";
const APP_TOKEN: &str = "xapp-probe-9b8a7f";

const JOBS: &str = r#"
[s.jobs.probe]
run_args_template = "./probe.sh"

[p]
pass_secrets = ["SLACK_BOT_TOKEN"]

[p.jobs.passed]
run_args_template = "./passed.sh"
"#;

/// Looks for the needles in its own environment and in the environment and readable memory of
/// every ancestor, then of a control process that holds the marker. One line per process:
/// `<who> <pid> environ=<found|clean|denied> mem=<found|clean|denied|-> <command>`.
const PROBE: &str = r#"#!/usr/bin/env bash
mapfile -t n < needles
needles=(-e "${n[0]}" -e "${n[1]}" -e "${n[2]}")
look() { # pid, with-memory -> environ=… mem=…
  local p=$1 env mem=-
  if env=$(tr '\0' '\n' < /proc/$p/environ 2>/dev/null); then
    if grep -qF "${needles[@]}" <<<"$env"; then env=found; else env=clean; fi
  else env=denied; fi
  if [ "$2" = mem ]; then
    mem=clean
    if ! maps=$(cat /proc/$p/maps 2>/dev/null) || [ -z "$maps" ] || ! { exec 3< /proc/$p/mem; } 2>/dev/null; then
      mem=denied
    else
      exec 3<&-
      while read -r range perms _ _ _ name; do
        [[ $perms == r* && $name != "[vvar]"* && $name != "[vsyscall]" ]] || continue
        start=$((16#${range%-*})) end=$((16#${range#*-}))
        if dd if=/proc/$p/mem bs=65536 iflag=skip_bytes,count_bytes skip=$start count=$((end - start)) 2>/dev/null \
            | grep -aqF "${needles[@]}"; then mem=found; break; fi
      done <<<"$maps"
    fi
  fi
  echo "environ=$env mem=$mem $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-300)"
}
echo "self $$ $(look $$ no)"
p=$PPID
while [ "$p" -gt 1 ]; do
  echo "ancestor $p $(look $p mem)"
  p=$(sed 's/.*) //' /proc/$p/stat | awk '{print $2}')
done
CONTROL=${n[2]} sleep 30 &
control=$!
until grep -qF "${n[2]}" /proc/$control/environ 2>/dev/null; do sleep 0.01; done
echo "control $control $(look $control mem)"
kill $control
"#;

/// The three ways to give the secrets, with the variables that do it.
fn ways(dir: &Path) -> Vec<(&'static str, Vec<(String, String)>)> {
    let file = |name: &str| dir.join("files").join(name).display().to_string();
    vec![
        (
            "files",
            vec![
                ("SLACK_BOT_TOKEN_FILE".into(), file("SLACK_BOT_TOKEN")),
                ("SLACK_APP_TOKEN_FILE".into(), file("SLACK_APP_TOKEN")),
            ],
        ),
        ("credentials", vec![("CREDENTIALS_DIRECTORY".into(), dir.join("files").display().to_string())]),
        ("environment", vec![("SLACK_BOT_TOKEN".into(), TOKEN.into()), ("SLACK_APP_TOKEN".into(), APP_TOKEN.into())]),
    ]
}

/// `ebmbot args...` as nobody, in the test's directory, with `vars` and a clean environment.
fn as_nobody(env: &TestEnv, vars: &[(String, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("setpriv");
    cmd.args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ebmbot"))
        .args(args)
        .current_dir(&env.root)
        .env("EBMBOT_KILL_GRACE", "200ms");
    for var in OURS {
        cmd.env_remove(var);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v))).output().expect("setpriv")
}

/// Why this machine cannot run ebmbot as another user, if it cannot.
fn cannot_drop_root() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("the tests do not run as root, so they cannot start ebmbot as another user".into());
    }
    let probe = Command::new("setpriv")
        .args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ebmbot"))
        .arg("--version")
        .output();
    match probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("setpriv cannot run ebmbot as uid {NOBODY}: {}", String::from_utf8_lossy(&out.stderr))),
        Err(e) => Some(format!("setpriv is not available: {e}")),
    }
}

fn chown_all(path: &Path) {
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_all(&entry.expect("entry").path());
        }
    }
}

#[test]
fn a_job_finds_no_secret_in_itself_or_any_ancestor() {
    if let Some(why) = cannot_drop_root() {
        eprintln!("SKIPPED a_job_finds_no_secret_in_itself_or_any_ancestor: {why}");
        return;
    }
    let env = TestEnv::new(JOBS);
    let files = env.path("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("SLACK_BOT_TOKEN"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(files.join("SLACK_APP_TOKEN"), APP_TOKEN).unwrap();
    for name in ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"] {
        std::fs::set_permissions(files.join(name), std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    env.script("s", "probe.sh", PROBE);
    env.script(
        "p",
        "passed.sh",
        "#!/usr/bin/env bash\nprintf '%s|%s|%s' \"$SLACK_BOT_TOKEN\" \"${SLACK_APP_TOKEN-unset}\" \"${SLACK_BOT_TOKEN_FILE-unset}${SLACK_APP_TOKEN_FILE-}${CREDENTIALS_DIRECTORY-}\"\n",
    );
    // What the probe looks for: both secrets, and where they are kept (also the control's marker).
    let needles = format!("{TOKEN}\n{APP_TOKEN}\n{}\n", files.display());
    std::fs::write(env.workspace("s").join("needles"), needles).unwrap();
    chown_all(&env.root);

    for (way, vars) in ways(&env.root) {
        let out = as_nobody(&env, &vars, &["run", "s", "probe"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{way}: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        let ebmbot = lines.iter().find(|l| l.contains("ebmbot run")).unwrap_or_else(|| panic!("{way}: {stdout}"));
        let reaper = lines.iter().find(|l| l.contains(" __reap ")).unwrap_or_else(|| panic!("{way}: {stdout}"));
        let control = lines.iter().find(|l| l.starts_with("control ")).unwrap_or_else(|| panic!("{way}: {stdout}"));
        assert!(lines[0].starts_with("self ") && lines[0].contains("environ=clean"), "{way}: {stdout}");
        assert!(reaper.contains("environ=clean mem=clean"), "{way}: the subreaper holds nothing: {stdout}");
        assert!(ebmbot.contains("environ=denied mem=denied"), "{way}: ebmbot is not dumpable: {stdout}");
        assert!(control.contains("environ=found mem=found"), "{way}: the probe finds what it may read: {stdout}");
        for line in lines.iter().filter(|l| l.starts_with("ancestor ") || l.starts_with("self ")) {
            assert!(!line.contains("found"), "{way}: a secret leaked: {line}\n{stdout}");
        }

        // The good path beside it: a namespace that passes the token gets its value, and still
        // not where it is kept.
        let out = as_nobody(&env, &vars, &["run", "p", "passed"]);
        assert!(out.status.success(), "{way}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{TOKEN}|unset|unset"), "{way}");
    }
}

#[test]
fn start_up_warns_once_about_root_and_secrets_in_the_environment() {
    let env = TestEnv::new("");
    let secret = env.path("secret");
    std::fs::write(&secret, "s3cr3t-in-a-file\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dispatch = |vars: &[(&str, &str)]| {
        let out = env.cmd().envs(vars.iter().copied()).args(["dispatch", "--once"]).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let root = nix::unistd::geteuid().is_root();

    let (code, stderr) = dispatch(&[("GITHUB_WEBHOOK_SECRET", "s3cr3t-in-env")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches("GITHUB_WEBHOOK_SECRET comes from the environment").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("ebmbot runs as root").count(), usize::from(root), "{stderr}");
    assert!(!stderr.contains("s3cr3t"), "{stderr}");

    let file = secret.display().to_string();
    let (code, stderr) = dispatch(&[("GITHUB_WEBHOOK_SECRET_FILE", &file)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("GITHUB_WEBHOOK_SECRET comes from"), "a private file is not warned about: {stderr}");

    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, stderr) = dispatch(&[("GITHUB_WEBHOOK_SECRET_FILE", &file)]);
    assert!(stderr.contains("which every user of this host can read (mode 644); `chmod 600` it"), "{stderr}");

    // Both at once: refused before anything starts, naming both places and neither value.
    let (code, stderr) = dispatch(&[("GITHUB_WEBHOOK_SECRET_FILE", &file), ("GITHUB_WEBHOOK_SECRET", "s3cr3t-in-env")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: GITHUB_WEBHOOK_SECRET is set twice, by the environment and by the file {file}; keep only one (a file is safer)"
        ),
    );

    // Short-lived commands say nothing of it.
    let out = env.cmd().env("GITHUB_WEBHOOK_SECRET", "s3cr3t-in-env").args(["queue", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warn"), "{}", String::from_utf8_lossy(&out.stderr));
}
