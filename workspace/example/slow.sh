#!/usr/bin/env bash
# Prints a line a second for $1 seconds: try `ebmbot logs <id> --follow` and `ebmbot cancel --id <id>`.
set -euo pipefail
seconds="${1:-}"
if [[ ! "$seconds" =~ ^[0-9]+$ ]]; then
    echo "usage: slow.sh SECONDS (a whole number)" >&2
    exit 2
fi
for ((i = 1; i <= seconds; i++)); do
    echo "tick $i of $seconds"
    sleep 1
done
echo "done after $seconds seconds"
