use proptest::prelude::*;

use super::*;

const BOT: &str = "UBOT";

#[test]
fn unnamed_channel_links_take_the_name_slack_gives_and_grid_ids_mention() {
    // Slack writes `<#C123|>` when it leaves the name out
    // (https://docs.slack.dev/messaging/formatting-message-text#linking-channels).
    let names = |id: &str| (id == "C123").then(|| "general".to_owned());
    let text = command_text_with("<@UBOT> t post <#C123|> <#G9|>", BOT, false, &names);
    assert_eq!(text.as_deref(), Some("t post #general G9"));
    // Enterprise Grid user ids begin with W, the bot's too.
    assert_eq!(command_text("<@W0BOT|ebmbot> status", "W0BOT", false).as_deref(), Some("status"));
}

#[test]
fn extracts_the_command_text() {
    // (raw text, is_dm, expected)
    let cases: &[(&str, bool, Option<&str>)] = &[
        // Mention at the start, in the middle, in its labelled form.
        ("<@UBOT> example say hello", false, Some("example say hello")),
        ("hey <@UBOT> status", false, Some("status")),
        ("<@UBOT|ebmbot> status", false, Some("status")),
        ("<@UBOT|> status", false, Some("status")),
        // Two mentions on one line: the text after the last.
        ("<@UBOT> <@UBOT> status", false, Some("status")),
        ("<@UBOT> ignored <@UBOT|ebmbot> logs 3", false, Some("logs 3")),
        // The first line that mentions the bot wins, and only the rest of that line counts.
        ("good morning\nplease <@UBOT> logs 12\nthanks <@UBOT> status", false, Some("logs 12")),
        ("hi\n<@UBOT> status\nsecond line", false, Some("status")),
        // Not the bot: another user, a longer id, an unclosed mention.
        ("<@U1> status", false, None),
        ("<@UBOTX> status", false, None),
        ("<@UBOT|ebmbot status", false, None),
        ("status", false, None),
        ("", false, None),
        // DMs: all of the text without a mention, the same rule as channels with one.
        ("example say hello", true, Some("example say hello")),
        ("status\nplease", true, Some("status please")),
        ("ignored <@UBOT> status", true, Some("status")),
        ("", true, Some("")),
        // Trim, trailing dots, whitespace.
        ("<@UBOT> status.", false, Some("status")),
        ("<@UBOT> status . ..  ", false, Some("status")),
        ("<@UBOT>   example\tsay  hello   Bob  ", false, Some("example say hello Bob")),
        ("<@UBOT> deploy v1.2 now", false, Some("deploy v1.2 now")),
        // Links, mail addresses and channels; other markup stays.
        ("<@UBOT> go <https://example.com/a?b=1|example.com/a>", false, Some("go https://example.com/a?b=1")),
        ("<@UBOT> go <http://example.com>", false, Some("go http://example.com")),
        ("<@UBOT> go <HTTPS://Example.com/X>", false, Some("go HTTPS://Example.com/X")),
        ("<@UBOT> to <mailto:a@b.org|a@b.org>", false, Some("to a@b.org")),
        ("<@UBOT> in <#C123|general>", false, Some("in #general")),
        // A channel link without a name (issue 11, item 7): the id, which channel settings take.
        ("<@UBOT> in <#C123|>", false, Some("in C123")),
        ("<@UBOT> in <#C123>", false, Some("in C123")),
        ("<@UBOT> in <#nope|>", false, Some("in <#nope|>")),
        ("<@UBOT> ask <@U1> and <@U2|bob>", false, Some("ask <@U1> and <@U2|bob>")),
        ("<@UBOT> tell <!here>", false, Some("tell <!here>")),
        ("<@UBOT> odd <a <https://x.org>", false, Some("odd <a https://x.org")),
        ("<@UBOT> open <https://x.org", false, Some("open <https://x.org")),
        // Entities are decoded once, after the markup.
        ("<@UBOT> say &lt;b&gt; &amp; c", false, Some("say <b> & c")),
        ("<@UBOT> say &amp;lt; &amp;amp; &unknown;", false, Some("say &lt; &amp; &unknown;")),
        ("<@UBOT> go <https://x.org/?a=1&amp;b=2>", false, Some("go https://x.org/?a=1&b=2")),
        // Nothing after the mention.
        ("<@UBOT>", false, Some("")),
        ("<@UBOT|ebmbot> ...", false, Some("")),
        ("status <@UBOT>\nhelp", false, Some("")),
    ];
    for &(raw, is_dm, expected) in cases {
        assert_eq!(command_text(raw, BOT, is_dm).as_deref(), expected, "text {raw:?} (dm: {is_dm})");
    }
}

/// 40 KB of worst-case markup is handled.
#[test]
fn handles_huge_texts_quickly() {
    let unclosed = "<@UBOT|".repeat(6_000);
    assert_eq!(command_text(&unclosed, BOT, false), None);
    let opens = format!("<@UBOT> {}", "<".repeat(40_000));
    assert_eq!(command_text(&opens, BOT, false), Some("<".repeat(40_000)));
    let mentions = format!("{}status", "<@UBOT> ".repeat(5_000));
    assert_eq!(command_text(&mentions, BOT, false).as_deref(), Some("status"));
    let entities = "&amp;".repeat(8_000);
    assert_eq!(command_text(&entities, BOT, true), Some("&".repeat(8_000)));
    let lines = format!("{}<@UBOT> status", "line\n".repeat(8_000));
    assert_eq!(command_text(&lines, BOT, false).as_deref(), Some("status"));
}

/// Fragments of Slack markup, so that random texts exercise every branch.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "<@UBOT>",
            "<@UBOT|",
            "<@",
            "<",
            ">",
            "|",
            "\n",
            " ",
            ".",
            "&amp;",
            "&lt;",
            "&",
            "<https://",
            "<http://",
            "<mailto:",
            "<#C1|",
            "UBOT",
            "é",
            "\u{200b}",
            "\u{a0}",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_any_text(raw in any::<String>(), is_dm: bool) {
        let _ = command_text(&raw, BOT, is_dm);
    }

    #[test]
    fn never_panics_on_markup(parts in prop::collection::vec(fragment(), 0..24), is_dm: bool) {
        let raw = parts.concat();
        let _ = command_text(&raw, BOT, is_dm);
        let _ = command_text(&raw, "", is_dm);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn never_panics_on_huge_text(chars in prop::collection::vec(any::<char>(), 0..50_000)) {
        let raw: String = chars.into_iter().collect();
        let _ = command_text(&raw, BOT, true);
    }
}
