#!/usr/bin/env bash
# Fails on purpose: writes to stderr and exits 3, to show how ebmbot reports a failed job.
echo "this job always fails; stdout is kept too"
echo "error: something went wrong (on purpose)" >&2
exit 3
