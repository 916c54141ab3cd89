"""S3 conditional writes for the emulator: a small HTTP/1.1 proxy that enforces If-Match and
If-None-Match on PutObject, which fauxqs 2.4.1 accepts but ignores (checked: a stale If-Match,
an If-None-Match: * on an existing key and an If-Match on a missing key are all stored).

Every PUT goes through one lock: the proxy HEADs the object upstream, answers 412
PreconditionFailed (or 404 NoSuchKey for an If-Match on a missing key) as S3 does, or forwards
the PUT, all before the next PUT starts, so a conditional write is atomic with respect to every
other write through the proxy. Everything else (SQS, GET, List) is forwarded as is.

    with CondProxy(emu.url) as proxy:     # proxy.url -> "http://127.0.0.1:<port>"
        cfg = h.write_config(..., endpoint_url=proxy.url, s3_path_style=True)
        proxy.stats                       # {"put": n, "conditional": n, "rejected": n}
"""
import http.client
import http.server
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect"}


def _s3_error(code, message, status):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
            "<Message>%s</Message><RequestId>condproxy</RequestId></Error>"
            % (code, message)).encode()
    return status, [("Content-Type", "application/xml")], body


class CondProxy:
    def __init__(self, upstream, host="127.0.0.1"):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.lock = threading.Lock()
        self.stats = {"put": 0, "conditional": 0, "rejected": 0}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self):
                body = self._body()
                if self.command == "PUT" and not self.headers.get("x-amz-copy-source"):
                    with proxy.lock:
                        proxy.stats["put"] += 1
                        status, headers, data = proxy._conditional(self, body)
                else:
                    status, headers, data = proxy._forward(self.command, self.path,
                                                           self.headers, body)
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://%s:%d" % (host, self.server.server_address[1])
        self.thread = None

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.up_host, self.up_port, timeout=120)
        try:
            hdrs = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            hdrs["Content-Length"] = str(len(body))
            conn.request(method, path, body=body if method not in ("GET", "HEAD") else None,
                         headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return r.status, r.getheaders(), data
        finally:
            conn.close()

    def _conditional(self, req, body):
        if_match = req.headers.get("If-Match")
        if_none = req.headers.get("If-None-Match")
        if if_match or if_none:
            self.stats["conditional"] += 1
            path = urllib.parse.urlsplit(req.path).path
            status, headers, _ = self._forward("HEAD", path, {"Host": req.headers["Host"]}, b"")
            etag = dict((k.lower(), v) for k, v in headers).get("etag")
            exists = status == 200
            if if_none and if_none.strip() == "*" and exists:
                self.stats["rejected"] += 1
                return _s3_error("PreconditionFailed",
                                 "At least one of the pre-conditions you specified did not hold",
                                 412)
            if if_match and not exists:
                self.stats["rejected"] += 1
                return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
            if if_match and if_match.strip() != (etag or "").strip():
                self.stats["rejected"] += 1
                return _s3_error("PreconditionFailed",
                                 "At least one of the pre-conditions you specified did not hold",
                                 412)
        return self._forward("PUT", req.path, req.headers, body)

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
