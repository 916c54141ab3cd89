"""A fake AWS Step Functions endpoint speaking the JSON protocol (POST /, Content-Type
application/x-amz-json-1.0, X-Amz-Target: AWSStepFunctions.SendTaskSuccess|SendTaskFailure|
SendTaskHeartbeat), for the tests. It records every call and answers by task token:

    token starts with   answer
    "timedout"          400 TaskTimedOut
    "invalid"           400 InvalidToken
    "gone"              400 TaskDoesNotExist
    "bad"               400 ValidationException (not retryable, not final)
    "throttle"          400 ThrottlingException, always
    "flaky-N-..."       500 InternalFailure for the first N calls with that token, then 200
    anything else       200 {}

    with FakeSfn() as sfn:               # sfn.url -> "http://127.0.0.1:<port>"
        ... sfn_endpoint_url = sfn.url ...
        sfn.calls                        # [{"target", "body" (parsed), "headers"}...]
        sfn.calls_for(token)
"""
import http.server
import json
import threading

ERRORS = {
    "timedout": (400, "com.amazonaws.swf.service.v2.model#TaskTimedOut", "Task Timed Out"),
    "invalid": (400, "com.amazonaws.swf.service.v2.model#InvalidToken", "Invalid Token"),
    "gone": (400, "com.amazonaws.swf.service.v2.model#TaskDoesNotExist", "Task does not exist"),
    "bad": (400, "ValidationException", "1 validation error detected"),
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
}


class FakeSfn:
    def __init__(self, host="127.0.0.1"):
        self.calls = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                call = {"target": self.headers.get("X-Amz-Target"), "body": body,
                        "raw": raw, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}}
                with fake.lock:
                    fake.calls.append(call)
                    status, data = fake._answer(call)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", "fake-%d" % len(fake.calls))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://%s:%d" % (host, self.server.server_address[1])

    def _answer(self, call):
        token = (call["body"] or {}).get("taskToken") or ""
        for prefix, (status, typ, msg) in ERRORS.items():
            if token.startswith(prefix):
                return status, json.dumps({"__type": typ, "message": msg}).encode()
        if token.startswith("flaky-"):
            n = int(token.split("-")[1])
            if len(self.calls_for(token)) <= n:
                return 500, json.dumps({"__type": "InternalFailure",
                                        "message": "try again"}).encode()
        return 200, b"{}"

    def calls_for(self, token):
        return [c for c in self.calls if (c["body"] or {}).get("taskToken") == token]

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
