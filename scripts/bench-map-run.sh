#!/bin/bash
# Distributed Map at scale (issue 13), a benchmark (nothing is asserted):
#  1. ITEMS (default 1,000,000) items from a JSONL object in a local-folder
#     bucket, read by the streaming ItemReader, in batches of 100 through a
#     Pass-only EXPRESS processor, results written by the ResultWriter;
#  2. STANDARD_ITEMS (default 10,000) items, each a STANDARD child execution
#     with its own history.
# For each it prints items/s (from StartExecution to the parent's end) and
# the server's peak RSS (VmHWM of the process, which covers the whole run).
# One server process per run, so each peak is its own.
#   cargo build --release -p statecraft-cli
#   scripts/bench-map-run.sh
set -eu
R=${CARGO_TARGET_DIR:-target}/release
ITEMS=${ITEMS:-1000000}
STANDARD_ITEMS=${STANDARD_ITEMS:-10000}
PORT=${PORT:-18950}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/bucket"
python3 - "$WORK/bucket" "$ITEMS" "$STANDARD_ITEMS" <<'PY'
import json, sys
folder, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for name, count in (("items.jsonl", n), ("standard.jsonl", m)):
    with open(f"{folder}/{name}", "w") as f:
        for i in range(count):
            f.write(json.dumps({"id": i, "name": f"item-{i:07d}", "size": i % 997}) + "\n")
PY
cat >"$WORK/config.toml" <<TOML
[integrations.buckets.bench]
url = "file://$WORK/bucket"
TOML

run() { # label, key, execution type, batch size (0: none)
  local label=$1 key=$2 type=$3 batch=$4
  local data
  data=$(mktemp -d -p "$WORK")
  "$R/statecraft" server --listen "127.0.0.1:$PORT" --data-dir "$data" --config "$WORK/config.toml" >"$data/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  python3 - "$PORT" "$PID" "$label" "$key" "$type" "$batch" <<'PY'
import json, sys, time, urllib.request
port, pid, label, key, etype, batch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
def api(op, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AWSStepFunctions.{op}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
def peak_rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
each = {"Type": "Map",
    "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "bench", "Key": key}},
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": etype},
        "StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": True}}},
    "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "bench", "Prefix": f"results/{label}"}},
    "End": True}
if batch:
    each["ItemBatcher"] = {"MaxItemsPerBatch": batch}
machine = api("CreateStateMachine", {"name": f"bench-{label}", "roleArn": "arn:aws:iam::123456789012:role/bench",
    "definition": json.dumps({"StartAt": "Each", "States": {"Each": each}})})["stateMachineArn"]
t0 = time.monotonic()
arn = api("StartExecution", {"stateMachineArn": machine})["executionArn"]
while True:
    d = api("DescribeExecution", {"executionArn": arn})
    if d["status"] != "RUNNING":
        break
    time.sleep(0.5)
elapsed = time.monotonic() - t0
runs = api("ListMapRuns", {"executionArn": arn})["mapRuns"]
counts = api("DescribeMapRun", {"mapRunArn": runs[0]["mapRunArn"]})["itemCounts"] if runs else {}
print(json.dumps({"run": label, "status": d["status"], "error": d.get("error"), "cause": (d.get("cause") or "")[:300],
    "items": counts.get("total"), "succeeded": counts.get("succeeded"), "seconds": round(elapsed, 1),
    "items_per_second": round((counts.get("succeeded") or 0) / elapsed), "server_peak_rss_mb": round(peak_rss_mb())}))
PY
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

run "express-batched" items.jsonl EXPRESS 100
run "standard" standard.jsonl STANDARD 0
