//! A one-connection HTTP server on 127.0.0.1:0 stands in for the fabfile host.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::thread;

use tempfile::TempDir;

use super::*;

/// Serves one request with `head` (status line and headers, without the blank line) and `body`;
/// returns the base URL.
fn serve_once(head: &str, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let head = format!("{head}\r\nConnection: close\r\n\r\n");
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = reader.into_inner();
        // The client may hang up early (body too large): that is not the test's concern.
        let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
    });
    base
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn fetches_into_fabfile_py() {
    let dir = TempDir::new().unwrap();
    let work = dir.path().join("ns");
    let body = b"from fabric import task\n".to_vec();
    let base = serve_once(&format!("HTTP/1.1 200 OK\r\nContent-Length: {}", body.len()), body.clone());
    let path = fetch_fabfile(&format!("{base}/fabfile.py"), &work).unwrap();
    assert_eq!(path, work.join("fabfile.py"));
    assert_eq!(fs::read(&path).unwrap(), body);
    assert_eq!(files_in(&work), ["fabfile.py"], "no temporary file left");
}

#[test]
fn refuses_plain_http_to_other_hosts_and_other_schemes() {
    let dir = TempDir::new().unwrap();
    for url in [
        "http://example.com/fabfile.py",
        "http://10.0.0.1/fabfile.py",
        "ftp://127.0.0.1/fabfile.py",
        "file:///etc/passwd",
    ] {
        let err = fetch_fabfile(url, dir.path()).unwrap_err();
        assert!(matches!(err, FabfileError::Insecure { .. }), "{url}: {err}");
    }
    assert!(matches!(fetch_fabfile("not a url", dir.path()), Err(FabfileError::BadUrl { .. })));
    assert!(is_allowed(&Url::parse("http://[::1]:8000/f").unwrap()));
    assert!(is_allowed(&Url::parse("http://localhost/f").unwrap()));
    assert!(is_allowed(&Url::parse("https://example.com/f").unwrap()));
}

#[test]
fn refuses_a_redirect_to_plain_http_elsewhere() {
    let dir = TempDir::new().unwrap();
    let base =
        serve_once("HTTP/1.1 302 Found\r\nLocation: http://example.com/fabfile.py\r\nContent-Length: 0", Vec::new());
    let err = fetch_fabfile(&format!("{base}/f"), dir.path()).unwrap_err();
    let FabfileError::Request { source, .. } = &err else { panic!("{err:?}") };
    assert!(source.is_redirect(), "{source:?}");
}

#[test]
fn refuses_bodies_over_5mb_and_keeps_the_previous_file() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("fabfile.py"), "previous").unwrap();
    let too_big = vec![b'#'; 5_000_001];
    // Without Content-Length, so the limit is enforced while reading.
    let base = serve_once("HTTP/1.1 200 OK", too_big.clone());
    let err = fetch_fabfile(&format!("{base}/f"), dir.path()).unwrap_err();
    assert!(matches!(err, FabfileError::TooLarge { .. }), "{err}");
    // With it, before reading.
    let base = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 5000001", too_big);
    let err = fetch_fabfile(&format!("{base}/f"), dir.path()).unwrap_err();
    assert!(matches!(err, FabfileError::TooLarge { .. }), "{err}");

    assert_eq!(fs::read_to_string(dir.path().join("fabfile.py")).unwrap(), "previous");
    assert_eq!(files_in(dir.path()), ["fabfile.py"]);
}

#[test]
fn an_error_status_is_reported() {
    let dir = TempDir::new().unwrap();
    let base = serve_once("HTTP/1.1 404 Not Found\r\nContent-Length: 0", Vec::new());
    let err = fetch_fabfile(&format!("{base}/f"), dir.path()).unwrap_err();
    assert!(matches!(err, FabfileError::Status { status, .. } if status.as_u16() == 404), "{err}");
}

/// Issue 9, item 9: a fabfile URL's credentials reached error messages (ours and reqwest's).
#[test]
fn credentials_in_the_url_never_reach_an_error() {
    let dir = TempDir::new().unwrap();
    let chain = |e: &FabfileError| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    let base = serve_once("HTTP/1.1 404 Not Found\r\nContent-Length: 0", Vec::new());
    let with_creds = base.replace("http://", "http://deploy:hunter2@") + "/f.py?token=tok-SECRET";
    let err = fetch_fabfile(&with_creds, dir.path()).unwrap_err();
    assert!(matches!(err, FabfileError::Status { .. }), "{err}");
    // Nothing listens on port 1: reqwest's error names the URL it tried.
    let refused = "http://deploy:hunter2@127.0.0.1:1/f.py?token=tok-SECRET";
    let err2 = fetch_fabfile(refused, dir.path()).unwrap_err();
    assert!(matches!(err2, FabfileError::Request { .. }), "{err2}");
    let err3 = fetch_fabfile("https://deploy:hunter2@exa mple.org/f.py", dir.path()).unwrap_err();
    let err4 = fetch_fabfile("ftp://deploy:hunter2@example.org/f.py?token=tok-SECRET", dir.path()).unwrap_err();
    for e in [&err, &err2, &err3, &err4] {
        let text = chain(e);
        assert!(!text.contains("hunter2") && !text.contains("tok-SECRET"), "{text}");
        assert!(text.contains("***"), "{text}");
    }
}
