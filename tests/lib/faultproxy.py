"""Fault-injecting HTTP/1.1 proxy for s3statusd's tests.

The daemon (or boto3) uses the proxy as its endpoint; the proxy forwards to the emulator and
can, per service and operation, inject errors, connection resets, hangs and latency, close idle
keep-alive connections, and rewrite answers. Every request is logged as one JSON line (file and
memory). Threaded, keep-alive on both sides, Host header passed through unchanged.

In-process use (tests):

    proxy = FaultProxy(upstream="http://127.0.0.1:4566", seed=7, log_path="/tmp/p.jsonl")
    proxy.start()                       # proxy.url -> "http://127.0.0.1:<port>"
    proxy.set_rule(service="s3", op="PutObject", error_rate=0.2, kind="500")
    proxy.set_rule(service="sqs", op="DeleteMessageBatch", rewrite=fail_batch_entries(1))
    proxy.clear_rules(); proxy.records(op="PutObject"); proxy.stop()

CLI (manual use):

    python3 faultproxy.py --listen 8080 --upstream http://127.0.0.1:4566 \
        [--config rules.json] [--log requests.jsonl] [--seed N]

rules.json: {"seed": 1, "idle_close_ms": 500,
             "rules": [{"service": "s3", "op": "PutObject", "error_rate": 0.2, "kind": "500"}]}
(SIGHUP re-reads it.)

Fault kinds: "500" (InternalError), "503" (S3 SlowDown / SQS ServiceUnavailable), "throttle"
(SQS 400 ThrottlingException, S3 503 SlowDown), "403" (AccessDenied), "reset" (TCP RST before
forwarding), "reset_after" (forward, then RST instead of the answer: the operation happened
but the client sees a failure), "hang" (no answer for hang_ms, then close), "respond" (answer
with status/body/headers given in the rule without forwarding, e.g. a Step Functions stub).
"""
import argparse
import json
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
import http.client
import urllib.parse
import uuid

__all__ = ["FaultProxy", "Rule", "Exchange", "fail_batch_entries", "duplicate_received",
           "classify"]

MAX_HEADER_BYTES = 64 * 1024
READ_TIMEOUT = 120.0          # a client that stops sending mid-request
UPSTREAM_TIMEOUT = 120.0      # ReceiveMessage long polls last up to 20 s
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
              "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding",
              "upgrade", "expect"}
FAULT_KINDS = {"500", "503", "throttle", "403", "reset", "reset_after", "hang", "respond"}


# ---------------------------------------------------------------------------------------------
# Request classification

def classify(method, target, headers):
    """Returns (service, op, bucket, key) for a request; service is sqs, s3, sfn or other."""
    path, _, query = target.partition("?")
    amz_target = headers.get("x-amz-target", "")
    if amz_target:
        prefix, _, op = amz_target.partition(".")
        if prefix == "AmazonSQS":
            return "sqs", op, None, None
        if prefix.startswith("AWSStepFunctions"):
            return "sfn", op, None, None
        return "other", amz_target, None, None
    if path in ("/health",) or path.startswith("/_fauxqs"):
        return "other", path, None, None
    ctype = headers.get("content-type", "")
    if method == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
        return "sqs", None, None, None          # Query protocol: op filled in from the body
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    bucket, key = None, None
    host = headers.get("host", "").split(":")[0]
    if host and "." in host and not host.replace(".", "").isdigit() and \
            not host.startswith("sqs."):
        bucket = host.split(".", 1)[0]          # virtual-hosted style
        key = urllib.parse.unquote(path[1:]) or None
    else:
        parts = path[1:].split("/", 1)
        bucket = urllib.parse.unquote(parts[0]) or None
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    if bucket is None:
        return "s3", "ListBuckets" if method == "GET" else method, None, None
    if key is None:
        op = {"GET": "ListObjectsV2" if params.get("list-type") == ["2"] else "ListObjects",
              "HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
        if method == "POST" and "delete" in params:
            op = "DeleteObjects"
        if method == "GET" and "uploads" in params:
            op = "ListMultipartUploads"
        return "s3", op or method + "Bucket", bucket, None
    if method == "PUT":
        if "partNumber" in params:
            op = "UploadPart"
        elif "x-amz-copy-source" in headers:
            op = "CopyObject"
        else:
            op = "PutObject"
    elif method == "POST":
        op = "CreateMultipartUpload" if "uploads" in params else (
            "CompleteMultipartUpload" if "uploadId" in params else "PostObject")
    elif method == "DELETE":
        op = "AbortMultipartUpload" if "uploadId" in params else "DeleteObject"
    else:
        op = {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, method + "Object")
    return "s3", op, bucket, key


def _walk_ids(obj, out):
    """Collects MessageId, ReceiptHandle and batch entry Id values from SQS JSON."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "MessageId" and isinstance(v, str):
                out["message_ids"].append(v)
            elif k == "ReceiptHandle" and isinstance(v, str):
                out["receipt_handles"].append(v)
            elif k in ("Entries", "Successful", "Failed") and isinstance(v, list):
                for e in v:
                    if isinstance(e, dict) and isinstance(e.get("Id"), str):
                        out["failed_ids" if k == "Failed" else "entry_ids"].append(e["Id"])
                _walk_ids(v, out)
            else:
                _walk_ids(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _walk_ids(v, out)


def _json_or_none(data):
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------------------------------
# Error bodies, as the real services send them

def _sqs_error(status, type_name, query_code, fault, message):
    body = json.dumps({"__type": "com.amazonaws.sqs#" + type_name, "message": message})
    return status, [("Content-Type", "application/x-amz-json-1.0"),
                    ("x-amzn-RequestId", str(uuid.uuid4())),
                    ("x-amzn-query-error", "%s;%s" % (query_code, fault))], body.encode()


def _s3_error(status, code, message, resource=""):
    rid = uuid.uuid4().hex[:16].upper()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>%s</RequestId><HostId>faultproxy</HostId></Error>'
            % (code, message, resource, rid))
    return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body.encode()


def error_response(service, kind, rule, resource=""):
    """The (status, headers, body) of an injected error of this kind for this service."""
    if service == "s3":
        if kind == "500":
            return _s3_error(500, "InternalError",
                             "We encountered an internal error. Please try again.", resource)
        if kind in ("503", "throttle"):
            return _s3_error(503, "SlowDown", "Please reduce your request rate.", resource)
        return _s3_error(403, "AccessDenied", "Access Denied", resource)
    code = rule.error_code
    if kind == "500":
        return _sqs_error(500, code or "InternalError", code or "InternalError", "Receiver",
                          "We encountered an internal error. Please try again.")
    if kind == "503":
        return _sqs_error(503, code or "ServiceUnavailable", code or "ServiceUnavailable",
                          "Receiver", "Service is unavailable. Please try again.")
    if kind == "throttle":
        return _sqs_error(400, code or "ThrottlingException", code or "ThrottlingException",
                          "Sender", "Rate exceeded")
    return _sqs_error(403, code or "AccessDeniedException", code or "AccessDenied", "Sender",
                      "User is not authorized to perform this action")


# ---------------------------------------------------------------------------------------------
# Rules and rewriters

class Rule:
    """What to do to requests of one service/op. One rule applies per request.

    error_rate: probability (0..1) of injecting `kind`; latency_ms: delay added before
    forwarding (every matching request); count: stop injecting after that many faults;
    skip: let that many matching requests through first; match: optional predicate on the
    Exchange (e.g. lambda ex: ex.key.endswith("summary.json")); rewrite: function(Exchange)
    applied to forwarded answers with probability rewrite_rate (see Exchange); hang_ms: how long
    "hang" holds the request; status/body/headers: the answer for kind "respond";
    error_code: overrides the SQS error type name.
    """

    def __init__(self, service="*", op="*", error_rate=0.0, kind="500", latency_ms=0,
                 count=None, skip=0, match=None, rewrite=None, rewrite_rate=1.0, hang_ms=30000,
                 status=200, body=b"", headers=None, error_code=None, kinds=None):
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (kind, sorted(FAULT_KINDS)))
        # kinds: {"500": 2, "503": 1, "reset": 1} picks the injected kind by weight.
        for k in kinds or {}:
            if k not in FAULT_KINDS:
                raise ValueError("unknown fault kind %r (one of %s)" % (k, sorted(FAULT_KINDS)))
        self.kinds = sorted((kinds or {}).items())
        if kind == "respond" and not error_rate:
            error_rate = 1.0
        self.service, self.op, self.error_rate, self.kind = service, op, error_rate, kind
        self.latency_ms, self.count, self.skip, self.match = latency_ms, count, skip, match
        self.rewrite, self.rewrite_rate, self.hang_ms = rewrite, rewrite_rate, hang_ms
        self.status = status
        self.body = body.encode() if isinstance(body, str) else (
            json.dumps(body).encode() if isinstance(body, (dict, list)) else body)
        self.headers = list((headers or {}).items())
        self.error_code = error_code
        self.seen = 0           # matching requests
        self.injected = 0       # faults injected
        self.rewritten = 0

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


class Exchange:
    """One request and, once forwarded, its answer; what rewriters and match predicates see.

    Request: method, target, service, op, bucket, key, request_headers (dict, lower-case
    names), request_body (bytes; None for streamed S3 bodies), request_json.
    Answer: status, headers (list of (name, value)), body (bytes), response_json.
    A rewriter may change status/headers/body in place, or return a dict (sent as JSON) or
    bytes to replace the body; Content-Length is fixed up afterwards.
    """

    def __init__(self, method, target, headers):
        self.method, self.target, self.request_headers = method, target, headers
        self.service, self.op, self.bucket, self.key = classify(method, target, headers)
        self.request_body = None
        self.request_json = None
        self.status, self.headers, self.body = None, [], None

    @property
    def response_json(self):
        return _json_or_none(self.body)


def fail_batch_entries(n=1, code="InternalError", sender_fault=False,
                       message="injected by faultproxy"):
    """Rewriter for SQS *Batch answers: moves the last n Successful entries to Failed."""
    def rewrite(ex):
        doc = ex.response_json
        if ex.status != 200 or not isinstance(doc, dict) or not doc.get("Successful"):
            return None
        ok = doc["Successful"]
        moved, doc["Successful"] = ok[len(ok) - n:], ok[:len(ok) - n]
        doc.setdefault("Failed", [])
        for e in moved:
            doc["Failed"].append({"Id": e["Id"], "SenderFault": sender_fault, "Code": code,
                                  "Message": message})
        return doc
    return rewrite


def duplicate_received(n=1):
    """Rewriter for ReceiveMessage answers: repeats the first n messages at the end."""
    def rewrite(ex):
        doc = ex.response_json
        if ex.status != 200 or not isinstance(doc, dict) or not doc.get("Messages"):
            return None
        doc["Messages"] = doc["Messages"] + [dict(m) for m in doc["Messages"][:n]]
        return doc
    return rewrite


# ---------------------------------------------------------------------------------------------
# Connection plumbing

class _Closed(Exception):
    """The client went away (or stopped sending) mid-request."""


class _Stream:
    """A buffered reader over a client socket whose waits can be cut short by stop()."""

    def __init__(self, sock, stop_event):
        self.sock, self.stop, self.buf = sock, stop_event, bytearray()

    def _fill(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.stop.is_set():
                raise _Closed("proxy stopping")
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Closed("read timeout")
            r, _, _ = select.select([self.sock], [], [], min(left, 0.25))
            if r:
                try:
                    data = self.sock.recv(65536)
                except OSError as e:
                    raise _Closed(str(e))
                if not data:
                    raise _Closed("eof")
                self.buf += data
                return

    def wait_request(self, idle_timeout):
        """True once a request starts arriving; False on idle timeout, EOF or stop."""
        try:
            if not self.buf:
                self._fill(idle_timeout if idle_timeout else 24 * 3600.0)
            return True
        except _Closed:
            return False

    def readline(self, limit=MAX_HEADER_BYTES):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise _Closed("header line too long")
            self._fill(READ_TIMEOUT)

    def read(self, n):
        """Up to n bytes (at least one)."""
        if not self.buf:
            self._fill(READ_TIMEOUT)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            out += self.read(n - len(out))
        return bytes(out)


class _BodyReader:
    """File-like view of a request body of known length (lets http.client stream it)."""

    def __init__(self, stream, length):
        self.stream, self.left = stream, length

    def read(self, n=65536):
        if self.left <= 0:
            return b""
        data = self.stream.read(min(n if n and n > 0 else 65536, self.left))
        self.left -= len(data)
        return data


def _reset(sock):
    """Closes with an RST (SO_LINGER 0) instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# The proxy

class FaultProxy:
    def __init__(self, upstream, listen_host="127.0.0.1", port=0, seed=0, log_path=None,
                 idle_close_ms=None, stream_threshold=1 << 20):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http":
            raise ValueError("upstream must be http://host:port")
        self.upstream_host, self.upstream_port = u.hostname, u.port or 80
        self.listen_host, self.port = listen_host, port
        self.rng = random.Random(seed)
        self.idle_close_ms = idle_close_ms
        self.stream_threshold = stream_threshold   # S3 bodies larger than this are streamed
        self.log_path = log_path
        self._log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self._lock = threading.Lock()
        self._rules = []
        self._records = []
        self._receipts = {}      # receipt handle -> message id, from ReceiveMessage answers
        self._seq = 0
        self._stop = threading.Event()
        self._conns = set()
        self._upstreams = set()
        self._threads = []
        self._listener = None
        self._accept_thread = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self):
        return "http://%s:%d" % (self.listen_host, self.port)

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.listen_host, self.port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self._listener = s
        self._accept_thread = threading.Thread(target=self._accept_loop, name="faultproxy-accept",
                                               daemon=True)
        self._accept_thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._listener:
            try:
                self._listener.close()
            except OSError:
                pass
        with self._lock:
            conns = list(self._conns)
            conns += [u.sock for u in self._upstreams if u.sock is not None]
        for c in conns:                 # wakes threads blocked on either side
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._accept_thread:
            self._accept_thread.join(5)
        for t in list(self._threads):
            t.join(5)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- rules ----------------------------------------------------------------------------
    def set_rule(self, service="*", op="*", **params):
        """Adds a rule, replacing any rule for the same (service, op). Returns the Rule."""
        rule = Rule(service=service, op=op, **params)
        with self._lock:
            self._rules = [r for r in self._rules if (r.service, r.op) != (service, op)]
            self._rules.append(rule)
        return rule

    def clear_rules(self, service=None, op=None):
        with self._lock:
            self._rules = [r for r in self._rules
                           if not ((service is None or r.service == service) and
                                   (op is None or r.op == op))]

    def set_idle_close(self, ms):
        """Close client keep-alive connections idle for more than ms (None: never)."""
        self.idle_close_ms = ms

    def load_config(self, cfg):
        """Applies a dict like the CLI's rules.json (replaces all rules)."""
        with self._lock:
            if "seed" in cfg:
                self.rng.seed(cfg["seed"])
            self._rules = [Rule.from_dict(d) for d in cfg.get("rules", [])]
        if "idle_close_ms" in cfg:
            self.idle_close_ms = cfg["idle_close_ms"]

    def _find_rule(self, ex):
        with self._lock:
            rules = list(self._rules)
        best = None
        for r in rules:
            if r.service not in ("*", ex.service) or r.op not in ("*", ex.op):
                continue
            if r.match is not None and not r.match(ex):
                continue
            rank = (r.service != "*") + 2 * (r.op != "*")
            if best is None or rank > best[0]:
                best = (rank, r)
        return best[1] if best else None

    def _decide(self, rule):
        """The fault kind to inject for this request, or None."""
        with self._lock:
            rule.seen += 1
            if rule.seen <= rule.skip or not rule.error_rate:
                return None
            if rule.count is not None and rule.injected >= rule.count:
                return None
            if self.rng.random() < rule.error_rate:
                rule.injected += 1
                if rule.kinds:
                    x = self.rng.random() * sum(w for _, w in rule.kinds)
                    for k, w in rule.kinds:
                        x -= w
                        if x < 0:
                            return k
                    return rule.kinds[-1][0]
                return rule.kind
        return None

    def _want_rewrite(self, rule):
        with self._lock:
            return self.rng.random() < rule.rewrite_rate

    # -- records --------------------------------------------------------------------------
    def records(self, service=None, op=None, fault=None):
        """Logged requests (dicts), optionally filtered; fault='any' means injected ones."""
        with self._lock:
            recs = list(self._records)
        return [r for r in recs
                if (service is None or r["service"] == service) and
                (op is None or r["op"] == op) and
                (fault is None or (r["fault"] is not None if fault == "any"
                                   else r["fault"] == fault))]

    def count(self, service=None, op=None, fault=None):
        return len(self.records(service, op, fault))

    def message_id_for(self, receipt_handle):
        with self._lock:
            return self._receipts.get(receipt_handle)

    def clear_records(self):
        with self._lock:
            self._records = []

    def _log(self, rec):
        with self._lock:
            self._records.append(rec)
            if self._log_file:
                self._log_file.write(json.dumps(rec, sort_keys=True) + "\n")
                self._log_file.flush()

    # -- serving --------------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self._listener], [], [], 0.25)
                if not r:
                    continue
                sock, _ = self._listener.accept()
            except OSError:
                break
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(sock)
                self._threads = [t for t in self._threads if t.is_alive()]
            t = threading.Thread(target=self._serve, args=(sock,), name="faultproxy-conn",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock):
        stream = _Stream(sock, self._stop)
        upstream = None
        reset = False
        try:
            while not self._stop.is_set():
                idle = self.idle_close_ms / 1000.0 if self.idle_close_ms else None
                if not stream.wait_request(idle):
                    break
                keep, reset, upstream = self._handle_one(sock, stream, upstream)
                if not keep:
                    break
        except _Closed:
            pass
        except Exception as e:                       # keep serving other connections
            print("faultproxy: connection error: %r" % (e,), file=sys.stderr)
        finally:
            with self._lock:
                self._conns.discard(sock)
                self._upstreams = {u for u in self._upstreams if u.sock is not None}
            if upstream is not None:
                upstream.close()
                with self._lock:
                    self._upstreams.discard(upstream)
            if reset:
                _reset(sock)
            else:
                try:
                    sock.close()
                except OSError:
                    pass

    def _read_head(self, stream):
        line = stream.readline()
        while line in (b"\r\n", b"\n"):              # tolerate stray CRLF between requests
            line = stream.readline()
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise _Closed("bad request line %r" % line[:80])
        method, target, version = parts
        if target.startswith("http://") or target.startswith("https://"):
            u = urllib.parse.urlsplit(target)
            target = u.path + ("?" + u.query if u.query else "")
        raw, total = [], 0
        while True:
            h = stream.readline()
            total += len(h)
            if total > MAX_HEADER_BYTES:
                raise _Closed("headers too large")
            if h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode("latin-1").partition(":")
            raw.append((name.strip(), value.strip()))
        return method, target, version, raw

    def _read_chunked(self, stream):
        out = bytearray()
        while True:
            size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while stream.readline() not in (b"\r\n", b"\n"):   # trailers
                    pass
                return bytes(out)
            out += stream.read_exact(size)
            stream.readline()

    def _handle_one(self, sock, stream, upstream):
        """Serves one request. Returns (keep_alive, reset_instead_of_close, upstream)."""
        t0 = time.time()
        method, target, version, raw = self._read_head(stream)
        headers = {}
        for k, v in raw:
            headers[k.lower()] = v
        conn_tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        keep = ("close" not in conn_tokens) and (version == "HTTP/1.1" or
                                                  "keep-alive" in conn_tokens)
        ex = Exchange(method, target, headers)
        if headers.get("expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = int(headers.get("content-length", "0") or 0)
        streamed = (not chunked and ex.service == "s3" and length > self.stream_threshold)
        if chunked:
            ex.request_body = self._read_chunked(stream)
            length = len(ex.request_body)
        elif not streamed:
            ex.request_body = stream.read_exact(length) if length else b""
        if ex.service == "sqs" and ex.op is None:      # Query protocol
            form = urllib.parse.parse_qs((ex.request_body or b"").decode("utf-8", "replace"))
            ex.op = form.get("Action", ["?"])[0]
        if ex.service in ("sqs", "sfn"):
            ex.request_json = _json_or_none(ex.request_body)

        with self._lock:
            self._seq += 1
            seq = self._seq
        rec = {"time": round(t0, 6), "seq": seq, "method": method, "path": target,
               "service": ex.service, "op": ex.op, "upstream_status": None, "fault": None,
               "status": None, "rewritten": False}
        if ex.service == "s3":
            rec.update(bucket=ex.bucket, key=ex.key, request_bytes=length)
            cond = {k: headers[k] for k in ("if-match", "if-none-match") if k in headers}
            if cond:
                rec["conditional"] = cond
        ids = {"message_ids": [], "receipt_handles": [], "entry_ids": [], "failed_ids": []}
        if ex.request_json is not None:
            _walk_ids(ex.request_json, ids)
            if isinstance(ex.request_json, dict) and "QueueUrl" in ex.request_json:
                rec["queue_url"] = ex.request_json["QueueUrl"]

        rule = self._find_rule(ex)
        fault = self._decide(rule) if rule else None
        rec["fault"] = fault
        logged = []

        def emit():
            """Logs the record once, before the client can see the outcome (tests read the
            log as soon as their call returns)."""
            if logged:
                return
            logged.append(True)
            rec["message_ids"] = ids["message_ids"]
            for k in ("receipt_handles", "entry_ids", "failed_ids", "error"):
                if ids.get(k):
                    rec[k] = ids[k]
            if ex.service == "sqs" and ids["receipt_handles"] and not ids["message_ids"]:
                with self._lock:
                    rec["message_ids"] = [self._receipts.get(x) for x in ids["receipt_handles"]]
            if ex.service != "sqs" and not rec["message_ids"]:
                del rec["message_ids"]
            rec["duration_ms"] = round((time.time() - t0) * 1000, 3)
            self._log(rec)

        try:
            if rule and rule.latency_ms:
                rec["latency_ms"] = rule.latency_ms
                if self._stop.wait(rule.latency_ms / 1000.0):
                    raise _Closed("proxy stopping")

            if fault in ("reset", "hang"):
                if streamed:
                    stream.read_exact(length)
                emit()
                if fault == "hang":
                    self._stop.wait(rule.hang_ms / 1000.0)
                    return False, False, upstream
                return False, True, upstream
            if fault in ("500", "503", "throttle", "403", "respond"):
                if streamed:
                    stream.read_exact(length)
                if fault == "respond":
                    status, hdrs, body = rule.status, list(rule.headers), rule.body
                    if not any(k.lower() == "content-type" for k, _ in hdrs) and \
                            ex.service in ("sqs", "sfn"):
                        hdrs.append(("Content-Type", "application/x-amz-json-1.0"))
                else:
                    status, hdrs, body = error_response(ex.service, fault, rule,
                                                        "/%s/%s" % (ex.bucket, ex.key or ""))
                ex.status, ex.headers, ex.body = status, hdrs, body
                self._collect_response_ids(ex, ids)
                rec["status"] = status
                emit()
                self._send(sock, method, status, hdrs, body, keep)
                return keep, False, upstream

            # forward
            body_src = _BodyReader(stream, length) if streamed else ex.request_body
            fwd = [(k, v) for k, v in raw if k.lower() not in HOP_BY_HOP and
                   k.lower() != "content-length"]
            if method not in ("GET", "HEAD", "DELETE", "OPTIONS") or length:
                fwd.append(("Content-Length", str(length)))
            upstream, resp = self._forward(upstream, method, target, fwd, body_src,
                                           retry=not streamed)
            if resp is None:
                rec["status"] = 502
                rec["upstream_error"] = True
                emit()
                self._send(sock, method, 502, [("Content-Type", "text/plain")],
                           b"faultproxy: upstream unreachable\n", False)
                return False, False, upstream
            rec["upstream_status"] = resp.status
            ex.status = resp.status
            ex.headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            up_keep = not resp.will_close

            rewrite = rule.rewrite if (rule and rule.rewrite) else None
            buffer_it = (ex.service in ("sqs", "sfn", "other") or rewrite is not None or
                         method == "HEAD" or resp.length is not None and
                         resp.length <= self.stream_threshold)
            if fault == "reset_after":
                resp.read()
                if not up_keep:
                    upstream.close()
                    upstream = None
                emit()
                return False, True, upstream
            if buffer_it:
                ex.body = resp.read()
                if not up_keep:
                    upstream.close()
                    upstream = None
                if rewrite is not None and self._want_rewrite(rule):
                    new = rewrite(ex)
                    if isinstance(new, (dict, list)):
                        ex.body = json.dumps(new).encode()
                    elif isinstance(new, (bytes, bytearray)):
                        ex.body = bytes(new)
                    if new is not None:
                        rec["rewritten"] = True
                        with self._lock:
                            rule.rewritten += 1
                self._collect_response_ids(ex, ids)
                rec["status"] = ex.status
                emit()
                self._send(sock, method, ex.status, ex.headers, ex.body, keep)
            else:
                rec["status"] = ex.status
                emit()
                keep = self._relay(sock, resp, ex, keep)
                if not up_keep or not resp.isclosed():
                    upstream.close()
                    upstream = None
            return keep, False, upstream
        finally:
            emit()          # on errors (client gone, bugs) too

    def _collect_response_ids(self, ex, ids):
        doc = ex.response_json if ex.service in ("sqs", "sfn") else None
        if doc is None:
            return
        _walk_ids(doc, ids)
        if ex.op == "ReceiveMessage" and isinstance(doc, dict):
            with self._lock:
                for m in doc.get("Messages") or []:
                    if "ReceiptHandle" in m and "MessageId" in m:
                        self._receipts[m["ReceiptHandle"]] = m["MessageId"]
        if isinstance(doc, dict) and "__type" in doc:
            ids["error"] = str(doc["__type"]).split("#")[-1]

    def _forward(self, upstream, method, target, headers, body, retry):
        """Sends the request upstream; returns (connection, response or None)."""
        for attempt in (0, 1):
            fresh = upstream is None
            if fresh:
                upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port,
                                                      timeout=UPSTREAM_TIMEOUT)
                with self._lock:
                    self._upstreams.add(upstream)
            try:
                upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    upstream.putheader(k, v)
                upstream.endheaders(body if body else None)
                return upstream, upstream.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError,
                    http.client.BadStatusLine, OSError):
                upstream.close()
                upstream = None
                # a reused keep-alive connection may have been closed by the server: retry once
                if fresh or not retry or attempt == 1:
                    return None, None
        return None, None

    def _send(self, sock, method, status, headers, body, keep):
        reason = http.client.responses.get(status, "Status")
        out = ["HTTP/1.1 %d %s" % (status, reason)]
        for k, v in headers:
            # a HEAD answer keeps the upstream's Content-Length (the size of what GET returns)
            if k.lower() != "content-length" or method == "HEAD":
                out.append("%s: %s" % (k, v))
        if method != "HEAD" and status >= 200 and status not in (204, 304):
            out.append("Content-Length: %d" % len(body or b""))
        if not keep:
            out.append("Connection: close")
        data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
        if method != "HEAD" and body:
            data += body
        try:
            sock.sendall(data)
        except OSError:
            raise _Closed("client gone")

    def _relay(self, sock, resp, ex, keep):
        """Streams a large upstream answer to the client. Returns keep-alive."""
        out = ["HTTP/1.1 %d %s" % (resp.status, resp.reason or "")]
        out += ["%s: %s" % (k, v) for k, v in ex.headers if k.lower() != "content-length"]
        if resp.length is not None:
            out.append("Content-Length: %d" % resp.length)
        else:
            keep = False                         # length unknown: delimit by closing
        if not keep:
            out.append("Connection: close")
        try:
            sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            while True:
                data = resp.read(65536)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            raise _Closed("client gone")
        return keep


# ---------------------------------------------------------------------------------------------
# CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description="Fault-injecting HTTP proxy for SQS/S3 emulators")
    ap.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    ap.add_argument("--upstream", required=True, help="http://host:port of the emulator")
    ap.add_argument("--config", help="rules.json (re-read on SIGHUP)")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    proxy = FaultProxy(args.upstream, port=args.listen, seed=args.seed, log_path=args.log)

    def load():
        if args.config:
            with open(args.config, encoding="utf-8") as f:
                proxy.load_config(json.load(f))
    load()
    proxy.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGHUP, lambda *_: load())
    print("faultproxy listening on %s -> %s" % (proxy.url, args.upstream), flush=True)
    while not done.wait(0.5):
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
