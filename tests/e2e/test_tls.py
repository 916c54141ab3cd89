"""TLS peers are verified: a test CA and server certificates are made with the openssl CLI, and
a small TLS front (this file) terminates https on a loopback port and relays the bytes to the
emulator. Then:

- with ca_file = the test CA, s3statusd --check succeeds and --drain stores a message over
  https (by IP address, and by the name localhost);
- with another CA in ca_file, or none (the system store), the peer is refused: --check and
  --drain exit 1 with one error line naming the certificate problem, and nothing is stored;
- with the right CA but a certificate for another host name (wrong.example), the peer is
  refused the same way; so is a certificate for the right name that is not yet valid, and a
  CA file that holds no certificate;
- no request byte ever reaches a refused peer (the front relays nothing; a wrong CA fails the
  handshake itself), and the refusals are not retried: the exit comes at once;
- an https answer delimited by the close of a connection closed without close_notify is a
  complete answer;
- https and http endpoints work through a CONNECT proxy (https_proxy, http_proxy, no_proxy).

Proves that certificate and host-name verification are on for https endpoints, and that
ca_file adds a private CA without turning verification off."""
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from connectproxy import ConnectProxy  # noqa: E402

TMP = tempfile.mkdtemp(prefix="s3s-tls-")


def openssl(*args):
    p = subprocess.run(["openssl", *args], cwd=TMP, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr))


def make_ca(name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=s3statusd test CA %s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return os.path.join(TMP, name + ".pem")


def make_cert(name, ca, san, not_before=None):
    """A server certificate signed by ca for the subjectAltName san; returns (cert, key)."""
    with open(os.path.join(TMP, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=%s" % name)
    if not_before:
        # openssl ca sets any validity period; x509 -req only "from now"
        with open(os.path.join(TMP, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nserial=serial\n"
                    "new_certs_dir=.\ndefault_md=sha256\npolicy=p\ncopy_extensions=none\n"
                    "[p]\ncommonName=supplied\n")
        open(os.path.join(TMP, "index.txt"), "w").close()
        with open(os.path.join(TMP, "serial"), "w") as f:
            f.write("1000\n")
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", ca + ".pem", "-keyfile",
                ca + ".key", "-in", name + ".csr", "-out", name + ".pem", "-startdate",
                not_before, "-enddate", "20991231000000Z", "-extfile", name + ".ext",
                "-notext")
    else:
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile",
                name + ".ext")
    return os.path.join(TMP, name + ".pem"), os.path.join(TMP, name + ".key")


class TLSServer:
    """A loopback listener with a TLS server context for the given certificate; each accepted
    connection goes to self._serve(conn) in a thread of its own. Start it with _listen()."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.stop_event = threading.Event()

    def _listen(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop_event.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def close(self):
        self.stop_event.set()
        self.sock.close()


class TLSFront(TLSServer):
    """Terminates TLS with the given certificate on a loopback port and relays each
    connection's bytes to upstream (host, port). Counts handshakes that succeeded and failed."""

    def __init__(self, cert, key, upstream):
        super().__init__(cert, key)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []
        self.relayed = 0         # connections that sent the peer at least one request byte
        self._listen()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.failed.append(str(e))
            conn.close()
            return
        with self.lock:
            self.ok += 1
        up = socket.create_connection(self.upstream)
        tls.settimeout(None)
        sent = False
        try:
            while not self.stop_event.is_set():
                ready = [tls] if tls.pending() else select.select([tls, up], [], [], 0.5)[0]
                if tls in ready:
                    data = tls.recv(65536)
                    if not data:
                        break
                    if not sent:
                        sent = True
                        with self.lock:
                            self.relayed += 1
                    up.sendall(data)
                if up in ready:
                    data = up.recv(65536)
                    if not data:
                        break
                    tls.sendall(data)
        except (ssl.SSLError, OSError):
            pass
        finally:
            up.close()
            tls.close()

    def counts(self):
        """(handshakes that succeeded, failures, connections that carried a request)"""
        with self.lock:
            return self.ok, list(self.failed), self.relayed


FRONTS = {}
CA = {}


def setup(name, host, front, ca_file):
    q = h.create_queue(name)
    bucket = h.create_bucket(name + "-bucket")
    cfg = os.path.join(TMP, name + ".conf")
    endpoint = "https://%s:%d" % (host, FRONTS[front].port)
    h.write_config(cfg, queue_url=endpoint + "/000000000000/" + name, bucket=bucket,
                   endpoint_url=endpoint, s3_path_style=True, region=h.REGION, wait_time=1,
                   ca_file=ca_file)
    return q, bucket, cfg


def good_run(name, host):
    q, bucket, cfg = setup(name, host, "good", CA["test"])
    before = FRONTS["good"].counts()[2]
    rc, out, err = h.run_daemon(cfg, "--check", timeout=60)
    assert rc == 0 and out.startswith("ok"), (rc, out, err)
    mid = h.send(q, '{"command":"add-batch-status","batch_id":"tls","status":"running"}')
    rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
    assert rc == 0, (rc, err)
    keys = h.record_keys(bucket, "")
    assert len(keys) == 1 and keys[0].endswith("_%s.json" % mid), keys
    assert FRONTS["good"].counts()[2] > before, "the daemon did not go through the TLS front"
    assert h.queue_counts(q) == (0, 0)


def settle(front, quiet=0.3, limit=3.0):
    """Waits until the front's counts stop changing: its threads record a handshake a moment
    after the client has gone, and a late record of an earlier run must not count here."""
    def key():
        ok, failed, relayed = front.counts()
        return (ok, len(failed), relayed)
    last, since, deadline = key(), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = key()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def refused_run(name, host, front, ca_file, words, code="TLSCertificateRejected"):
    q, bucket, cfg = setup(name, host, front, ca_file)
    h.send(q, '{"command":"add-batch-status","batch_id":"tls","status":"running"}')
    for mode in ("--check", "--drain"):
        settle(FRONTS[front])
        ok_before, failed_before, relayed_before = FRONTS[front].counts()
        t0 = time.monotonic()
        rc, out, err = h.run_daemon(cfg, mode, timeout=60)
        took = time.monotonic() - t0
        assert rc == 1, "%s %s: exit %d, expected 1\n%s" % (name, mode, rc, err)
        lines = [l for l in err.splitlines() if " error: " in l or l.startswith("<3>")]
        assert lines, "%s %s: no error line\n%s" % (name, mode, err)
        text = err.lower()
        assert any(w in text for w in words), "%s %s: the error does not say %s:\n%s" % (
            name, mode, " or ".join(words), err)
        assert code in err, "%s %s: no %s in %s" % (name, mode, code, err)
        assert took < 20, "%s %s: took %.1fs: retried a certificate error?" % (name, mode, took)
        if mode == "--check":
            print("  %s: exit 1: %s" % (name, lines[0].split(" error: ", 1)[-1][:200]))
        if ca_file != CA["notpem"]:
            # the front's thread records the failed handshake a moment after the client
            # has gone: wait for it rather than race it
            h.wait_until(lambda: sum(map(len, FRONTS[front].counts()[1:2])) +
                         FRONTS[front].counts()[0] > ok_before + len(failed_before),
                         timeout=5, message="%s: the front saw no connection" % name)
        ok_after, failed_after, relayed_after = FRONTS[front].counts()
        # not one request byte (signed headers, bodies) reached the refused peer, and the
        # refused call was not retried (the first access check stops the start-up)
        assert relayed_after == relayed_before, "%s: a request went through" % name
        tries = ok_after + len(failed_after) - ok_before - len(failed_before)
        assert tries <= 1, "%s %s: %d TLS connections: retried" % (name, mode, tries)
        assert ok_after + len(failed_after) > ok_before + len(failed_before) or \
            ca_file == CA["notpem"], "%s: the front saw no connection" % name
        if "name" not in name and ca_file != CA["notpem"]:
            # a CA problem fails the handshake itself (the host name is checked after it)
            assert len(failed_after) > len(failed_before), "%s: no handshake failed" % name
    assert h.record_keys(bucket, "") == [], "stored over a refused peer"
    assert h.queue_counts(q)[0] == 1, h.queue_counts(q)


def test_right_ca_by_ip_address():
    good_run("tls-ip", "127.0.0.1")


def test_right_ca_by_host_name():
    good_run("tls-name", "localhost")


def test_wrong_ca_is_refused():
    refused_run("tls-wrongca", "127.0.0.1", "good", CA["other"],
                ("certificate", "issuer"))


def test_system_store_does_not_know_the_test_ca():
    refused_run("tls-system", "127.0.0.1", "good", None, ("certificate", "issuer"))


def test_wrong_host_name_is_refused():
    refused_run("tls-wrongname", "127.0.0.1", "wrongname", CA["test"],
                ("subject name", "host name", "hostname", "does not match"))
    refused_run("tls-wrongname2", "localhost", "wrongname", CA["test"],
                ("subject name", "host name", "hostname", "does not match"))


def test_certificate_not_yet_valid_is_refused():
    refused_run("tls-future", "127.0.0.1", "future", CA["test"],
                ("certificate", "not yet valid", "expired"))


def test_ca_file_without_certificates_is_refused():
    refused_run("tls-notpem", "127.0.0.1", "good", CA["notpem"],
                ("certificate", "ca", "issuer"), code="TLSCAFileUnusable")


def test_https_and_http_through_a_connect_proxy():
    """https_proxy carries https endpoints through a CONNECT tunnel (TLS verified end to end
    with the test CA), http_proxy carries http ones, and no_proxy skips the proxy."""
    proxy = ConnectProxy()
    try:
        q, bucket, cfg = setup("tls-proxy", "localhost", "good", CA["test"])
        h.send(q, '{"command":"add-batch-status","batch_id":"proxy","status":"running"}')
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60,
                                    env={"https_proxy": proxy.url, "http_proxy": None,
                                         "no_proxy": None, "NO_PROXY": None})
        assert rc == 0, (rc, err)
        targets, refused = proxy.seen()
        assert targets and set(targets) == {"localhost:%d" % FRONTS["good"].port}, targets
        assert refused == [], refused
        assert len(h.record_keys(bucket, "")) == 1
        assert h.queue_counts(q) == (0, 0)

        # a plain http endpoint: http_proxy applies, https_proxy does not
        q2 = h.create_queue("http-proxy")
        bucket2 = h.create_bucket("http-proxy-bucket")
        cfg2 = os.path.join(TMP, "http-proxy.conf")
        emu_url = "http://127.0.0.1:%d" % EMU_PORT[0]
        h.write_config(cfg2, queue_url=q2, bucket=bucket2, endpoint_url=emu_url,
                       s3_path_style=True, region=h.REGION, wait_time=1)
        h.send(q2, '{"command":"add-batch-status","batch_id":"proxy2","status":"running"}')
        before = len(proxy.seen()[0])
        rc, out, err = h.run_daemon(cfg2, "--drain", timeout=60,
                                    env={"https_proxy": "http://127.0.0.1:9", "no_proxy": None,
                                         "http_proxy": proxy.url, "NO_PROXY": None})
        assert rc == 0, (rc, err)
        targets = proxy.seen()[0][before:]
        assert targets and set(targets) == {"127.0.0.1:%d" % EMU_PORT[0]}, targets
        assert len(h.record_keys(bucket2, "")) == 1

        # no_proxy: straight to the endpoint
        h.send(q2, '{"command":"add-batch-status","batch_id":"proxy3","status":"running"}')
        before = len(proxy.seen()[0])
        rc, out, err = h.run_daemon(cfg2, "--drain", timeout=60,
                                    env={"http_proxy": proxy.url, "no_proxy": "127.0.0.1"})
        assert rc == 0, (rc, err)
        assert proxy.seen()[0][before:] == []
        assert len(h.record_keys(bucket2, "")) == 2
    finally:
        proxy.close()


class CloseDelimitedS3(TLSServer):
    """A TLS S3 stand-in whose every answer has no Content-Length (the body ends when the
    connection does) and which then closes the TCP connection without a TLS close_notify, as
    some servers and middleboxes do. Records (method, path) of each request."""

    def __init__(self, cert, key):
        super().__init__(cert, key)
        self.requests = []
        self._listen()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            while len(body) < length:
                chunk = tls.recv(65536)
                if not chunk:
                    return
                body += chunk
            self.requests.append((method, path))
            tls.sendall(b'HTTP/1.1 200 OK\r\nETag: "e1"\r\nx-amz-request-id: t\r\n\r\n')
            # close() without unwrap(): no close_notify alert, just the TCP FIN
            tls.close()
        except (ssl.SSLError, OSError, ValueError):
            conn.close()


def test_close_without_close_notify_ends_a_close_delimited_answer():
    """An https answer whose body is delimited by the close, closed without close_notify, is a
    complete answer (not a receive error): the message is stored once and deleted."""
    fake = CloseDelimitedS3(*CERTS["good"])
    try:
        q = h.create_queue("tls-eof")
        cfg = os.path.join(TMP, "tls-eof.conf")
        h.write_config(cfg, queue_url=q, bucket="tls-eof-bucket",
                       sqs_endpoint_url="http://127.0.0.1:%d" % EMU_PORT[0],
                       s3_endpoint_url="https://127.0.0.1:%d" % fake.port, s3_path_style=True,
                       region=h.REGION, wait_time=1, ca_file=CA["test"], summary=False)
        mid = h.send(q, '{"command":"add-batch-status","batch_id":"eof","status":"running"}')
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        assert rc == 0, (rc, err)
        puts = [p for m, p in fake.requests if m == "PUT"]
        assert len(puts) == 1 and puts[0].startswith("/tls-eof-bucket/") and \
            "/BATCHS/eof/status/running/" in puts[0] and \
            puts[0].endswith("_%s.json" % mid), fake.requests
        assert h.queue_counts(q) == (0, 0)
        assert "error" not in err.lower(), err
    finally:
        fake.close()


EMU_PORT = []
CERTS = {}

if __name__ == "__main__":
    CA["test"] = make_ca("testca")
    CA["other"] = make_ca("otherca")
    CA["notpem"] = os.path.join(TMP, "not-a-ca.pem")
    with open(CA["notpem"], "w") as f:
        f.write("this file holds no certificate\n")
    certs = {
        "good": make_cert("good", "testca", "IP:127.0.0.1,DNS:localhost"),
        "wrongname": make_cert("wrongname", "testca", "DNS:wrong.example"),
        "future": make_cert("future", "testca", "IP:127.0.0.1,DNS:localhost",
                            not_before="20980101000000Z"),
    }
    CERTS.update(certs)
    with h.Emulator() as emu:
        EMU_PORT.append(emu.port)
        for k, (cert, key) in certs.items():
            FRONTS[k] = TLSFront(cert, key, ("127.0.0.1", emu.port))
        try:
            sys.exit(h.run_tests(globals()))
        finally:
            for f in FRONTS.values():
                f.close()
