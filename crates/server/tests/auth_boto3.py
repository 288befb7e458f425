"""Signed requests against a `statecraft server` with [[auth.credentials]]:
boto3 (botocore's own SigV4 signer) with the right, wrong and unknown keys,
unsigned, with an expired timestamp, in the query-string form, through the
`sync-` host, and each role against operations it may and may not call.

Usage: auth_boto3.py ENDPOINT  (the keys are the ones crates/server/tests/auth.rs
configures). Prints one line per check and `N passed, M failed` last.
"""

import datetime
import http.client
import json
import sys
import urllib.parse
from unittest import mock

import boto3
import botocore
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
KEYS = {
    "admin": ("AKIDADMIN", "admin-secret"),
    "operator": ("AKIDOPERATOR", "operator-secret"),
    "reader": ("AKIDREADER", "reader-secret"),
    "worker": ("AKIDWORKER", "worker-secret"),
}
ROLE_ARN = "arn:aws:iam::123456789012:role/r"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def client(key, secret, **config):
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, inject_host_prefix=False, **config),
    )


def error_of(call):
    """(code, status, message) of the error `call` raises, or None."""
    try:
        call()
        return None
    except botocore.exceptions.ClientError as e:
        return (
            e.response["Error"]["Code"],
            e.response["ResponseMetadata"]["HTTPStatusCode"],
            e.response["Error"].get("Message", ""),
        )


def expect_error(name, call, code, status):
    got = error_of(call)
    check(name, got is not None and got[0] == code and got[1] == status, f"got {got}")
    return got


admin = client(*KEYS["admin"])
arn = admin.create_state_machine(name="auth", definition=PASS, roleArn=ROLE_ARN)["stateMachineArn"]
check("admin creates a state machine", arn.endswith(":auth"))
check("admin lists", len(admin.list_state_machines()["stateMachines"]) == 1)

# Wrong secret, unknown key, no signature.
got = expect_error(
    "a wrong secret is InvalidSignatureException (403)",
    lambda: client("AKIDADMIN", "not-the-secret").list_state_machines(),
    "InvalidSignatureException",
    403,
)
check(
    "its message is AWS's",
    got is not None and got[2].startswith("The request signature we calculated does not match the signature you provided"),
    f"{got}",
)
expect_error(
    "an unknown key is UnrecognizedClientException (403)",
    lambda: client("AKIDNOBODY", "x").list_state_machines(),
    "UnrecognizedClientException",
    403,
)
expect_error(
    "an unsigned request is MissingAuthenticationTokenException (403)",
    lambda: client("x", "y", signature_version=botocore.UNSIGNED).list_state_machines(),
    "MissingAuthenticationTokenException",
    403,
)


# A request signed 20 minutes ago (botocore's clock moved back), sent now;
# and the same request's bytes replayed: both outside AWS's 15-minute window.
REAL_DATETIME = datetime.datetime


class Past(REAL_DATETIME):
    @classmethod
    def utcnow(cls):
        return REAL_DATETIME.utcnow() - datetime.timedelta(minutes=20)

    @classmethod
    def now(cls, tz=None):
        return REAL_DATETIME.now(tz) - datetime.timedelta(minutes=20)


def send(request, host_header=None):
    """Sends a prepared botocore request with http.client: (status, body)."""
    url = urllib.parse.urlsplit(ENDPOINT)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = dict(request.headers.items())
    if host_header:
        headers["Host"] = host_header
    path = urllib.parse.urlsplit(request.url)
    target = path.path + ("?" + path.query if path.query else "")
    conn.request(request.method, target or "/", body=request.body, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, json.loads(body) if body else {}


def api_request(op, body, host=None, prefix="AWSStepFunctions"):
    url = urllib.parse.urlsplit(ENDPOINT)
    req = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"{prefix}.{op}",
            "Host": host or url.netloc,
        },
    )
    return req


with mock.patch("botocore.auth.datetime.datetime", Past):
    old = api_request("ListStateMachines", {})
    SigV4Auth(Credentials(*KEYS["admin"]), "states", REGION).add_auth(old)
status, body = send(old)
check(
    "a timestamp 20 minutes old is InvalidSignatureException (403), Signature expired",
    status == 403 and body.get("__type") == "InvalidSignatureException" and "Signature expired" in body.get("message", ""),
    f"{status} {body}",
)
status, body = send(old)
check("its replay is refused too", status == 403 and body.get("__type") == "InvalidSignatureException", f"{status} {body}")

# Signed for the sync- host as the SDKs send StartSyncExecution: the
# signature covers the Host header as sent.
url = urllib.parse.urlsplit(ENDPOINT)
sync_host = f"sync-localhost:{url.port}"
req = api_request("ListStateMachines", {}, host=sync_host)
SigV4Auth(Credentials(*KEYS["admin"]), "states", REGION).add_auth(req)
status, body = send(req, host_header=sync_host)
check("signed for the sync- host", status == 200 and "stateMachines" in body, f"{status} {body}")
status, body = send(req, host_header=f"localhost:{url.port}")
check("the same signature for another Host fails", status == 403, f"{status} {body}")

# The query-string form (a presigned request).
req = api_request("ListStateMachines", {})
SigV4QueryAuth(Credentials(*KEYS["reader"]), "states", REGION, expires=300).add_auth(req)
if "Authorization" in req.headers:
    del req.headers["Authorization"]
status, body = send(req)
check("the query-string form", status == 200 and "stateMachines" in body, f"{status} {body}")

# A changed body under a valid signature.
req = api_request("ListStateMachines", {})
SigV4Auth(Credentials(*KEYS["admin"]), "states", REGION).add_auth(req)
req.data = b'{"maxResults": 1}'
status, body = send(req)
check("a changed body is refused", status == 403, f"{status} {body}")

# Roles.
operator = client(*KEYS["operator"])
reader = client(*KEYS["reader"])
worker = client(*KEYS["worker"])
ex = operator.start_execution(stateMachineArn=arn)["executionArn"]
check("operator starts an execution", ":auth:" in ex)
expect_error(
    "operator may not create a state machine",
    lambda: operator.create_state_machine(name="no", definition=PASS, roleArn=ROLE_ARN),
    "AccessDeniedException",
    400,
)
check("reader describes", reader.describe_execution(executionArn=ex)["executionArn"] == ex)
check("reader reads a history", len(reader.get_execution_history(executionArn=ex)["events"]) >= 1)
got = expect_error(
    "reader may not start an execution",
    lambda: reader.start_execution(stateMachineArn=arn),
    "AccessDeniedException",
    400,
)
check("the denial names the operation", got is not None and "states:StartExecution" in got[2], f"{got}")
expect_error(
    "reader may not stop an execution",
    lambda: reader.stop_execution(executionArn=ex),
    "AccessDeniedException",
    400,
)
expect_error(
    "worker may not list state machines",
    lambda: worker.list_state_machines(),
    "AccessDeniedException",
    400,
)
got = error_of(lambda: worker.send_task_heartbeat(taskToken="no-such-token"))
check(
    "worker may answer a task (the token is unknown, not the call refused)",
    got is not None and got[0] != "AccessDeniedException",
    f"{got}",
)
activity = admin.create_activity(name="auth-activity")["activityArn"]
waits = admin.create_state_machine(
    name="auth-activity",
    definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": True}}}),
    roleArn=ROLE_ARN,
)["stateMachineArn"]
operator.start_execution(stateMachineArn=waits)
task = worker.get_activity_task(activityArn=activity, workerName="w")
check("worker polls for an activity task", bool(task.get("taskToken")), f"{task}")
worker.send_task_success(taskToken=task["taskToken"], output="{}")
check("worker answers it", True)
expect_error(
    "reader may not poll for activity tasks",
    lambda: reader.get_activity_task(activityArn=activity),
    "AccessDeniedException",
    400,
)
# Statecraft's own operator operations are signed and role-checked alike.
missing = arn.replace(":stateMachine:", ":execution:") + ":no-such-execution"
for role, allowed in [("operator", True), ("reader", False), ("worker", False)]:
    req = api_request("PauseExecution", {"executionArn": missing}, prefix="Statecraft")
    SigV4Auth(Credentials(*KEYS[role]), "states", REGION).add_auth(req)
    status, body = send(req)
    denied = body.get("__type") == "AccessDeniedException"
    check(
        f"{role} {'may' if allowed else 'may not'} call Statecraft.PauseExecution",
        denied != allowed and (allowed or "states:PauseExecution" in body.get("message", "")),
        f"{status} {body}",
    )
status, body = send(api_request("ResumeExecution", {"executionArn": missing}, prefix="Statecraft"))
check(
    "an unsigned Statecraft.ResumeExecution is MissingAuthenticationTokenException",
    status == 403 and body.get("__type") == "MissingAuthenticationTokenException",
    f"{status} {body}",
)

admin.delete_state_machine(stateMachineArn=arn)
check("admin deletes", True)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
