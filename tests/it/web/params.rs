//! Typed params in webhook answers: a payload value that breaks its param's rule is refused
//! (400, naming the param, the rule and a good value) and nothing is scheduled.

use serde_json::Value;

use crate::support::web::{Server, delivery, fixture};

const JOBS: &str = r#"
[app]
[app.jobs.notify]
run_args_template = "./notify.sh {number} {title}"

[app.jobs.notify.params.number]
type = "int"
min = 1

[[app.github]]
event = "pull_request"
action = "opened"
job_type = "notify"
params = { number = "/number", title = "/pull_request/title" }
"#;

fn opened_with(title: &str, number: i64) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(&fixture("pull_request.opened.json")).unwrap();
    payload["pull_request"]["title"] = Value::from(title);
    payload["number"] = Value::from(number);
    serde_json::to_vec(&payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_value_that_breaks_its_rule_is_refused_and_nothing_is_scheduled() {
    let server = Server::start(JOBS).await;
    // A pull request titled like an option (`git log … {title}` wrote a file with this).
    let reply = server.deliver("app", "pull_request", &delivery(), opened_with("--output=/tmp/x", 7)).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(
        reply.message(),
        "param `title` of `app_notify` begins with `-`, which a program would read as an option; give text not \
         beginning with `-`, for example `text`"
    );
    let reply = server.deliver("app", "pull_request", &delivery(), opened_with("fine", -1)).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.message().starts_with("param `number` of `app_notify` begins with `-`"), "{reply:?}");
    let reply = server.deliver("app", "pull_request", &delivery(), opened_with("fine", 0)).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(
        reply.message(),
        "param `number` of `app_notify` is 0, below the minimum 1; give a whole number of at least 1, for example `1`"
    );
    assert!(server.jobs().is_empty());
    // The good path.
    let reply = server.deliver("app", "pull_request", &delivery(), opened_with("Fix the -v flag", 7)).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("scheduled")), "{reply:?}");
    assert_eq!(server.jobs()[0].args.0["title"], "Fix the -v flag");
}
