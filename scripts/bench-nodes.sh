#!/bin/bash
# Throughput of N `statecraft server` nodes on one PostgreSQL database:
# starts N nodes (release build) on the empty database URL, creates the
# workload's machine once, runs one statecraft-bench per node (TOTAL/N
# executions, CONC/N in flight each) at once, and prints the combined
# executions/s and state transitions/s (all executions over the slowest
# bench's wall time), then stops the nodes.
#   cargo build --release -p statecraft-cli -p statecraft-bench
#   scripts/bench-nodes.sh postgres://postgres@127.0.0.1:5432/bench 2 chain10 12000 96
set -eu
URL=$1; N=$2; W=$3; TOTAL=$4; CONC=$5
R=${CARGO_TARGET_DIR:-target}/release
BASE=${BASE_PORT:-18910}
PIDS=()
DIRS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "${DIRS[@]}"; }
trap cleanup EXIT
for i in $(seq 1 "$N"); do
  D=$(mktemp -d); DIRS+=("$D")
  "$R/statecraft" server --listen "127.0.0.1:$((BASE + i))" --data-dir "$D" --store "$URL" >"$D/log" 2>&1 &
  PIDS+=($!)
done
for i in $(seq 1 "$N"); do
  for _ in $(seq 1 100); do curl -sf "127.0.0.1:$((BASE + i))/healthz" >/dev/null && break; sleep 0.1; done
done
# The machine is created once, before the load, so that the measured runs
# only start executions.
"$R/statecraft-bench" --endpoint "http://127.0.0.1:$((BASE + 1))" --workload "$W" --executions 1 --concurrency 1 >/dev/null
OUT=$(mktemp -d); DIRS+=("$OUT")
# CPU seconds (user + system) of a set of processes, from /proc: where the
# time goes (the database, the nodes, everything else on the machine).
cpu_of() { local t=0 p; for p in "$@"; do
  [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
done; echo "$t"; }
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
PG0=$(cpu_of $(pgrep -x postgres || true)); NODES0=$(cpu_of "${PIDS[@]}"); ALL0=$(busy)
BP=()
for i in $(seq 1 "$N"); do
  "$R/statecraft-bench" --endpoint "http://127.0.0.1:$((BASE + i))" --workload "$W" \
    --executions $((TOTAL / N)) --concurrency $((CONC / N)) --label "node$i" >"$OUT/$i.json" &
  BP+=($!)
done
wait "${BP[@]}"
PG1=$(cpu_of $(pgrep -x postgres || true)); NODES1=$(cpu_of "${PIDS[@]}"); ALL1=$(busy)
HZ=$(getconf CLK_TCK)
python3 - "$OUT" "$N" "$W" "$((PG1 - PG0))" "$((NODES1 - NODES0))" "$((ALL1 - ALL0))" "$HZ" <<'PY'
import glob, json, sys
out, n, w, pg, nodes, everything, hz = sys.argv[1:]
pg, nodes, everything = (int(x) / int(hz) for x in (pg, nodes, everything))
rs = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(out + "/*.json"))]
ex = sum(r["executions"] for r in rs)
wall = max(r["wall_s"] for r in rs)
tr = sum(r["state_transitions_per_s"] * r["wall_s"] for r in rs)
bad = sum(r["failures"] + r["wrong_outputs"] + r["api_errors"] for r in rs)
print(f"nodes={n} workload={w} executions={ex} executions_per_s={ex / wall:.0f} "
      f"transitions_per_s={tr / wall:.0f} p50_ms={[round(r['latency_ms']['p50'], 1) for r in rs]} bad={bad}")
# CPU per state transition, and the ceiling each tier would have alone on
# the cores of this machine: the database's is the limit nodes cannot lift.
cores = len(__import__("os").sched_getaffinity(0))
transitions = max(tr, 1)
print(f"cpu_s postgres={pg:.1f} nodes={nodes:.1f} other={max(everything - pg - nodes, 0):.1f} "
      f"wall_s={wall:.1f} cores={cores}")
print(f"cpu_us_per_transition postgres={pg / transitions * 1e6:.1f} nodes={nodes / transitions * 1e6:.1f}")
if pg > 0:
    print(f"postgres_alone_on_{cores}_cores_would_cap_at_transitions_per_s={cores * transitions / pg:.0f}")
PY
