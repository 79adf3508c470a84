//! `[[ns.github]]` triggers.

use super::{error, parse, trigger};

#[test]
fn triggers() {
    let ok = trigger(
        "event = \"pull_request\"\naction = \"closed\"\nmerged = true\nbranch = \"main\"\njob_type = \"hello\"\nparams = { name = \"/sender/login\" }",
    );
    assert!(parse(&ok).is_ok());
    assert!(parse(&trigger("event = \"push\"\nbranch = \"main\"\njob_type = \"hello_world\"")).is_ok());

    assert_eq!(
        error(&trigger("event = \"push\"\njob_type = \"hello_wrld\"")),
        "`example` github trigger #1 (`push`): unknown job `hello_wrld`; did you mean `hello_world`? (line 10)"
    );
    assert_eq!(
        error(&trigger("event = \"push\"\njob_type = \"hello\"\nparams = { who = \"/sender/login\" }")),
        "`example` github trigger #1 (`push`): `params` must give exactly the placeholders of \
         `example_hello`; add `name` to `params` and remove `who` from `params` (line 10)"
    );
    assert_eq!(
        error(&trigger("event = \"push\"\nmerged = true\njob_type = \"hello_world\"")),
        "`example` github trigger #1 (`push`): `merged` applies only to `event = \"pull_request\"`; remove it (line 10)"
    );
    assert_eq!(
        error(&trigger("event = \"push\"\naction = \"closed\"\njob_type = \"hello_world\"")),
        "`example` github trigger #1 (`push`): push events have no `action`; remove it, or filter with `branch` (line 10)"
    );
    let msg = error(&trigger("event = \"push\"\njob_type = \"hello\"\nparams = { name = \"sender/login\" }"));
    assert!(msg.contains("`params.name` = `sender/login` is not a JSON pointer; start it with `/`"), "{msg}");
    let msg = error(&trigger("event = \"Pull Request\"\njob_type = \"hello_world\""));
    assert!(msg.contains("event `Pull Request` is not a github event name"), "{msg}");
    let msg = error(&trigger("event = \"push\"\nbranch = \"refs/heads/main\"\njob_type = \"hello_world\""));
    assert!(msg.contains("branch `refs/heads/main` is a ref; write the branch name `main`"), "{msg}");
    let msg = error(&trigger("event = \"push\"\njob_type = \"hello_world\"\ndelay_seconds = -60"));
    assert!(msg.contains("delay_seconds `-60` is negative"), "{msg}");
}
