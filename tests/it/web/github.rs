//! `POST /github/<project>/`: signatures, body limits, body formats, headers, projects, `ping`,
//! and the order in which those checks run.

use super::JOBS;
use crate::support::web::{Server, delivery, fixture, merged_pr, send, sign1, sign256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_answers_pong() {
    let server = Server::start(JOBS).await;
    let reply = server.deliver("app", "ping", &delivery(), fixture("ping.json")).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("pong")), "{reply:?}");
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trailing_slash_is_optional() {
    let server = Server::start(JOBS).await;
    let body = fixture("ping.json");
    let request = server
        .client
        .post(server.url("/github/app"))
        .header("X-GitHub-Event", "ping")
        .header("X-GitHub-Delivery", delivery())
        .header("X-Hub-Signature-256", sign256(&body))
        .body(body);
    assert_eq!(send(request).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_sha1_signature_is_accepted_alone() {
    let server = Server::start(JOBS).await;
    let body = merged_pr();
    let request = server
        .client
        .post(server.url("/github/app/"))
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery())
        .header("X-Hub-Signature", sign1(&body))
        .body(body);
    let reply = send(request).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("scheduled")), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_403_and_schedule_nothing() {
    let server = Server::start(JOBS).await;
    let body = merged_pr();
    let good1 = sign1(&body);
    let wrong = ebmbot::web::sign_sha256(b"another secret", &body);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("missing", vec![]),
        ("malformed", vec![("X-Hub-Signature-256", "sha256=not-hex".to_owned())]),
        ("no prefix", vec![("X-Hub-Signature-256", sign256(&body).replace("sha256=", ""))]),
        ("wrong secret", vec![("X-Hub-Signature-256", wrong.clone())]),
        ("sha256 counts alone", vec![("X-Hub-Signature-256", wrong), ("X-Hub-Signature", good1)]),
        ("other body", vec![("X-Hub-Signature-256", sign256(&fixture("pull_request.closed.json")))]),
        ("wrong sha1", vec![("X-Hub-Signature", sign1(b"{}"))]),
    ];
    for (what, headers) in cases {
        let mut request = server
            .client
            .post(server.url("/github/app/"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", delivery())
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let reply = send(request).await;
        assert_eq!((reply.status, reply.json["error"].as_str()), (403, Some("bad_signature")), "{what}: {reply:?}");
    }
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_webhooks_are_503_saying_why() {
    let server = Server::builder(JOBS).no_secret().start().await;
    let reply = server.deliver("app", "pull_request", &delivery(), merged_pr()).await;
    assert_eq!(reply.status, 503);
    assert!(reply.message().contains("GITHUB_WEBHOOK_SECRET is not set"), "{reply:?}");
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_first() {
    let server = Server::builder(JOBS).no_secret().settings(|s| s.max_body = 10_000).start().await;
    // 28 KB with Content-Length, unsigned and with no secret configured: the size is checked first.
    let request = server.client.post(server.url("/github/app/")).body(merged_pr());
    let reply = send(request).await;
    assert_eq!((reply.status, reply.json["error"].as_str()), (413, Some("too_large")), "{reply:?}");
    // Within the limit the next check answers.
    let reply = send(server.client.post(server.url("/github/app/")).body(fixture("ping.json"))).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    // Chunked, without Content-Length, signed: refused while reading.
    let server = Server::builder(JOBS).settings(|s| s.max_body = 10_000).start().await;
    let signed = format!("X-Hub-Signature-256: {}\r\n", sign256(&merged_pr()));
    let response = super::slow::chunked_post(server.addr, "/github/app/", &signed, &merged_pr(), 4096).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // Unsigned: refused before anything is read.
    let response = super::slow::chunked_post(server.addr, "/github/app/", "", &merged_pr(), 4096).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_a_json_object_are_400() {
    let server = Server::start(JOBS).await;
    let form = |body: &str| (Some("application/x-www-form-urlencoded"), body.as_bytes().to_vec());
    let json = |body: &str| (Some("application/json"), body.as_bytes().to_vec());
    let cases = [
        ("not JSON", json("this is not json")),
        ("an array", json("[1, 2]")),
        ("a string", json(r#""text""#)),
        ("null", json("null")),
        ("truncated", json(r#"{"action": "closed""#)),
        ("form without payload", form("other=1")),
        ("form payload not JSON", form("payload=%7Bnope")),
        ("form payload an array", form("payload=%5B%5D")),
    ];
    for (what, (content_type, body)) in cases {
        let mut request = server
            .client
            .post(server.url("/github/app/"))
            .header("X-GitHub-Event", "push")
            .header("X-GitHub-Delivery", delivery())
            .header("X-Hub-Signature-256", sign256(&body))
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        let reply = send(request).await;
        assert_eq!(reply.status, 400, "{what}: {reply:?}");
        assert!(!reply.message().is_empty(), "{what}");
    }
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_encoded_deliveries_are_read_from_their_payload_field() {
    let server = Server::start(JOBS).await;
    let payload = String::from_utf8(merged_pr()).unwrap();
    let body = serde_urlencoded::to_string([("payload", payload.as_str())]).unwrap().into_bytes();
    let request = server
        .client
        .post(server.url("/github/app/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery())
        .header("X-Hub-Signature-256", sign256(&body))
        .body(body);
    let reply = send(request).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("scheduled")), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_event_or_delivery_headers_are_400() {
    let server = Server::start(JOBS).await;
    let body = merged_pr();
    for (missing, event, id) in [("X-GitHub-Event", None, Some(delivery())), ("X-GitHub-Delivery", Some("push"), None)]
    {
        let mut request = server
            .client
            .post(server.url("/github/app/"))
            .header("X-Hub-Signature-256", sign256(&body))
            .body(body.clone());
        if let Some(event) = event {
            request = request.header("X-GitHub-Event", event);
        }
        if let Some(id) = id {
            request = request.header("X-GitHub-Delivery", id);
        }
        let reply = send(request).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.message().contains(missing), "{reply:?}");
    }
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_projects_are_400_after_the_signature() {
    let server = Server::start(JOBS).await;
    for project in ["nope", "quiet"] {
        let reply = server.deliver(project, "ping", &delivery(), fixture("ping.json")).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_eq!(reply.message(), format!("Unknown project: {project}"));
    }
    // A bad signature is answered before the project is looked at.
    let request = server.client.post(server.url("/github/nope/")).header("X-GitHub-Event", "ping").body("{}");
    assert_eq!(send(request).await.status, 403);
}
