"""Statecraft's operators' operations, signed with botocore's own SigV4
signer, against a `statecraft server` with [[auth.credentials]]: the
history records who paused, resumed and restarted (the caller's access key
id), and a reader may not call them.

Usage: operators_boto3.py ENDPOINT  (keys as crates/server/tests/operators_auth.rs
configures them). Prints one line per check and `N passed, M failed` last.
"""

import http.client
import json
import sys
import time
import urllib.parse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
OPERATOR = ("AKIDOPERATOR", "operator-secret")
READER = ("AKIDREADER", "reader-secret")
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}: {detail}")


def statecraft(op, body, key):
    """A signed Statecraft.<op> request: (status, body)."""
    url = urllib.parse.urlsplit(ENDPOINT)
    req = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"Statecraft.{op}",
            "Host": url.netloc,
        },
    )
    SigV4Auth(Credentials(*key), "states", REGION).add_auth(req)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return r.status, json.loads(text) if text else {}


sfn = boto3.client(
    "stepfunctions",
    endpoint_url=ENDPOINT,
    region_name=REGION,
    aws_access_key_id=OPERATOR[0],
    aws_secret_access_key=OPERATOR[1],
    config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
)
admin = boto3.client(
    "stepfunctions",
    endpoint_url=ENDPOINT,
    region_name=REGION,
    aws_access_key_id="AKIDADMIN",
    aws_secret_access_key="admin-secret",
    config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
)
definition = json.dumps({
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
})
machine = admin.create_state_machine(
    name="who", definition=definition, roleArn="arn:aws:iam::123456789012:role/r"
)["stateMachineArn"]
arn = sfn.start_execution(stateMachineArn=machine, input='{"wait": 600}')["executionArn"]

status, body = statecraft("PauseExecution", {"executionArn": arn}, READER)
check("a reader may not pause (AccessDeniedException, HTTP 400 as on AWS)", status == 400 and body.get("__type") == "AccessDeniedException", f"{status} {body}")

status, body = statecraft("PauseExecution", {"executionArn": arn}, OPERATOR)
check("the operator pauses", status == 200 and "pauseDate" in body, f"{status} {body}")
d = sfn.describe_execution(executionArn=arn)
check("boto3 still sees RUNNING", d["status"] == "RUNNING", d["status"])

status, body = statecraft("ResumeExecution", {"executionArn": arn}, OPERATOR)
check("the operator resumes", status == 200, f"{status} {body}")
sfn.stop_execution(executionArn=arn)
status, body = statecraft(
    "RestartExecution",
    {"executionArn": arn, "fromState": "Hold", "input": '{"wait": 0}'},
    OPERATOR,
)
check("the operator restarts", status == 200 and "restartDate" in body, f"{status} {body}")
deadline = time.time() + 20
while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.time() < deadline:
    time.sleep(0.05)
check("the restart succeeds", sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED")

events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
# boto3 drops members it does not know (Statecraft's details): read the
# history raw to see them.
url = urllib.parse.urlsplit(ENDPOINT)
req = AWSRequest(
    method="POST",
    url=ENDPOINT + "/",
    data=json.dumps({"executionArn": arn, "maxResults": 1000}).encode(),
    headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSStepFunctions.GetExecutionHistory",
        "Host": url.netloc,
    },
)
SigV4Auth(Credentials(*OPERATOR), "states", REGION).add_auth(req)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
conn.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
history = json.loads(conn.getresponse().read().decode())["events"]
by_type = {e["type"]: e for e in history}
check(
    "ExecutionPaused names the caller",
    by_type.get("ExecutionPaused", {}).get("executionPausedEventDetails", {}).get("pausedBy") == "AKIDOPERATOR",
    by_type.get("ExecutionPaused"),
)
check(
    "ExecutionResumed names the caller",
    by_type.get("ExecutionResumed", {}).get("executionResumedEventDetails", {}).get("resumedBy") == "AKIDOPERATOR",
    by_type.get("ExecutionResumed"),
)
check(
    "ExecutionRedriven names the caller and the state",
    by_type.get("ExecutionRedriven", {}).get("executionRedrivenEventDetails", {}).get("restartedBy") == "AKIDOPERATOR"
    and by_type["ExecutionRedriven"]["executionRedrivenEventDetails"].get("fromState") == "Hold",
    by_type.get("ExecutionRedriven"),
)
check(
    "boto3 reads the whole history, Statecraft's event types included",
    [e["type"] for e in events] == [e["type"] for e in history],
    [e["type"] for e in events],
)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
