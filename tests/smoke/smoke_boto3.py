#!/usr/bin/env python3
"""Smoke test of `statecraft server` with boto3, the official Python SDK.

Runs a workflow end to end against a running server: creates a state machine,
starts an execution, waits for it, checks its output and history, runs an
EXPRESS machine through StartSyncExecution (with the `sync-` host prefix
turned off, see docs/sdk-setup.md) and checks that typed errors come back as
boto3's modelled exceptions.

Usage:
  smoke_boto3.py --binary PATH     start `PATH server` on a free port with a
                                   scratch data dir, test it, stop it
  smoke_boto3.py [ENDPOINT]        test a running server (default
                                   http://127.0.0.1:8083, or $STATECRAFT_ENDPOINT)
Exits non-zero on any mismatch; the last line is `smoke: N passed, M failed`.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("STATECRAFT_ENDPOINT", "http://127.0.0.1:8083")
ROLE = "arn:aws:iam::123456789012:role/statecraft-smoke"

passed = 0
failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what} {detail}")


def client():
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            inject_host_prefix=False,
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


CHAIN = {
    "Comment": "a Pass, a short Wait and a Choice",
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)", "n.$": "$.n"},
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Big?"},
        "Big?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
    },
}


def wait_for(sfn, arn, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.1)


def expect_error(what, code, fn):
    """Runs fn and checks that it fails with the modelled error `code`."""
    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        check(what, got == code, f"expected {code}, got {got}: {e}")
        return
    check(what, False, f"expected {code}, got success")


def main():
    sfn = client()
    suffix = uuid.uuid4().hex[:8]

    # Create (and create again: idempotent when identical).
    name = f"smoke-{suffix}"
    created = sfn.create_state_machine(name=name, definition=json.dumps(CHAIN), roleArn=ROLE)
    arn = created["stateMachineArn"]
    check("create returns an ARN", arn.endswith(f":stateMachine:{name}"), arn)
    again = sfn.create_state_machine(name=name, definition=json.dumps(CHAIN), roleArn=ROLE)
    check("create is idempotent", again["stateMachineArn"] == arn)
    described = sfn.describe_state_machine(stateMachineArn=arn)
    check("describe shows the definition", json.loads(described["definition"]) == CHAIN)
    check("describe type", described["type"] == "STANDARD", described["type"])

    # Start, wait, check output.
    started = sfn.start_execution(
        stateMachineArn=arn, name="first", input=json.dumps({"who": "world", "n": 42})
    )
    exec_arn = started["executionArn"]
    check("execution ARN", exec_arn.endswith(f":execution:{name}:first"), exec_arn)
    same = sfn.start_execution(
        stateMachineArn=arn, name="first", input=json.dumps({"who": "world", "n": 42})
    )
    check(
        "start is idempotent by name and input",
        same["executionArn"] == exec_arn,
    )
    done = wait_for(sfn, exec_arn)
    check("execution succeeded", done["status"] == "SUCCEEDED", done.get("status"))
    output = json.loads(done.get("output", "null"))
    check(
        "execution output",
        output == {"greeting": "Hello, world!", "n": 42, "size": "big"},
        output,
    )

    # History: dense ids, started first, succeeded last.
    events = []
    kwargs = {"executionArn": exec_arn, "maxResults": 3}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    ids = [e["id"] for e in events]
    check("history ids are 1..n", ids == list(range(1, len(ids) + 1)), ids)
    types = [e["type"] for e in events]
    check("history starts with ExecutionStarted", types[:1] == ["ExecutionStarted"], types)
    check("history ends with ExecutionSucceeded", types[-1:] == ["ExecutionSucceeded"], types)
    check("history has the Wait", "WaitStateEntered" in types, types)
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    check("list executions", [e["executionArn"] for e in listed] == [exec_arn])

    # StartSyncExecution on an EXPRESS machine.
    express = sfn.create_state_machine(
        name=f"smoke-express-{suffix}",
        type="EXPRESS",
        definition=json.dumps(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
        ),
        roleArn=ROLE,
    )["stateMachineArn"]
    sync = sfn.start_sync_execution(stateMachineArn=express, input="{}")
    check("sync execution succeeded", sync["status"] == "SUCCEEDED", sync)
    check("sync output", json.loads(sync.get("output", "null")) == {"ok": True}, sync.get("output"))

    # Typed errors.
    expect_error(
        "StartSyncExecution on STANDARD",
        "StateMachineTypeNotSupported",
        lambda: sfn.start_sync_execution(stateMachineArn=arn, input="{}"),
    )
    expect_error(
        "unknown machine",
        "StateMachineDoesNotExist",
        lambda: sfn.describe_state_machine(stateMachineArn=arn + "-nope"),
    )
    expect_error(
        "malformed ARN",
        "InvalidArn",
        lambda: sfn.describe_state_machine(stateMachineArn="not-an-arn"),
    )
    expect_error(
        "bad input",
        "InvalidExecutionInput",
        lambda: sfn.start_execution(stateMachineArn=arn, input="{not json"),
    )
    expect_error(
        "bad definition",
        "InvalidDefinition",
        lambda: sfn.create_state_machine(
            name=f"smoke-bad-{suffix}", definition='{"StartAt": "X"}', roleArn=ROLE
        ),
    )
    expect_error(
        "name reuse with other input",
        "ExecutionAlreadyExists",
        lambda: sfn.start_execution(stateMachineArn=arn, name="first", input="{}"),
    )

    sfn.delete_state_machine(stateMachineArn=express)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_binary(binary):
    """Starts `binary server` on a free port; returns (process, endpoint, data dir)."""
    data = tempfile.mkdtemp(prefix="statecraft-smoke-")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "server", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"the server exited with {proc.returncode}: {err}")
        try:
            with urllib.request.urlopen(endpoint + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, endpoint, data
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not come up within 20 s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="boto3 smoke test of statecraft server")
    parser.add_argument("endpoint", nargs="?", help="URL of a running server")
    parser.add_argument("--binary", help="the statecraft binary to start and test")
    args = parser.parse_args()
    proc, data = None, None
    try:
        if args.binary:
            proc, ENDPOINT, data = start_binary(args.binary)
        elif args.endpoint:
            ENDPOINT = args.endpoint
        main()
    except Exception as e:  # any unexpected failure is a failed check, not a crash
        check("smoke run completed", False, repr(e))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if data is not None:
            shutil.rmtree(data, ignore_errors=True)
    print(f"smoke: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
