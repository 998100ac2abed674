"""A stand-in for the SMS provider in the release smoke test (the one thing outside our system): accepts the
HttpBackend's JSON POST when the bearer token matches and appends each message as a JSON line to a file."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, TOKEN, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        message = json.loads(body)
        message["idempotency_key"] = self.headers.get("Idempotency-Key")
        with open(LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(message) + "\n")
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
