"""boto3's `scheduler` client, unchanged, against a Statecraft server.

Usage: schedules_boto3.py ENDPOINT create|after-restart

`create` makes the schedules and checks what runs; `after-restart` (the
same data directory, a new process) checks that nothing ran twice.
Exits non-zero with the failed check's message on the first failure.
"""

import datetime
import json
import sys
import time
import urllib.request

import boto3
import botocore.exceptions

ENDPOINT, PHASE = sys.argv[1], sys.argv[2]
KW = dict(
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
sfn = boto3.client("stepfunctions", **KW)
scheduler = boto3.client("scheduler", **KW)
ROLE = "arn:aws:iam::123456789012:role/scheduler"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    checks += 1


def error_code(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    return None, ""


def machine():
    for m in sfn.list_state_machines()["stateMachines"]:
        if m["name"] == "scheduled":
            return m["stateMachineArn"]
    return sfn.create_state_machine(name="scheduled", definition=PASS, roleArn=ROLE)["stateMachineArn"]


def executions(arn, prefix):
    out = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [e for e in out if e["name"].startswith(prefix)]


def raw_get(path):
    with urllib.request.urlopen(ENDPOINT + path) as r:
        return json.loads(r.read())


arn = machine()

if PHASE == "create":
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    check("default" in groups, f"the default group is listed: {groups}")

    # A one-time schedule a few seconds ahead.
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)
    expr = "at(" + when.strftime("%Y-%m-%dT%H:%M:%S") + ")"
    out = scheduler.create_schedule(
        Name="once",
        ScheduleExpression=expr,
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": json.dumps({"from": "schedule"})},
    )
    check(out["ScheduleArn"].endswith(":schedule/default/once"), f"ScheduleArn: {out}")
    got = scheduler.get_schedule(Name="once")
    check(got["ScheduleExpression"] == expr, f"GetSchedule expression: {got}")
    check(got["State"] == "ENABLED" and got["Target"]["Arn"] == arn, f"GetSchedule: {got}")
    check(got["FlexibleTimeWindow"] == {"Mode": "OFF"}, f"window: {got}")

    # Errors, with AWS's names.
    code, msg = error_code(
        scheduler.create_schedule,
        Name="once",
        ScheduleExpression=expr,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    check(code == "ConflictException", f"a second CreateSchedule: {code} {msg}")
    code, msg = error_code(
        scheduler.create_schedule,
        Name="bad",
        ScheduleExpression="cron(0 12 * * *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    check(code == "ValidationException" and "ScheduleExpression" in msg, f"a five-field cron: {code} {msg}")
    code, msg = error_code(
        scheduler.create_schedule,
        Name="bad",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn + "-missing", "RoleArn": ROLE},
    )
    check(code == "ValidationException" and "Target.Arn" in msg, f"a missing target: {code} {msg}")
    code, msg = error_code(scheduler.get_schedule, Name="nope")
    check(code == "ResourceNotFoundException", f"GetSchedule of nothing: {code} {msg}")
    code, msg = error_code(
        scheduler.create_schedule,
        Name="bad",
        ScheduleExpression="rate(5 minutes)",
        ScheduleExpressionTimezone="Mars/Olympus",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    check(code == "ValidationException" and "Mars/Olympus" in msg, f"a bad zone: {code} {msg}")

    # A rate schedule starting in two minutes: its next run is its StartDate;
    # a cron schedule in New York: its next run is the next 09:00 there.
    start = int(time.time()) + 120
    scheduler.create_schedule(
        Name="every-minute",
        ScheduleExpression="rate(1 minute)",
        StartDate=datetime.datetime.fromtimestamp(start, datetime.timezone.utc),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    nxt = raw_get("/schedules/every-minute")["NextInvocation"]
    check(abs(nxt - start) < 0.01, f"rate(1 minute)'s next run is its StartDate: {nxt} vs {start}")
    scheduler.update_schedule(
        Name="every-minute",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
        State="DISABLED",
    )
    check(scheduler.get_schedule(Name="every-minute")["State"] == "DISABLED", "UpdateSchedule disables")
    listed = scheduler.list_schedules(State="DISABLED")["Schedules"]
    check([s["Name"] for s in listed] == ["every-minute"], f"ListSchedules by State: {listed}")
    scheduler.delete_schedule(Name="every-minute")
    code, _ = error_code(scheduler.get_schedule, Name="every-minute")
    check(code == "ResourceNotFoundException", "DeleteSchedule deletes")

    # A one-time schedule that deletes itself once it has run.
    scheduler.create_schedule(
        Name="once-and-gone",
        ScheduleExpression=expr,
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1},
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE},
    )

    # Exactly one execution for "once", with the schedule's Input.
    deadline = time.time() + 20
    while time.time() < deadline and not executions(arn, "once-2"):
        time.sleep(0.25)
    time.sleep(3)  # a second start would show by now
    runs = executions(arn, "once-2")
    check(len(runs) == 1, f"exactly one execution for the at() schedule: {runs}")
    desc = sfn.describe_execution(executionArn=runs[0]["executionArn"])
    check(json.loads(desc["input"]) == {"from": "schedule"}, f"the Target's Input: {desc['input']}")
    # The flexible one runs within its one-minute window, then is deleted.
    deadline = time.time() + 75
    while time.time() < deadline and error_code(scheduler.get_schedule, Name="once-and-gone")[0] is None:
        time.sleep(0.5)
    check(len(executions(arn, "once-and-gone-2")) == 1, "the flexible one-time schedule ran once")
    code, _ = error_code(scheduler.get_schedule, Name="once-and-gone")
    check(code == "ResourceNotFoundException", "ActionAfterCompletion DELETE deleted it")

elif PHASE == "after-restart":
    time.sleep(3)  # the runner has had three ticks after the restart
    runs = executions(arn, "once-2")
    check(len(runs) == 1, f"still exactly one execution after a restart: {runs}")
    check(scheduler.get_schedule(Name="once")["State"] == "ENABLED", "the schedule survived the restart")
    check(len(executions(arn, "once-and-gone-2")) == 1, "the deleted schedule did not run again")
else:
    raise SystemExit(f"unknown phase {PHASE}")

print(f"schedules {PHASE}: {checks} passed, 0 failed")
