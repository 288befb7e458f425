"""The image catalog the workflow's Record step calls: a small HTTP service
(standard library only) that stores what it is told in memory and answers
with an id. Run: python3 service.py  (listens on 127.0.0.1:8808)."""

import itertools
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMAGES = {}
IDS = itertools.count(1)


class Catalog(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/images":
            return self._answer(404, {"message": "no such path"})
        length = int(self.headers.get("Content-Length", 0))
        try:
            image = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as e:
            return self._answer(400, {"message": f"not JSON: {e}"})
        image_id = f"img-{next(IDS):04d}"
        IMAGES[image_id] = image
        print(f"stored {image_id}: {image.get('source')} {image.get('width')}x{image.get('height')}")
        self._answer(201, {"id": image_id, "stored": True})

    def do_GET(self):
        self._answer(200, IMAGES)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8808), Catalog).serve_forever()
