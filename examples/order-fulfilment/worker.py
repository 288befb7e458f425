"""The pack-order activity worker, written against the plain AWS SDK for
Python (boto3): it creates the activity (CreateActivity is idempotent),
long-polls GetActivityTask, heartbeats while it packs, and answers with
SendTaskSuccess, or SendTaskFailure (Order.OutOfStock) for an order it
cannot fill. Run several: each gets different orders.

Usage: python3 worker.py [--name NAME] [--once]
Needs boto3 and a Statecraft server (STATECRAFT_ENDPOINT, default
http://127.0.0.1:8083). Statecraft does not check credentials, but boto3
wants some: any values do."""

import argparse
import json
import os
import time

import boto3
from botocore.config import Config

OUT_OF_STOCK = {"unicorn"}


def client():
    return boto3.client(
        "stepfunctions",
        endpoint_url=os.environ.get("STATECRAFT_ENDPOINT", "http://127.0.0.1:8083"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "statecraft"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "statecraft"),
        # GetActivityTask holds the request for up to 60 seconds.
        config=Config(read_timeout=70, retries={"max_attempts": 2}),
    )


def pack(sfn, token, order, worker):
    items = order.get("items", [])
    order_id = str(order.get("orderId", "o-0"))
    missing = [i["sku"] for i in items if i["sku"] in OUT_OF_STOCK]
    if missing:
        sfn.send_task_failure(
            taskToken=token,
            error="Order.OutOfStock",
            cause=f"out of stock: {', '.join(missing)}",
        )
        return "backordered"
    grams = 0
    for item in items:
        # Packing takes a while: tell Step Functions we are alive.
        sfn.send_task_heartbeat(taskToken=token)
        grams += 400 * item["qty"] + 50
        time.sleep(0.05)
    parcel = {"parcelId": "p-" + order_id.split("-")[-1], "weightGrams": grams, "packedBy": worker}
    sfn.send_task_success(taskToken=token, output=json.dumps(parcel))
    return "packed"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default=f"worker-{os.getpid()}")
    parser.add_argument("--once", action="store_true", help="handle one task, then exit")
    args = parser.parse_args()
    sfn = client()
    activity = sfn.create_activity(name="pack-order")["activityArn"]
    print(f"{args.name} polling {activity}", flush=True)
    while True:
        task = sfn.get_activity_task(activityArn=activity, workerName=args.name)
        token = task.get("taskToken")
        if not token:
            continue  # the poll ran out without work: poll again
        order = json.loads(task["input"])
        outcome = pack(sfn, token, order, args.name)
        print(f"{args.name}: order {order.get('orderId')} {outcome}", flush=True)
        if args.once:
            return


if __name__ == "__main__":
    main()
