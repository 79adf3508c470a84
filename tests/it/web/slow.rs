//! Slow and silent clients, many connections, and draining on shutdown, over raw TCP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ebmbot::web::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::JOBS;
use crate::support::web::{Server, client, delivery, fixture, send, sign256};

/// Short limits, so that tests see them act within a second.
fn short() -> Limits {
    Limits { request: Duration::from_millis(400), headers: Duration::from_millis(400), drain: Duration::from_secs(5) }
}

/// Reads until the peer closes (or `within` passes, which fails the test); returns the text.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let result = tokio::time::timeout(within, stream.read_to_end(&mut out)).await;
    assert!(result.is_ok(), "the server kept the connection open; read so far: {}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}

/// POSTs `body` with `Transfer-Encoding: chunked` (and `headers`, each `Name: value\r\n`) and
/// returns the raw response.
pub async fn chunked_post(addr: SocketAddr, path: &str, headers: &str, body: &[u8], chunk: usize) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for part in body.chunks(chunk) {
        let mut frame = format!("{:x}\r\n", part.len()).into_bytes();
        frame.extend_from_slice(part);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    read_to_close(&mut stream, Duration::from_secs(10)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = Server::builder(JOBS).start_with(short()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"POST /github/app/ HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pu").await.unwrap();
    let started = Instant::now();
    read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(started.elapsed() >= Duration::from_millis(300), "closed before the header timeout");
    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    read_to_close(&mut idle, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_body_gets_408() {
    let server = Server::builder(JOBS).start_with(short()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // Signed (or so it claims): its body is read, and never finishes.
    let head = "POST /github/app/ HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\n\
                Content-Length: 1000\r\n\r\n{\"action\": ";
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_and_slow_connections_do_not_stop_the_server() {
    let server = Server::start(JOBS).await;
    let mut held = Vec::new();
    for i in 0..400 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 0 {
            stream.write_all(b"POST /github/app/ HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        }
        held.push(stream);
    }
    let started = Instant::now();
    let check = send(server.client.get(server.url("/check/"))).await;
    assert_eq!((check.status, check.text.as_str()), (200, "ok"));
    // And real work, concurrently, while those connections are held.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let request = server.github("app", "push", &delivery(), fixture("push.tag.json"));
        tasks.push(tokio::spawn(send(request)));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().status, 200);
    }
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_request_in_flight_and_stops_accepting() {
    let mut server = Server::start(JOBS).await;
    let body = fixture("ping.json");
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /github/app/ HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: {}\r\n\
         X-Hub-Signature-256: {}\r\nContent-Length: {}\r\n\r\n",
        delivery(),
        sign256(&body),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..100]).await.unwrap();
    // Wait until the server has the request, then ask it to stop.
    let probe = client();
    assert_eq!(send(probe.get(server.url("/healthz"))).await.status, 200);
    server.trigger_stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(server.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after the shutdown signal");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!server.task.is_finished(), "finished without draining the request in flight");
    stream.write_all(&body[100..]).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&buf[..n]);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.stop().await;
}
