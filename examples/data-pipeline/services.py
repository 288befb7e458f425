"""The data pipeline's services, standard library only: two Lambda-style
functions (fetch-records, transform-record) and the warehouse's load
endpoint. Run: python3 services.py  (listens on 127.0.0.1:8810).

A function endpoint receives the Lambda payload as a POST body and answers
with the result. To fail, it answers 4xx/5xx with
{"errorType": ..., "errorMessage": ...}: Statecraft raises errorType as the
state's error, which Retry and Catch match (see InvalidRecord)."""

import csv
import io
import itertools
import json
import random
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SAMPLE = """id,customer,amount
1, Ada ,12.50
2,Grace,7
3,,oops
"""
BATCHES = itertools.count(1)


class InvalidRecord(Exception):
    pass


def fetch_records(event):
    path = (event.get("request") or {}).get("path", "sample.csv")
    rows = list(csv.DictReader(io.StringIO(SAMPLE)))
    return {"source": path, "records": [dict(r, id=int(r["id"])) for r in rows]}


def transform_record(event):
    record = event["record"]
    try:
        cents = round(float(record["amount"]) * 100)
    except ValueError:
        raise InvalidRecord(f"amount {record['amount']!r} is not a number")
    if random.random() < 0.1:
        # A flaky dependency: the state's Retry takes care of it.
        raise RuntimeError("upstream timeout")
    return {"id": record["id"], "customer": record["customer"].strip(), "amount_cents": cents}


FUNCTIONS = {"fetch-records": fetch_records, "transform-record": transform_record}


class Services(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.startswith("/functions/"):
            function = FUNCTIONS.get(self.path.removeprefix("/functions/"))
            if function is None:
                return self._answer(404, {"errorType": "ResourceNotFound", "errorMessage": self.path})
            try:
                return self._answer(200, function(body))
            except Exception as e:  # the Lambda error shape
                status = 400 if isinstance(e, InvalidRecord) else 500
                return self._answer(status, {"errorType": type(e).__name__, "errorMessage": str(e)})
        if self.path.startswith("/warehouse/batches"):
            rows = body.get("rows", [])
            quarantined = sum(1 for r in rows if r.get("quarantined"))
            batch = f"b-{next(BATCHES):04d}"
            print(f"loaded {batch} from {body.get('source')}: {len(rows) - quarantined} rows, {quarantined} quarantined")
            return self._answer(200, {"batch": batch, "loaded": len(rows) - quarantined, "quarantined": quarantined})
        self._answer(404, {"message": "no such path"})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8810), Services).serve_forever()
