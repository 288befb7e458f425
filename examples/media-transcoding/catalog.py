"""The video catalog the workflow's Publish step calls: a small HTTP service
(standard library only). Run: python3 catalog.py  (listens on 127.0.0.1:8809)."""

import itertools
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VIDEOS = {}
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
        if self.path != "/videos":
            return self._answer(404, {"message": "no such path"})
        length = int(self.headers.get("Content-Length", 0))
        video = json.loads(self.rfile.read(length) or b"{}")
        video_id = f"vid-{next(IDS):04d}"
        VIDEOS[video_id] = video
        names = ", ".join(r["name"] for r in video.get("renditions", []))
        print(f"published {video_id}: {video.get('source')} [{names}]")
        self._answer(201, {"id": video_id, "published": True})

    def do_GET(self):
        self._answer(200, VIDEOS)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8809), Catalog).serve_forever()
