#!/usr/bin/env bash
# Benchmarks the web server with wrk (docs/benchmarks.md has the figures):
#   - requests/s and p50/p99 latency at 1 and 32 connections for signed deliveries of
#     1. a small push that no trigger wants (ignored: no database work),
#     2. a small push that schedules a job (each its own commit, so a new job, its request and
#        the delivery record in one SQLite transaction per request),
#     3. the 28 KB `pull_request.closed.json` fixture (parsed, matched, ignored);
#   - the resident memory of an idle `ebmbot serve`.
# Every request carries its own X-GitHub-Delivery. The throughput runs use `ebmbot web` (no
# dispatcher, so the jobs scheduled stay queued instead of competing for the CPU).
#
# Usage: benches/web.sh            (DURATION=10s by default; needs python3; installs wrk)
# Builds with --release (CI must not run this).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration=${DURATION:-10s}
secret=bench-secret

if ! command -v wrk >/dev/null; then
  echo "installing wrk from the system packages" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
cargo build --release --bin ebmbot >&2
bin=$repo/target/release/ebmbot

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/jobs.toml" <<'TOML'
[bench]
[bench.jobs.build]
run_args_template = "echo build {sha}"
[bench.jobs.deploy]
run_args_template = "echo deploy {sha}"

[[bench.github]]
event = "push"
branch = "main"
job_type = "build"
params = { sha = "/after" }

[[bench.github]]
event = "pull_request"
action = "closed"
merged = true
job_type = "deploy"
params = { sha = "/pull_request/merge_commit_sha" }
TOML
python3 benches/bodies.py "$secret" ignored "$work/ignored.bodies"
python3 benches/bodies.py "$secret" schedule "$work/schedule1.bodies" 0
python3 benches/bodies.py "$secret" schedule "$work/schedule32.bodies" 1000000
python3 benches/bodies.py "$secret" tests/fixtures/github/pull_request.closed.json "$work/fixture.bodies"

# start <dir> <subcommand>: starts ebmbot in <dir>, sets $addr and $pid.
start() {
  local dir=$1 sub=$2
  mkdir -p "$dir"
  cp "$work/jobs.toml" "$dir/"
  (cd "$dir" && exec env -u EBMBOT_DB -u DB_PATH -u EBMBOT_CONFIG -u RUST_LOG GITHUB_WEBHOOK_SECRET=$secret \
    "$bin" "$sub" --bind 127.0.0.1:0 2>"$dir/stderr") &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 500); do
    addr=$(grep -o 'listening on http://[0-9.:]*' "$dir/stderr" 2>/dev/null | sed 's|.*http://||' || true)
    [ -n "$addr" ] && return 0
    sleep 0.01
  done
  echo "ebmbot $sub did not start:" >&2
  cat "$dir/stderr" >&2
  exit 1
}

# bench <label> <bodies> <event> <connections>: one wrk run, one table row.
bench() {
  local label=$1 bodies=$2 event=$3 conns=$4 threads=2 out
  [ "$conns" = 1 ] && threads=1
  out=$(BENCH_BODIES=$work/$bodies.bodies BENCH_EVENT=$event BENCH_RUN="$bodies-$conns-$RANDOM" BENCH_THREADS=$threads \
    wrk -t"$threads" -c"$conns" -d"$duration" --latency -s benches/web.lua "http://$addr/github/bench/")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$conns" "$rps" "$p50" "$p99" "${errors:-0}"
}

start "$work/web" web
echo "ebmbot web on $addr; $(nproc) cores; wrk $duration per row" >&2
echo "| deliveries | connections | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
bench "small push, no trigger wants it" ignored push 1
bench "small push, no trigger wants it" ignored push 32
bench "28 KB pull_request.closed.json (ignored)" fixture pull_request 1
bench "28 KB pull_request.closed.json (ignored)" fixture pull_request 32
bench "small push that schedules a job" schedule1 push 1
bench "small push that schedules a job" schedule32 push 32
jobs=$(sqlite3 "$work/web/ebmbot.db" "SELECT count(*) FROM jobs" 2>/dev/null || echo "?")
deliveries=$(sqlite3 "$work/web/ebmbot.db" "SELECT count(*) FROM webhook_deliveries" 2>/dev/null || echo "?")
rss_web=$(awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")
echo
echo "after the runs: $jobs jobs and $deliveries delivery records in the database (one each per scheduling request); ebmbot web resident: $rss_web"

start "$work/serve" serve
sleep 2 # idle: let the dispatcher settle into its loop
echo "idle ebmbot serve resident memory: $(awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")"
