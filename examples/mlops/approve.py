"""Answers the RequestApproval step with the plain AWS SDK for Python:
SendTaskSuccess (approved) or SendTaskFailure (rejected, error
Approval.Rejected, which the workflow catches).

Usage: python3 approve.py [--reject] [--reason TEXT] TOKEN
Needs boto3 and a Statecraft server (STATECRAFT_ENDPOINT, default
http://127.0.0.1:8083). Statecraft does not check credentials, but boto3
wants some: any values do."""

import argparse
import getpass
import json
import os

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("token")
    parser.add_argument("--reject", action="store_true")
    parser.add_argument("--reason", default="")
    args = parser.parse_args()
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=os.environ.get("STATECRAFT_ENDPOINT", "http://127.0.0.1:8083"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "statecraft"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "statecraft"),
    )
    if args.reject:
        sfn.send_task_failure(
            taskToken=args.token,
            error="Approval.Rejected",
            cause=args.reason or f"rejected by {getpass.getuser()}",
        )
        print("rejected")
    else:
        sfn.send_task_success(
            taskToken=args.token,
            output=json.dumps({"approved": True, "approver": getpass.getuser()}),
        )
        print("approved")


if __name__ == "__main__":
    main()
