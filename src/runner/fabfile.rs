//! Fetching a namespace's `fabfile` before each run (docs/architecture.md §7): https, or plain http only to a
//! loopback address (redirects included); at most [`MAX_SIZE`]; 10 s to connect and 30 s in all.
//! The body goes to a temporary file in the job's directory, which is then renamed over
//! `fabfile.py`, so a failed fetch leaves the previous file in place.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

/// The largest fabfile accepted: 5 MB.
pub(super) const MAX_SIZE: u64 = 5_000_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;

type UrlError = <Url as FromStr>::Err;

/// What went wrong fetching a fabfile; `Display` says which step, the source says why.
#[derive(Debug, thiserror::Error)]
pub enum FabfileError {
    #[error("fabfile URL `{url}` is not a valid URL")]
    BadUrl {
        url: String,
        #[source]
        source: UrlError,
    },
    #[error("refusing to fetch a fabfile from `{url}`: use https (plain http only to a loopback address)")]
    Insecure { url: String },
    #[error("cannot fetch the fabfile from `{url}`")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("fetching the fabfile from `{url}` took more than 30s (10s to connect)")]
    TimedOut {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("fetching the fabfile from `{url}` answered {status}")]
    Status { url: String, status: reqwest::StatusCode },
    #[error("the fabfile at `{url}` is larger than {MAX_SIZE} bytes")]
    TooLarge { url: String },
    #[error("cannot write the fabfile to {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start an HTTP client to fetch the fabfile")]
    Runtime(#[source] io::Error),
}

/// Fetches `url` into `<workdir>/fabfile.py` (creating `workdir` if needed) and returns that path.
///
/// Blocks the calling thread (it runs its own small runtime): call it from a plain thread, not
/// from inside an async task.
pub fn fetch_fabfile(url: &str, workdir: &Path) -> Result<PathBuf, FabfileError> {
    // Errors show the URL without its credentials (`user:token@`, query values).
    let shown = crate::config::redact::url(url).into_owned();
    let parsed = Url::parse(url).map_err(|source| FabfileError::BadUrl { url: shown.clone(), source })?;
    if !is_allowed(&parsed) {
        return Err(FabfileError::Insecure { url: shown });
    }
    super::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FabfileError::Runtime)?;
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| FabfileError::Write { path, source }
    };
    super::logs::create_private_dir(workdir).map_err(write_error(workdir))?;

    let target = workdir.join("fabfile.py");
    let temp = workdir.join(temp_name());
    let fetched = runtime
        .block_on(download(parsed, &temp))
        .and_then(|()| fs::rename(&temp, &target).map_err(write_error(&target)));
    if fetched.is_err() {
        let _ = fs::remove_file(&temp);
    }
    fetched.map(|()| target)
}

async fn download(url: Url, temp: &Path) -> Result<(), FabfileError> {
    let shown = crate::config::redact::url(url.as_str()).into_owned();
    let request_error = |source: reqwest::Error| {
        let url = shown.clone();
        // reqwest's own message names the URL, credentials included.
        let source = source.without_url();
        if source.is_timeout() { FabfileError::TimedOut { url, source } } else { FabfileError::Request { url, source } }
    };
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(Policy::custom(check_redirect))
        .build()
        .map_err(request_error)?;
    let mut response = client.get(url).send().await.map_err(request_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FabfileError::Status { url: shown, status });
    }
    if response.content_length().is_some_and(|n| n > MAX_SIZE) {
        return Err(FabfileError::TooLarge { url: shown });
    }

    let write_error = |source| FabfileError::Write { path: temp.to_owned(), source };
    let mut file = super::logs::create_private_file(temp).map_err(write_error)?;
    let mut size: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        size += chunk.len() as u64;
        if size > MAX_SIZE {
            return Err(FabfileError::TooLarge { url: shown });
        }
        file.write_all(&chunk).map_err(write_error)?;
    }
    file.sync_all().map_err(write_error)
}

fn check_redirect(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    if attempt.previous().len() >= MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else if is_allowed(attempt.url()) {
        attempt.follow()
    } else {
        let url = crate::config::redact::url(attempt.url().as_str()).into_owned();
        attempt.error(FabfileError::Insecure { url })
    }
}

/// https anywhere; http only to a loopback address (`127.0.0.0/8`, `::1` or `localhost`).
fn is_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(|host| {
            host.eq_ignore_ascii_case("localhost")
                || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

/// A name no other fetch (in this or another process) uses at the same time.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(".fabfile.py.{}.{n}.tmp", std::process::id())
}

#[cfg(test)]
mod tests;
