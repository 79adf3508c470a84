//! `[[ns.listeners]]`: a channel, a reaction without colons, a non-empty list of words, a name
//! unique across namespaces.

use super::{error, parse};

fn listener(body: &str) -> String {
    format!("[techsupport]\n\n[[techsupport.listeners]]\n{body}\n")
}

const GOOD: &str = "name = \"tech-support\"\nmatch = [\"Tech-Support\"]\nchannel = \"#tech-support\"\nreaction = \"sos\"\nout_of_office = true";

#[test]
fn a_listener_loads_with_its_words_lowercased() {
    let catalog = parse(&listener(GOOD)).unwrap();
    let l = catalog.listener("tech-support").unwrap();
    assert_eq!(
        (l.namespace.as_str(), l.words.as_slice(), l.out_of_office),
        ("techsupport", &["tech-support".to_owned()][..], true)
    );
    assert!(l.matches("ping TECH-SUPPORT"));
}

#[test]
fn bad_listeners_are_refused_with_the_fix() {
    let cases = [
        (
            GOOD.replace("\"sos\"", "\":sos:\""),
            "`techsupport` listener `tech-support`: reaction `:sos:` has colons; write the emoji's name without them: `sos` (line 3)",
        ),
        (
            GOOD.replace("\"sos\"", "\"s o s\""),
            "`techsupport` listener `tech-support`: reaction `s o s` is not an emoji name; write one such as `sos` (line 3)",
        ),
        (
            GOOD.replace("[\"Tech-Support\"]", "[]"),
            "`techsupport` listener `tech-support`: `match` is empty; list the words it listens for, such as `match = [\"tech-support\"]` (line 3)",
        ),
        (
            GOOD.replace("[\"Tech-Support\"]", "[\"tech support\"]"),
            "`techsupport` listener `tech-support`: `match` word `tech support` is not one word; write words without spaces, such as \"tech-support\" (line 3)",
        ),
        (
            GOOD.replace("\"#tech-support\"", "\"tech support\""),
            "`techsupport` listener `tech-support`: channel `tech support` is not a channel; write a channel id such as `C0123456789` or a name such as `#tech` (line 3)",
        ),
        (
            GOOD.replace("name = \"tech-support\"", "name = \"Tech Support\""),
            "`techsupport` listener `Tech Support`: the name is not valid; use up to 32 lowercase letters, digits and `-`, such as `tech-support` (line 3)",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(error(&listener(&body)), want);
    }
    let missing = error(&listener("name = \"x\"\nmatch = [\"x\"]\nreaction = \"sos\""));
    assert!(missing.contains("missing `channel`; add `channel = …`"), "{missing}");
}

#[test]
fn names_are_unique_across_namespaces() {
    let two = format!("{}\n[admins]\n\n[[admins.listeners]]\n{GOOD}\n", listener(GOOD));
    assert_eq!(
        error(&two),
        "listener `tech-support` is in both `admins` and `techsupport`; listener names are unique across namespaces \
         (`ebmbot ooo` names them), rename one (line 1)"
    );
    let twice = format!("{}\n[[techsupport.listeners]]\n{GOOD}\n", listener(GOOD));
    assert!(error(&twice).starts_with("`techsupport` has two listeners named `tech-support`"), "{}", error(&twice));
}

#[test]
fn ooo_is_a_reserved_namespace() {
    assert!(error("[ooo]\n").contains("namespace `ooo` is reserved"), "{}", error("[ooo]\n"));
}
