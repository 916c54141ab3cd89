"""Shared plumbing for the fake AWS credential endpoints (IMDSv2, ECS, STS).

Each fake is a ThreadingHTTPServer on 127.0.0.1 (port 0 = any) that speaks the real wire
protocol, records every request (method, path, headers, body, status) and can be taken down:

    down = None       answer normally
    down = "500"      answer 500 to everything
    down = "close"    read the request, close the connection without an answer
    down = "hang"     read the request, answer nothing for hang_s seconds, then close

Credentials come from a CredFactory: access key ids PREFIX0001, PREFIX0002... with a
secret and a session token derived from the id, and an Expiration ttl seconds ahead.
"""
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def iso(ts):
    """Unix seconds -> 2026-12-03T10:00:00Z (what IMDS, ECS and STS send)."""
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CredFactory:
    """Hands out numbered temporary credentials; remembers each (for assertions)."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.issued = []            # dicts: akid, secret, token, expiration (unix s), issued
        self._lock = threading.Lock()

    def new(self, ttl):
        with self._lock:
            n = len(self.issued) + 1
            akid = "%s%04d" % (self.prefix, n)
            now = time.time()
            c = {"akid": akid, "secret": "secret/%s+%d" % (akid.lower(), n),
                 "token": "token-%s-%s" % (akid, "Z" * 64), "issued": now,
                 "expiration": now + ttl}
            self.issued.append(c)
            return c

    def current(self):
        with self._lock:
            return self.issued[-1] if self.issued else None

    def by_akid(self, akid):
        with self._lock:
            for c in self.issued:
                if c["akid"] == akid:
                    return c
        return None


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAWS/1.0"
    wbufsize = 1 << 16          # one write per answer (no delayed-ACK stalls); flushed per request

    def log_message(self, fmt, *args):        # quiet
        pass

    def _serve(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = {"time": time.time(), "method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace"), "status": None}
        down = fake.down
        if down in ("close", "hang"):
            rec["status"] = down
            fake.record(rec)
            if down == "hang":
                fake.stopping.wait(fake.hang_s)
            self.close_connection = True
            return
        if down == "500":
            status, headers, out = 500, [("Content-Type", "text/plain")], b"down\n"
        else:
            try:
                status, headers, out = fake.handle(self.command, self.path, rec["headers"],
                                                   body)
            except Exception as e:                        # a bug in a fake: say so loudly
                status, headers, out = 599, [("Content-Type", "text/plain")], repr(e).encode()
        rec["status"] = status
        fake.record(rec)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve


class FakeServer:
    """Base of the fakes: start()/stop() (also a context manager), .url, .records()."""

    name = "fake"

    def __init__(self, port=0):
        self.port = port
        self.down = None
        self.hang_s = 5.0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._records = []
        self.httpd = None
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), FakeHandler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=self.name,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def record(self, rec):
        with self._lock:
            self._records.append(rec)

    def records(self, method=None, path_prefix=None):
        with self._lock:
            recs = list(self._records)
        return [r for r in recs if (method is None or r["method"] == method) and
                (path_prefix is None or r["path"].startswith(path_prefix))]

    def clear_records(self):
        with self._lock:
            self._records = []

    def configure(self, **kw):
        """Sets attributes (down=..., hang_s=..., and each fake's own settings)."""
        for k, v in kw.items():
            if not hasattr(self, k) or k.startswith("_"):
                raise AttributeError("%s has no setting %r" % (self.name, k))
            setattr(self, k, v)

    def handle(self, method, path, headers, body):
        """Returns (status, [(header, value)], body bytes)."""
        raise NotImplementedError


def json_answer(status, doc):
    return status, [("Content-Type", "application/json")], json.dumps(doc).encode()


def text_answer(status, text, ctype="text/plain"):
    return status, [("Content-Type", ctype)], text.encode()
