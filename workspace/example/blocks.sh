#!/usr/bin/env bash
# Prints a JSON array of Slack blocks; the job's report_format = "blocks" posts them as is.
cat <<'JSON'
[
  {"type": "header", "text": {"type": "plain_text", "text": "Hello from ebmbot"}},
  {"type": "section", "text": {"type": "mrkdwn", "text": "This message was printed by *blocks.sh* as Slack blocks."}},
  {"type": "divider"},
  {"type": "context", "elements": [{"type": "mrkdwn", "text": "report_format = \"blocks\""}]}
]
JSON
