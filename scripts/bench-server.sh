#!/bin/bash
# The durable server over HTTP (issue 17), a benchmark (nothing is asserted):
# for each of RUNS fresh `statecraft server` processes (SQLite, a fresh data
# dir, synchronous=FULL as shipped) it prints
#   - start-up: milliseconds from exec to the first `/healthz` that answers ok,
#   - idle RSS: the server's VmRSS right after start-up,
#   - chain10 and map100 through StartExecution + DescribeExecution polling
#     (`statecraft-bench`, CONCURRENCY in flight),
#   - StartSyncExecution (EXPRESS chain10) at one in flight: p50/p99,
# one `statecraft-bench` JSON line per run, plus the load average before each.
# With PEER=http://127.0.0.1:5001 (moto's server: `moto_server -p 5001`, README)
# the same three bench runs go to that endpoint instead, once per RUN.
#   cargo build --release -p statecraft-cli -p statecraft-bench
#   scripts/bench-server.sh        # BIN=dir: the binaries of another build
#   PEER=http://127.0.0.1:5001 CHAIN=2000 MAP=200 SYNC=500 scripts/bench-server.sh
set -eu
R=${BIN:-${CARGO_TARGET_DIR:-target}/release}
RUNS=${RUNS:-2}
PORT=${PORT:-18960}
CONCURRENCY=${CONCURRENCY:-128}
CHAIN=${CHAIN:-20000}
MAP=${MAP:-2000}
SYNC=${SYNC:-5000}
PEER=${PEER:-}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_s() { # the CPU seconds (user + system) process $1 has used so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

bench() { # endpoint, label, extra args...
  local endpoint=$1 label=$2 before=""
  shift 2
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  [ -n "$PID" ] && before=$(cpu_s "$PID")
  /usr/bin/time -f "client CPU: %U s user, %S s system" \
    "$R/statecraft-bench" --endpoint "$endpoint" --label "$label" "$@"
  [ -n "$PID" ] && echo "server CPU: $(echo "$(cpu_s "$PID") - $before" | bc) s"
  return 0
}

for run in $(seq 1 "$RUNS"); do
  if [ -n "$PEER" ]; then
    endpoint=$PEER
  else
    data="$WORK/data-$run"
    mkdir -p "$data"
    t0=$(date +%s%N)
    "$R/statecraft" server --listen "127.0.0.1:$PORT" --data-dir "$data" >"$data.log" 2>&1 &
    PID=$!
    until curl -sf "127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
      kill -0 "$PID" 2>/dev/null || { echo "the server ended: $(cat "$data.log")" >&2; exit 1; }
      sleep 0.002
    done
    t1=$(date +%s%N)
    sleep 1
    echo "run $run: start-up $(( (t1 - t0) / 1000000 )) ms, idle $(grep VmRSS /proc/$PID/status)"
    endpoint="http://127.0.0.1:$PORT"
  fi
  bench "$endpoint" "chain10 run $run" --workload chain10 --executions "$CHAIN" --concurrency "$CONCURRENCY"
  bench "$endpoint" "map100 run $run" --workload map100 --executions "$MAP" --concurrency "$CONCURRENCY"
  bench "$endpoint" "sync run $run" --workload chain10 --sync --executions "$SYNC" --concurrency 1
  if [ -n "$PID" ]; then
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
  fi
done
