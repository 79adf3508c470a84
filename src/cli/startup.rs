//! What the long-running commands do first (docs/security.md §3): stop being dumpable, so that
//! another process of the same user (a job) cannot read their memory or environment, and warn
//! once about what weakens that (running as root, secrets in the environment itself).

use std::os::unix::fs::PermissionsExt;

use crate::config::Settings;
use crate::config::secrets::Source;

/// Makes this process non-dumpable: its `/proc/<pid>/environ`, `/proc/<pid>/mem` and `ptrace`
/// are then closed to every process of the same user that is not root. Failing is a warning:
/// ebmbot still works, only less guarded.
pub(super) fn not_dumpable() {
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(%error, "cannot make ebmbot non-dumpable; its jobs may read its memory and environment");
    }
}

/// One warning for root, one for each secret read from the environment itself.
pub(super) fn warn(settings: &Settings) {
    if nix::unistd::geteuid().is_root() {
        tracing::warn!(
            "ebmbot runs as root, and so do its jobs: they can read ebmbot's memory and secrets; run it as an unprivileged user (see DEPLOY.md)"
        );
    }
    for (var, source) in &settings.secret_sources {
        if let Source::File(path) | Source::Credential(path) = source
            && let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o007 != 0
        {
            tracing::warn!(
                "{var} comes from {source}, which every user of this host can read (mode {:o}); `chmod 600` it",
                meta.permissions().mode() & 0o7777
            );
        }
    }
    for var in settings.secrets_from_env() {
        tracing::warn!(
            "{var} comes from the environment, where a process of the same user may read it; put it in a file named by {var}_FILE or a systemd credential (see docs/security.md)"
        );
    }
}
