"""No secret in any log line or object: s3statusd runs at log_level = debug with canary
credentials (AWS_ACCESS_KEY_ID=AKIACANARY..., AWS_SECRET_ACCESS_KEY=canary-secret-...,
AWS_SESSION_TOKEN=canary-token-...) through the fault proxy (which records every request's
Authorization header), on messages carrying canary task tokens: stored ones, dead-lettered ones,
ones whose token is refused (too long, control character, alias conflict), a get-status, with
injected failures on the way (an S3 SignatureDoesNotMatch answer that quotes the signature,
the access key id, the string to sign and a canonical request holding the session token, as
S3 does; a 500 on ReceiveMessage), Step Functions answered by a stub (SendTaskSuccess and
SendTaskFailure carry the tokens, as they must). Then --check, and s3status send, at debug too,
in text and JSON log formats.

Proves: zero hits for the secret key, the session token, every task token, every 64-hex
request signature seen on the wire, and the access key id (not a secret, but not ours to log)
in every stderr/stdout line, in every object key and body in the bucket (records and
DEAD_LETTER/ objects), and in the dead-letter queue's message attributes. The only place a task
token may appear is a dead letter's body, which is by design the producer's original body,
byte for byte (so it can be redriven): that is checked to be exactly the body sent."""
import os
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

AKID = "AKIACANARY7Q3ZK2WX5N"
SECRET = "canary-secret-Zq8vN3xR0pL6tY1mW4sK9bH2cJ5fG7dA"
TOKEN = "canary-token-" + "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN" * 8
CANARY_ENV = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET,
              "AWS_SESSION_TOKEN": TOKEN}
PREFIX = "FTD_CONTRACT_LOADER"
T = "2026-12-03T10:00:00Z"


def task_token(i):
    return "canary-task-token-%02d-AAAAKgAAAAIAAAAAAAAAAb3xR0pL6tY1mW4sK9bH2cJ5" % i


class Capture:
    """Records every request's Authorization and security-token headers (a proxy rule whose
    match predicate sees each request and never matches)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.signatures = set()
        self.tokens_seen = set()
        self.requests = 0

    def __call__(self, ex):
        auth = ex.request_headers.get("authorization", "")
        with self.lock:
            self.requests += 1
            for sig in re.findall(r"Signature=([0-9a-f]{64})", auth):
                self.signatures.add(sig)
            if ex.request_headers.get("x-amz-security-token"):
                self.tokens_seen.add(ex.request_headers["x-amz-security-token"])
        return False


def signature_does_not_match(limit):
    """Rewriter: the first `limit` PutObject answers become S3's SignatureDoesNotMatch, which
    quotes the access key id, the signature, the string to sign and the canonical request
    (with the x-amz-security-token header value) back to the caller."""
    state = {"n": 0}
    lock = threading.Lock()

    def rewrite(ex):
        with lock:
            if state["n"] >= limit:
                return None
            state["n"] += 1
        auth = ex.request_headers.get("authorization", "")
        sig = (re.findall(r"Signature=([0-9a-f]{64})", auth) or [""])[0]
        tok = ex.request_headers.get("x-amz-security-token", "")
        ex.status = 403
        ex.headers = [(k, v) for k, v in ex.headers if k.lower() != "etag"] + \
            [("Content-Type", "application/xml")]
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
                "</Code><Message>The request signature we calculated does not match the "
                "signature you provided. Check your key and signing method.</Message>"
                "<AWSAccessKeyId>%s</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n"
                "20261203T100000Z</StringToSign><SignatureProvided>%s</SignatureProvided>"
                "<CanonicalRequest>PUT\n/x\n\nhost:h\nx-amz-security-token:%s\n</CanonicalRequest>"
                "<RequestId>CANARYREQ1</RequestId></Error>" % (AKID, sig, tok)).encode()
    return rewrite


def secrets(capture, tokens):
    out = {"secret key": SECRET, "session token": TOKEN, "access key id": AKID,
           "session token (prefix)": TOKEN[:40], "secret key (prefix)": SECRET[:24]}
    for t in tokens:
        out["task token " + t[:24]] = t
    for s in capture.signatures:
        out["signature " + s[:12]] = s
    return out


def hits(text, secret_map):
    return [name for name, s in secret_map.items() if s and s in text]


def setup(name, proxy_url, **extra):
    q = h.create_queue(name, {"VisibilityTimeout": "20"})
    dlq = h.create_queue(name + "-dlq")
    bucket = h.create_bucket(name + "-bucket")
    cfg = os.path.join(tempfile.mkdtemp(prefix="s3s-canary-"), "s3statusd.conf")
    keys = dict(queue_url=q, dlq_url=dlq, bucket=bucket, endpoint_url=proxy_url,
                sfn_endpoint_url=proxy_url, s3_path_style=True, region=h.REGION,
                wait_time=1, log_level="debug", max_receives=4)
    keys.update(extra)
    h.write_config(cfg, **keys)
    return q, dlq, bucket, cfg


def messages():
    """(body, tokens in it, expected: store | dlq | nothing)."""
    out = []
    for i in range(4):
        tok = task_token(i)
        out.append(('{"command":"add-task-status","batch_id":"canary","task_id":"t%d",'
                    '"status":"success","event_time":"%s","task_token":"%s"}' % (i, T, tok),
                    [tok], "store"))
    tok = task_token(10)
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"running",'
                '"TaskToken":"%s","payload":{"n":1}}' % tok, [tok], "store"))
    tok = task_token(11)
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"exploded",'
                '"task_token":"%s"}' % tok, [tok], "dlq"))
    tok = task_token(12)
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"running",'
                '"task_token":"%s\\u0001"}' % tok, [tok], "dlq"))
    tok = task_token(13) * 40             # over 2,048 bytes
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"running",'
                '"task_token":"%s"}' % tok, [tok], "dlq"))
    a, b = task_token(14), task_token(15)
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"running",'
                '"task_token":"%s","TaskToken":"%s"}' % (a, b), [a, b], "dlq"))
    tok = task_token(16)
    out.append(('{"command":"get-status","batch_id":"canary","task_token":"%s"}' % tok, [tok],
                "nothing"))
    tok = task_token(17)
    out.append(('{"command":"add-batch-status","batch_id":"canary","status":"running",'
                '"task_token":"%s","account":"\\u0000"}' % tok, [tok], "dlq"))
    tok = task_token(18)
    out.append(('{"Type":"Notification","Message":"{\\"command\\":\\"add-batch-status\\",'
                '\\"batch_id\\":\\"sns\\",\\"status\\":\\"running\\",\\"task_token\\":\\"%s\\"}"}'
                % tok, [tok], "store"))
    return out


CAPTURE = Capture()
PROXY = None


def check_bucket_and_dlq(bucket, dlq, sent, secret_map):
    found = []
    for k in h.list_keys(bucket, ""):
        found += ["object key %s: %s" % (k, x) for x in hits(k, secret_map)]
        body, headers = h.get_object(bucket, k)
        text = body.decode("utf-8")
        found += ["object %s: %s" % (k, x) for x in hits(text, secret_map)]
        found += ["object %s headers: %s" % (k, x) for x in hits(repr(headers), secret_map)]
    dead = h.drain_queue(dlq)
    by_src = {}
    for m in dead:
        attrs = m.get("MessageAttributes", {})
        found += ["DLQ attributes: %s" % x for x in hits(repr(attrs), secret_map)]
        src = attrs["s3statusd.source_message_id"]["StringValue"]
        by_src[src] = m
        # the body is the producer's, verbatim: task tokens may be in it, nothing else
        assert m["Body"] == sent[src][0], "dead letter body changed"
        found += ["DLQ body: %s" % x for x in hits(m["Body"], {k: v for k, v in secret_map.items()
                                                                if not k.startswith("task")})]
    return found, by_src


def test_debug_logs_objects_and_dead_letters_hold_no_secret():
    q, dlq, bucket, cfg = setup("canary", PROXY.url)
    PROXY.set_rule(service="s3", op="PutObject", rewrite=signature_does_not_match(2))
    PROXY.set_rule(service="sqs", op="ReceiveMessage", error_rate=1.0, kind="500", count=1)
    sent = {}
    all_tokens = []
    for body, toks, expected in messages():
        sent[h.send(q, body)] = (body, expected)
        all_tokens += toks
    rc, out, err = h.run_daemon(cfg, "--drain", timeout=180, env=CANARY_ENV)
    PROXY.clear_rules(service="s3")
    PROXY.clear_rules(service="sqs")
    assert rc == 0, "exit %d\n%s" % (rc, err[-8000:])
    assert CAPTURE.signatures, "no signature captured: the proxy saw no signed request"
    assert TOKEN in CAPTURE.tokens_seen, "the session token was not sent"
    assert "debug" in err, "not a debug log"
    # the hostile answers were met: the S3 error that quotes the secrets, the failed receive
    assert "SignatureDoesNotMatch" in err, err[-5000:]
    if os.environ.get("S3S_KEEP_LOGS") == "1":
        with open(os.path.join(tempfile.gettempdir(), "s3s-canary-debug.log"), "w") as f:
            f.write(err)
    secret_map = secrets(CAPTURE, all_tokens)
    found = ["log: %s in %r" % (x, line[:200]) for line in (out + err).splitlines()
             for x in hits(line, secret_map)]
    more, by_src = check_bucket_and_dlq(bucket, dlq, sent, secret_map)
    found += more
    assert not found, "secrets leaked:\n  " + "\n  ".join(found[:40])
    # the task tokens did travel: to Step Functions (the stub), and only there
    sfn_ops = {r["op"] for r in PROXY.records(service="sfn")}
    assert {"SendTaskSuccess", "SendTaskFailure"} <= sfn_ops, sfn_ops
    want_dead = {mid for mid, (_, e) in sent.items() if e == "dlq"}
    assert set(by_src) == want_dead, (sorted(by_src), sorted(want_dead))
    assert h.queue_counts(q) == (0, 0)
    print("%d messages, %d signatures and %d secrets checked, %d log lines, %d objects: "
          "no hit" % (len(sent), len(CAPTURE.signatures), len(secret_map),
                      len(err.splitlines()), len(h.list_keys(bucket, ""))))


def test_dead_letters_in_s3_json_logs_hold_no_secret():
    q, dlq, bucket, cfg = setup("canary-s3dl", PROXY.url, dlq_url=None, log_format="json")
    sent = {}
    all_tokens = []
    for body, toks, expected in messages():
        sent[h.send(q, body)] = (body, expected)
        all_tokens += toks
    rc, out, err = h.run_daemon(cfg, "--drain", timeout=180, env=CANARY_ENV)
    assert rc == 0, "exit %d\n%s" % (rc, err[-8000:])
    secret_map = secrets(CAPTURE, [])          # tokens: see below
    found = ["log: %s" % x for x in hits(out + err, secrets(CAPTURE, all_tokens))]
    # DEAD_LETTER/ objects hold the original body (tokens included, by design); records never.
    for k in h.list_keys(bucket, ""):
        body = h.get_object(bucket, k)[0].decode("utf-8")
        found += ["%s: %s" % (k, x) for x in hits(body, secret_map)]
        if "/BATCHS/" in k:
            found += ["%s: %s" % (k, x) for x in hits(body, secrets(CAPTURE, all_tokens))]
    assert not found, "secrets leaked:\n  " + "\n  ".join(found[:40])
    assert h.queue_counts(q) == (0, 0)


def test_check_and_cli_send_hold_no_secret():
    q, dlq, bucket, cfg = setup("canary-cli", PROXY.url)
    tok = task_token(40)
    outputs = []
    for fmt in ("text", "json"):
        rc, out, err = h.run_daemon(cfg, "--check", "--log-format", fmt, timeout=60,
                                    env=CANARY_ENV)
        assert rc == 0, (rc, err)
        outputs.append(out + err)
        rc, out, err = h.run_cli(cfg, "send", "--batch", "cli", "--status", "running",
                                 "--task-token", tok, "--log-level", "debug", env=CANARY_ENV)
        assert rc == 0, (rc, out, err)
        outputs.append(out + err)
    # a refused send (bad status) quotes nothing secret either
    rc, out, err = h.run_cli(cfg, "send", "--batch", "cli", "--status", "bogus",
                             "--task-token", tok, env=CANARY_ENV)
    assert rc == 2, (rc, err)
    outputs.append(out + err)
    found = [x for text in outputs for x in hits(text, secrets(CAPTURE, [tok]))]
    assert not found, "secrets leaked: %s" % found


if __name__ == "__main__":
    with h.Emulator() as emu:
        PROXY = FaultProxy(emu.url, seed=3).start()
        PROXY.set_rule(match=CAPTURE)           # sees every request, never matches
        PROXY.set_rule(service="sfn", kind="respond", status=200, body={})
        try:
            sys.exit(h.run_tests(globals()))
        finally:
            PROXY.stop()
