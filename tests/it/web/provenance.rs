//! Issue 9, item 1: any signed body triggered any project. Pinned repositories, restricted
//! projects, a project's own secret, unknown projects, replays and outside text in the URL.

use crate::support::web::{Reply, SECRET, Server, delivery, merged_pr, send};

const OWN: &str = "own-project-secret";

const JOBS: &str = r#"
[pinned]
github_repository = "codertocat/hello-world"   # GitHub's names ignore case
[pinned.jobs.deploy]
run_args_template = "echo deploy {sha}"
[[pinned.github]]
event = "pull_request"
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }

[twin]
github_repository = "Codertocat/Hello-World"
[twin.jobs.deploy]
run_args_template = "echo deploy {sha}"
[[twin.github]]
event = "pull_request"
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }

[other]
github_repository = ["someone/else", "octo-org/octo-repo"]
[other.jobs.deploy]
run_args_template = "echo deploy {sha}"
[[other.github]]
event = "pull_request"
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }

[locked]
restricted = true
[locked.jobs.deploy]
run_args_template = "echo deploy"

[locked-pinned]
restricted = true
github_repository = "Codertocat/Hello-World"
[locked-pinned.jobs.deploy]
run_args_template = "echo deploy {sha}"
[[locked-pinned.github]]
event = "pull_request"
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }

[own]
github_secret = "OWN_HOOK_SECRET"
github_repository = "Codertocat/Hello-World"
[own.jobs.deploy]
run_args_template = "echo deploy {sha}"
[[own.github]]
event = "pull_request"
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }

[broken]
github_secret = "UNSET_HOOK_SECRET"
[broken.jobs.deploy]
run_args_template = "echo deploy"
"#;

async fn server() -> Server {
    Server::builder(JOBS).var("OWN_HOOK_SECRET", OWN).start().await
}

/// A merged pull request to `path`, signed with `secret` (or unsigned).
async fn post(server: &Server, path: &str, secret: Option<&str>, body: Vec<u8>) -> Reply {
    let mut request = server
        .client
        .post(server.url(path))
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", delivery());
    if let Some(secret) = secret {
        request = request.header("X-Hub-Signature-256", ebmbot::web::sign_sha256(secret.as_bytes(), &body));
    }
    send(request.body(body)).await
}

fn refused(reply: &Reply, status: u16, kind: &str) {
    assert_eq!((reply.status, reply.json["error"].as_str()), (status, Some(kind)), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_from_another_repository_is_refused_naming_both() {
    let server = server().await;
    let reply = post(&server, "/github/other/", Some(SECRET), merged_pr()).await;
    refused(&reply, 403, "wrong_repository");
    assert_eq!(
        reply.message(),
        "this delivery is from `Codertocat/Hello-World`, but `other` takes deliveries only from `someone/else`, \
         `octo-org/octo-repo`; nothing was scheduled"
    );
    // A payload that names no repository is refused too.
    let reply = post(&server, "/github/other/", Some(SECRET), br#"{"action": "closed"}"#.to_vec()).await;
    refused(&reply, 403, "wrong_repository");
    assert!(reply.message().contains("from no repository"), "{reply:?}");
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_repository_feeds_two_projects_and_a_replay_schedules_nothing() {
    let server = server().await;
    for project in ["pinned", "twin"] {
        let reply = post(&server, &format!("/github/{project}/"), Some(SECRET), merged_pr()).await;
        assert_eq!(reply.json["result"], "scheduled", "{project}: {reply:?}");
    }
    // The captured body, replayed under a new delivery id: already handled.
    let replay = post(&server, "/github/pinned/", Some(SECRET), merged_pr()).await;
    assert_eq!((replay.status, replay.json["result"].as_str()), (200, Some("replayed")), "{replay:?}");
    assert!(replay.message().starts_with("already handled: the same body came as delivery "), "{replay:?}");
    let types: Vec<String> = server.jobs().iter().map(|j| j.job_type().to_string()).collect();
    assert_eq!(types.len(), 2, "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_project_takes_webhooks_only_once_it_pins_its_repository() {
    let server = server().await;
    let reply = post(&server, "/github/locked/", Some(SECRET), merged_pr()).await;
    refused(&reply, 403, "unpinned_repository");
    assert!(reply.message().contains("add `github_repository = \"owner/name\"` to `[locked]`"), "{reply:?}");
    assert!(server.jobs().is_empty());
    let reply = post(&server, "/github/locked-pinned/", Some(SECRET), merged_pr()).await;
    assert_eq!(reply.json["result"], "scheduled", "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_with_its_own_secret_takes_only_that_secret() {
    let server = server().await;
    let reply = post(&server, "/github/own/", Some(SECRET), merged_pr()).await;
    refused(&reply, 403, "bad_signature");
    assert!(server.jobs().is_empty());
    let reply = post(&server, "/github/own/", Some(OWN), merged_pr()).await;
    assert_eq!(reply.json["result"], "scheduled", "{reply:?}");
    // Its secret does not open other projects.
    let reply = post(&server, "/github/pinned/", Some(OWN), merged_pr()).await;
    refused(&reply, 403, "bad_signature");
    // A project whose secret cannot be read refuses every delivery, without saying why.
    let reply = post(&server, "/github/broken/", Some(SECRET), merged_pr()).await;
    refused(&reply, 503, "no_secret");
    assert!(!reply.text.contains("UNSET_HOOK_SECRET"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_or_wrongly_signed_request_learns_nothing_about_projects() {
    let server = server().await;
    // Unsigned: the same answer for a project and for no project.
    let known = post(&server, "/github/pinned/", None, merged_pr()).await;
    let unknown = post(&server, "/github/no-such/", None, merged_pr()).await;
    refused(&known, 403, "bad_signature");
    assert_eq!((known.status, known.message()), (unknown.status, unknown.message()));
    // Wrongly signed: the same again.
    let known = post(&server, "/github/pinned/", Some("guess"), merged_pr()).await;
    let unknown = post(&server, "/github/no-such/", Some("guess"), merged_pr()).await;
    let own_key = post(&server, "/github/no-such/", Some(OWN), merged_pr()).await;
    refused(&known, 403, "bad_signature");
    for reply in [&unknown, &own_key] {
        assert_eq!((known.status, known.message()), (reply.status, reply.message()));
    }
    // Only a request signed with the global secret hears that the project is unknown.
    let reply = post(&server, "/github/no-such/", Some(SECRET), merged_pr()).await;
    refused(&reply, 400, "unknown_project");
    assert_eq!(reply.message(), "Unknown project: no-such");
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newline_in_the_project_is_escaped() {
    let server = server().await;
    let reply = post(&server, "/github/a%0aWARN%20forged/", Some(SECRET), merged_pr()).await;
    refused(&reply, 400, "unknown_project");
    assert_eq!(reply.message(), "Unknown project: a\\nWARN forged");
}
