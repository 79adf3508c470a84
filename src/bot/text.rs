//! Slack message text → command text (docs/slack.md §4): find the part addressed to the bot,
//! then undo Slack's markup so that [`crate::grammar`] sees what the user typed.
//!
//! Hand-written scans, each a single pass: a 40 KB message costs linear time and never panics.

/// The command in a Slack message, or `None` when the message is not addressed to the bot.
///
/// The command is the rest of the first line that mentions the bot (`<@BOT>` or `<@BOT|label>`),
/// after the last mention on that line; a DM without a mention is all command. Then: trim,
/// drop trailing dots, collapse whitespace to single spaces; `<http(s)://x|label>` and
/// `<http(s)://x>` become `x`, `<mailto:a|label>` becomes `a`, `<#C1|name>` becomes `#name`,
/// a channel link without a name (`<#C1|>`, `<#C1>`) becomes the id `C1`, other markup
/// (`<@U1>`, `<!here>`) stays; finally `&lt;`, `&gt;` and `&amp;` are decoded, once. An empty
/// command is `Some("")`: the caller answers with help.
pub fn command_text(raw: &str, bot_user_id: &str, is_dm: bool) -> Option<String> {
    command_text_with(raw, bot_user_id, is_dm, &|_| None)
}

/// [`command_text`], with `channel_name` giving the name of a channel linked without one
/// (Slack sends `<#C123|>` for channels it does not name): `#name`, or the id when it has none.
pub fn command_text_with(
    raw: &str,
    bot_user_id: &str,
    is_dm: bool,
    channel_name: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let command = match after_mention(raw, bot_user_id) {
        Some(rest) => rest,
        None if is_dm => raw,
        None => return None,
    };
    let collapsed = collapse(command);
    let unmarked = strip_markup(&collapsed, channel_name);
    Some(decode_entities(&unmarked).trim().to_owned())
}

/// The rest of the first line that mentions the bot, after the last mention on that line.
fn after_mention<'a>(raw: &'a str, bot_user_id: &str) -> Option<&'a str> {
    raw.split('\n').find_map(|line| {
        let end = last_mention_end(line, bot_user_id)?;
        line.get(end..)
    })
}

/// The byte offset just past the last `<@BOT>` or `<@BOT|…>` (up to the first `>`) in `line`.
fn last_mention_end(line: &str, bot_user_id: &str) -> Option<usize> {
    let mut last = None;
    let mut from = 0;
    while let Some(found) = line.get(from..).and_then(|rest| rest.find("<@")) {
        let id_start = from + found + "<@".len();
        from = id_start;
        let Some(after_id) = line.get(id_start..).and_then(|rest| rest.strip_prefix(bot_user_id)) else {
            continue;
        };
        let close = if after_id.starts_with('>') {
            Some(0)
        } else if after_id.starts_with('|') {
            after_id.find('>')
        } else {
            continue;
        };
        // No `>` left on the line: no later mention can be closed either.
        let Some(close) = close else { break };
        let end = id_start + bot_user_id.len() + close + 1;
        last = Some(end);
        from = end;
    }
    last
}

/// Trims, drops trailing dots (and the spaces between them) and collapses whitespace.
fn collapse(text: &str) -> String {
    text.trim_end_matches(|c: char| c == '.' || c.is_whitespace()).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces link, mail and channel markup with what it stands for; leaves other markup.
fn strip_markup(text: &str, channel_name: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let inner = &after['<'.len_utf8()..];
        match inner.find(['<', '>']) {
            Some(close) if inner[close..].starts_with('>') => {
                push_unmarked(&mut out, &inner[..close], channel_name);
                rest = &inner[close + '>'.len_utf8()..];
            }
            // A `<` that another `<` follows before any `>`: keep it as text.
            Some(next_open) => {
                out.push('<');
                out.push_str(&inner[..next_open]);
                rest = &inner[next_open..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Pushes what the markup `<inner>` stands for.
fn push_unmarked(out: &mut String, inner: &str, channel_name: &dyn Fn(&str) -> Option<String>) {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    let is_web =
        strip_prefix_ignore_case(target, "https://").is_some() || strip_prefix_ignore_case(target, "http://").is_some();
    if is_web {
        // The whole URL, scheme included (issue 3: `<http://x|label>` → `http://x`).
        out.push_str(target);
    } else if let Some(address) = strip_prefix_ignore_case(target, "mailto:") {
        out.push_str(address);
    } else if let (Some(_), Some(name)) = (target.strip_prefix('#'), label)
        && !name.is_empty()
    {
        out.push('#');
        out.push_str(name);
    } else if let Some(id) = target.strip_prefix('#').filter(|id| is_channel_id(id)) {
        match channel_name(id) {
            Some(name) => {
                out.push('#');
                out.push_str(&name);
            }
            None => out.push_str(id),
        }
    } else {
        out.push('<');
        out.push_str(inner);
        out.push('>');
    }
}

/// A conversation id as Slack writes it in links: `C…`, `G…` or `D…`, letters and digits.
fn is_channel_id(id: &str) -> bool {
    id.len() > 1 && id.starts_with(['C', 'G', 'D']) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { text.get(prefix.len()..) } else { None }
}

/// Decodes `&lt;`, `&gt;` and `&amp;` in one pass, so `&amp;lt;` becomes `&lt;`.
fn decode_entities(text: &str) -> String {
    const ENTITIES: [(&str, char); 3] = [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let (before, at_amp) = rest.split_at(amp);
        out.push_str(before);
        let (decoded, len) = ENTITIES
            .iter()
            .find(|(entity, _)| at_amp.starts_with(entity))
            .map_or(('&', 1), |&(entity, c)| (c, entity.len()));
        out.push(decoded);
        rest = &at_amp[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
