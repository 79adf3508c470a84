//! Report formats: text (a file past 4,000 characters), blocks (and what is not blocks),
//! code (a file past 3,990 characters), file; empty output and quiet jobs.

use serde_json::Value;

use crate::support::slack::{Slack, text};

fn schedule(t: &Slack, job: &str) {
    let out = t.run(&["schedule", "t", job, "--notify", "C1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The uploads: (getUploadURLExternal params, bytes, completeUploadExternal params).
fn uploads(t: &Slack) -> Vec<(Value, Vec<u8>, Value)> {
    let urls = t.fake.calls("files.getUploadURLExternal");
    let completes = t.fake.calls("files.completeUploadExternal");
    let st = t.fake.state();
    completes
        .into_iter()
        .map(|c| {
            let id = c["files"][0]["id"].as_str().unwrap().to_owned();
            let url = urls.iter().find(|u| u["filename"] == c["files"][0]["title"]).cloned().unwrap_or_default();
            (url, st.uploads.get(&id).cloned().unwrap_or_default(), c)
        })
        .collect()
}

#[test]
fn long_text_and_long_code_go_up_as_files_never_cut() {
    let t = Slack::new();
    for job in ["big", "longcode", "file", "code"] {
        schedule(&t, job);
    }
    t.dispatch_once();
    t.fake.wait("three uploads", |f| (f.calls("files.completeUploadExternal").len() == 3).then_some(()));
    let ups = uploads(&t);
    let by_name =
        |name: &str| ups.iter().find(|(u, _, _)| u["filename"] == name).unwrap_or_else(|| panic!("{name}: {ups:?}"));
    let (url, bytes, complete) = by_name("t_big-1.txt");
    assert_eq!(bytes, &vec![b'x'; 41_000], "the whole output");
    assert_eq!(url["length"], "41000");
    assert_eq!(complete["channel_id"], "C1");
    let comment = complete["initial_comment"].as_str().unwrap();
    assert!(comment.contains("Output of `t_big` (job 1): 1 line(s), 41000 characters"), "{comment}");
    assert_eq!(by_name("t_longcode-2.txt").1.len(), 5_000);
    assert_eq!(by_name("t_file-3.txt").1, b"file body");
    let code = t.fake.wait_post("a = 1");
    assert_eq!(text(&code), "```\na = 1\n```");
    assert!(t.fake.posts().iter().all(|p| text(p).chars().count() <= 4_000), "Slack's advice for a message");
}

#[test]
fn blocks_are_posted_as_blocks_and_anything_else_is_explained_with_a_file() {
    let t = Slack::new();
    for job in ["blocks", "notblocks", "bogusblocks"] {
        schedule(&t, job);
    }
    t.dispatch_once();
    let blocks = t.fake.wait_post("Output of `t_blocks`");
    assert_eq!(blocks["blocks"][0]["type"], "section");
    assert_eq!(blocks["blocks"][0]["text"]["text"], "*hi*");
    let not = t.fake.wait_post("`t_notblocks` (job 2) succeeded, but its output is not Slack blocks: it is not JSON");
    assert!(text(&not).contains("at most 50 blocks"));
    let refused =
        t.fake.wait_post("`t_bogusblocks` (job 3) succeeded, but its output is not Slack blocks: Slack refused them");
    assert_eq!(refused["channel"], "C1");
    t.fake.wait("two files", |f| (f.calls("files.completeUploadExternal").len() == 2).then_some(()));
    let ups = uploads(&t);
    assert!(ups.iter().any(|(u, b, _)| u["filename"] == "t_notblocks-2.txt" && b == b"not json"), "{ups:?}");
    assert!(ups.iter().any(|(u, b, _)| u["filename"] == "t_bogusblocks-3.txt" && b.starts_with(b"[{")));
}

#[test]
fn empty_output_and_quiet_jobs_post_nothing_but_still_react() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "20.1", "t run empty");
    t.mention("C1", "20.2", "t run silent");
    t.fake.wait("two replies", |f| (f.posts().len() == 2).then_some(()));
    t.dispatch_once();
    t.fake.wait_reaction("C1", "20.1", "white_check_mark");
    t.fake.wait_reaction("C1", "20.2", "white_check_mark");
    let in_threads: Vec<String> = t.fake.posts().iter().filter(|p| p["channel"] == "C1").map(text).collect();
    assert_eq!(in_threads.len(), 2, "only the two replies: {in_threads:?}");
}

/// Issue 11, item 4: whatever Slack says against the blocks, the output still arrives, as a
/// file, with Slack's reason. The codes are chat.postMessage's own
/// (https://api.slack.com/methods/chat.postMessage#errors).
#[test]
fn any_refusal_of_the_blocks_gives_the_reason_and_the_output_as_a_file() {
    let t = Slack::new();
    for (i, code) in ["msg_blocks_too_long", "invalid_blocks_format"].into_iter().enumerate() {
        t.fake.state().refusals.clear();
        t.fake.refuse("chat.postMessage", "text", "Output of `t_blocks`", code);
        schedule(&t, "blocks");
        t.dispatch_once();
        let id = i + 1;
        let why = t.fake.wait_post(&format!("`t_blocks` (job {id}) succeeded, but its output is not Slack blocks"));
        assert!(text(&why).contains(&format!("Slack refused them (`{code}`)")), "{why}");
        t.fake.wait("the file", |f| (f.calls("files.completeUploadExternal").len() == id).then_some(()));
        let name = format!("t_blocks-{id}.txt");
        assert!(uploads(&t).iter().any(|(u, b, _)| u["filename"] == name.as_str() && b.starts_with(b"[{")));
    }
    assert!(t.fake.posts().iter().all(|p| !text(p).contains("Could not notify")));
}
