#!/usr/bin/env bash
# The web server under attack (issue 9, item 2): builds ebmbot and runs benches/web_attack.py,
# which starts `ebmbot serve` with the default limits, sends the attacks one after the other
# (unsigned and forged 26 MB bodies holding back their last byte, chunked ones, 600 connections)
# while signed deliveries keep coming, and prints serve's peak RSS and the deliveries answered.
# docs/benchmarks.md has the figures.
#
# Usage: benches/web_attack.sh [PHASE_SECONDS]   (default 40; needs python3)
# Builds the debug profile: the machines this runs on must not build release (PROFILE=release
# to measure an optimized build elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-debug}
if [ "$profile" = release ]; then cargo build --release --bin ebmbot >&2; else cargo build --bin ebmbot >&2; fi
exec python3 benches/web_attack.py "target/$profile/ebmbot" "${1:-40}"
