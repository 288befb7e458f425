"""The MLOps example's services, standard library only, on 127.0.0.1:8820:

- POST /functions/evaluate-model  (a Lambda-style function) scores a model
  on fresh synthetic data;
- POST /functions/request-approval  receives the task token of the waiting
  RequestApproval state and prints how to answer it (approve.py);
- POST /deployments  is the model registry (wants the x-api-key header the
  `model-registry` connection adds).

Run: MODEL_REGISTRY_KEY=dev-key python3 services.py"""

import itertools
import json
import os
import random
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEPLOYMENTS = itertools.count(1)
PENDING = {}


def evaluate_model(event):
    centroids = event["model"]["centroids"]
    rng = random.Random(42)
    hits = 0
    n = 400
    for _ in range(n):
        label = rng.random() < 0.5
        cx, cy = (0.8, 0.7) if label else (0.2, 0.3)
        x, y = rng.gauss(cx, 0.15), rng.gauss(cy, 0.15)
        dist = [(x - c[0]) ** 2 + (y - c[1]) ** 2 for c in centroids]
        hits += dist.index(min(dist)) == int(label)
    accuracy = round(hits / n, 4)
    return {"accuracy": accuracy, "f1": accuracy}


def request_approval(event):
    token = event["token"]
    PENDING[token] = event
    print(
        f"\nModel {event['model']['name']} {event['model']['version']} scored {event['accuracy']}.\n"
        f"  approve: python3 examples/mlops/approve.py '{token}'\n"
        f"  reject:  python3 examples/mlops/approve.py --reject '{token}'\n"
    )
    return {"pending": len(PENDING)}


FUNCTIONS = {"evaluate-model": evaluate_model, "request-approval": request_approval}


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
            except Exception as e:
                return self._answer(500, {"errorType": type(e).__name__, "errorMessage": str(e)})
        if self.path == "/deployments":
            if self.headers.get("x-api-key") != os.environ.get("MODEL_REGISTRY_KEY"):
                return self._answer(403, {"message": "bad API key"})
            deployment = f"dep-{next(DEPLOYMENTS):04d}"
            model = body["model"]
            print(f"deployed {model['name']} {model['version']} as {deployment}, approved by {body.get('approvedBy')}")
            return self._answer(201, {
                "deployment": deployment,
                "endpoint": f"http://127.0.0.1:8820/models/{model['name']}/predict",
            })
        self._answer(404, {"message": "no such path"})


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8820), Services).serve_forever()
