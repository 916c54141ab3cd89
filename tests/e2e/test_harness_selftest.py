"""Self-test of the test infrastructure (independent of the daemon): the emulator, the AWS CLI
and boto3 set up for it, and the fault-injecting proxy in front of it."""
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("S3S_SOURCE_DIR") or
                                os.path.join(os.path.dirname(__file__), "..", ".."),
                                "tests", "lib"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy, fail_batch_entries, duplicate_received  # noqa: E402

import botocore.exceptions  # noqa: E402

EMU = None
TMP = tempfile.mkdtemp(prefix="s3s-selftest-")


def proxy(**kw):
    kw.setdefault("seed", 1)
    kw.setdefault("log_path", os.path.join(TMP, "proxy-%d.jsonl" % time.monotonic_ns()))
    return FaultProxy(EMU.url, **kw)


def client_error(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e
    raise AssertionError("expected a ClientError from %s" % fn.__name__)


def test_cli_and_boto3_against_emulator():
    q = h.create_queue("selftest-cli", {"VisibilityTimeout": "30"})
    assert q.endswith("/selftest-cli"), q
    h.create_bucket("selftest-cli")
    body = '-leading dash, "quotes", \u00fc and \u2603'
    mid = h.send(q, body, {"origin": "cli", "n": 7})
    ids = h.send_batch(q, ["b%d" % i for i in range(12)])
    assert len(ids) == 12 and len(set(ids)) == 12
    h.wait_until(lambda: h.queue_counts(q) == (13, 0), 10, message="13 visible messages")
    msgs = h.drain_queue(q)
    assert len(msgs) == 13, len(msgs)
    first = [m for m in msgs if m["MessageId"] == mid][0]
    assert first["Body"] == body
    assert first["MessageAttributes"]["origin"]["StringValue"] == "cli"
    assert first["MessageAttributes"]["n"]["DataType"] == "Number"
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert h.queue_counts(q) == (0, 0)
    h.s3().put_object(Bucket="selftest-cli", Key="p/x y/%2F\u00fc.json", Body=b"{}\n",
                      ContentType="application/json")
    h.aws("s3", "cp", "-", "s3://selftest-cli/p/cli.txt", input="from cli\n", parse=False)
    assert h.list_keys("selftest-cli", "p/") == ["p/cli.txt", "p/x y/%2F\u00fc.json"]
    data, headers = h.get_object("selftest-cli", "p/x y/%2F\u00fc.json")
    assert data == b"{}\n" and headers["content-type"] == "application/json"
    assert h.get_object("selftest-cli", "p/cli.txt")[0] == b"from cli\n"
    assert any(x["name"] == "selftest-cli" for x in EMU.queues())


def test_write_config_and_wait_until():
    path = h.write_config(os.path.join(TMP, "c.conf"), queue_url="http://q", bucket="b",
                          s3_path_style=True, summary=False, dlq_url=None, max_receives=3)
    text = open(path).read()
    assert "queue_url = http://q\n" in text and "s3_path_style = true\n" in text
    assert "summary = false\n" in text and "max_receives = 3\n" in text and "dlq_url" not in text
    t0 = time.monotonic()
    assert h.wait_until(lambda: time.monotonic() - t0 > 0.2 and "yes", 5, 0.05) == "yes"
    try:
        h.wait_until(lambda: False, 0.3, 0.05, message="nothing")
    except AssertionError as e:
        assert "nothing" in str(e)
    else:
        raise AssertionError("wait_until did not time out")


def test_proxy_passthrough_and_log():
    with proxy() as p:
        sqs, s3 = h.sqs(p.url), h.s3(p.url)
        q = sqs.create_queue(QueueName="selftest-proxy")["QueueUrl"]
        s3.create_bucket(Bucket="selftest-proxy")
        sent = [sqs.send_message(QueueUrl=q, MessageBody="m%d" % i)["MessageId"]
                for i in range(3)]
        got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  VisibilityTimeout=30)["Messages"]
        assert sorted(m["MessageId"] for m in got) == sorted(sent)
        sqs.delete_message(QueueUrl=q, ReceiptHandle=got[0]["ReceiptHandle"])
        r = sqs.delete_message_batch(QueueUrl=q, Entries=[
            {"Id": "e%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[1:])])
        assert len(r["Successful"]) == 2 and not r.get("Failed")
        s3.put_object(Bucket="selftest-proxy", Key="a/b.json", Body=b'{"x":1}\n',
                      ContentType="application/json")
        assert s3.get_object(Bucket="selftest-proxy", Key="a/b.json")["Body"].read() == \
            b'{"x":1}\n'
        assert s3.head_object(Bucket="selftest-proxy", Key="a/b.json")["ContentLength"] == 8
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="selftest-proxy")["Contents"]]
        assert keys == ["a/b.json"]
        s3.delete_object(Bucket="selftest-proxy", Key="a/b.json")
        assert h.queue_counts(q) == (0, 0)

        ops = [(r["service"], r["op"]) for r in p.records()]
        for want in [("sqs", "CreateQueue"), ("s3", "CreateBucket"), ("sqs", "SendMessage"),
                     ("sqs", "ReceiveMessage"), ("sqs", "DeleteMessage"),
                     ("sqs", "DeleteMessageBatch"), ("s3", "PutObject"), ("s3", "GetObject"),
                     ("s3", "HeadObject"), ("s3", "ListObjectsV2"), ("s3", "DeleteObject")]:
            assert want in ops, (want, ops)
        sends = p.records(op="SendMessage")
        assert [r["message_ids"][0] for r in sends] == sent
        assert sends[0]["queue_url"] == q and sends[0]["status"] == 200
        recv = p.records(op="ReceiveMessage")[0]
        assert sorted(recv["message_ids"]) == sorted(sent) and len(recv["receipt_handles"]) == 3
        assert p.records(op="DeleteMessage")[0]["message_ids"] == [got[0]["MessageId"]]
        dmb = p.records(op="DeleteMessageBatch")[0]
        assert dmb["entry_ids"].count("e0") == 2       # in the request and in Successful
        assert sorted(dmb["message_ids"]) == sorted(m["MessageId"] for m in got[1:])
        put = p.records(op="PutObject")[0]
        assert (put["bucket"], put["key"], put["request_bytes"]) == ("selftest-proxy",
                                                                       "a/b.json", 8)
        assert all(r["fault"] is None and r["upstream_status"] == r["status"]
                   for r in p.records())
        seqs = [r["seq"] for r in p.records()]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        log_path = p.log_path
    lines = [json.loads(x) for x in open(log_path)]
    assert len(lines) == len(ops) and all({"time", "seq", "service", "op", "upstream_status",
                                           "fault", "status"} <= set(x) for x in lines)


def test_injected_500_on_put_object():
    h.create_bucket("selftest-500")
    with proxy() as p:
        s3 = h.s3(p.url, max_attempts=1)
        p.set_rule(service="s3", op="PutObject", error_rate=1.0, kind="500")
        for i in range(3):
            e = client_error(s3.put_object, Bucket="selftest-500", Key="k%d" % i, Body=b"x")
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert e.response["Error"]["Code"] == "InternalError"
        assert s3.list_objects_v2(Bucket="selftest-500").get("KeyCount", 0) == 0
        recs = p.records(op="PutObject")
        assert len(recs) == 3 and all(r["fault"] == "500" and r["status"] == 500 and
                                      r["upstream_status"] is None for r in recs)
        p.set_rule(service="s3", op="PutObject", kind="503", error_rate=1.0, count=1)
        e = client_error(s3.put_object, Bucket="selftest-500", Key="k", Body=b"x")
        assert e.response["Error"]["Code"] == "SlowDown"
        s3.put_object(Bucket="selftest-500", Key="k", Body=b"x")    # count=1 used up
        p.clear_rules()
        s3.put_object(Bucket="selftest-500", Key="k2", Body=b"y")
        assert h.list_keys("selftest-500") == ["k", "k2"]
        # with retries on, botocore gets through a single injected failure
        p.set_rule(service="s3", op="PutObject", kind="500", error_rate=1.0, count=1)
        h.s3(p.url, max_attempts=3).put_object(Bucket="selftest-500", Key="k3", Body=b"z")
        assert [r["status"] for r in p.records(op="PutObject")][-2:] == [500, 200]


def test_sqs_throttle_and_access_denied():
    q = h.create_queue("selftest-throttle")
    with proxy() as p:
        sqs = h.sqs(p.url, max_attempts=1)
        p.set_rule(service="sqs", op="SendMessage", error_rate=1.0, kind="throttle")
        e = client_error(sqs.send_message, QueueUrl=q, MessageBody="x")
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert e.response["Error"]["Code"] == "ThrottlingException", e.response
        p.set_rule(service="sqs", op="SendMessage", error_rate=1.0, kind="403")
        e = client_error(sqs.send_message, QueueUrl=q, MessageBody="x")
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert e.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
        assert p.records(op="SendMessage")[0]["error"] == "ThrottlingException"
        assert h.queue_counts(q) == (0, 0)
        p.clear_rules(service="sqs")
        sqs.send_message(QueueUrl=q, MessageBody="x")
        assert h.queue_counts(q) == (1, 0)
    h.drain_queue(q)


def test_connection_reset():
    h.create_bucket("selftest-reset")
    with proxy() as p:
        s3 = h.s3(p.url, max_attempts=1)
        p.set_rule(service="s3", op="PutObject", error_rate=1.0, kind="reset")
        try:
            s3.put_object(Bucket="selftest-reset", Key="k", Body=b"x")
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as e:
            assert "reset" in str(e).lower() or "aborted" in str(e).lower(), e
        else:
            raise AssertionError("expected a connection error")
        assert h.list_keys("selftest-reset") == []
        # reset_after: the write happens, the client still sees a failure
        p.set_rule(service="s3", op="PutObject", error_rate=1.0, kind="reset_after")
        try:
            s3.put_object(Bucket="selftest-reset", Key="k2", Body=b"x")
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
            pass
        else:
            raise AssertionError("expected a connection error")
        assert h.list_keys("selftest-reset") == ["k2"]
        recs = p.records(op="PutObject")
        assert [r["fault"] for r in recs] == ["reset", "reset_after"]
        assert recs[0]["upstream_status"] is None and recs[1]["upstream_status"] == 200
        assert all(r["status"] is None for r in recs)
        # hang: no answer, then the connection is closed
        p.set_rule(service="s3", op="GetObject", error_rate=1.0, kind="hang", hang_ms=300)
        t0 = time.monotonic()
        try:
            s3.get_object(Bucket="selftest-reset", Key="k2")
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
            pass
        else:
            raise AssertionError("expected a connection error")
        assert 0.25 <= time.monotonic() - t0 < 10
        p.clear_rules()
        s3.put_object(Bucket="selftest-reset", Key="k3", Body=b"x")


def test_rewrite_delete_batch_and_duplicate_receive():
    q = h.create_queue("selftest-rewrite", {"VisibilityTimeout": "30"})
    h.send_batch(q, ["r%d" % i for i in range(3)])
    with proxy() as p:
        sqs = h.sqs(p.url, max_attempts=1)
        p.set_rule(service="sqs", op="ReceiveMessage", rewrite=duplicate_received(1))
        got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
        assert len(got) == 4 and got[3]["MessageId"] == got[0]["MessageId"], got
        p.set_rule(service="sqs", op="DeleteMessageBatch",
                   rewrite=fail_batch_entries(1, code="InternalError"))
        r = sqs.delete_message_batch(QueueUrl=q, Entries=[
            {"Id": "d%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[:3])])
        assert [e["Id"] for e in r["Successful"]] == ["d0", "d1"], r
        assert len(r["Failed"]) == 1 and r["Failed"][0]["Id"] == "d2"
        assert r["Failed"][0]["Code"] == "InternalError" and not r["Failed"][0]["SenderFault"]
        rec = p.records(op="DeleteMessageBatch")[0]
        assert rec["rewritten"] and rec["failed_ids"] == ["d2"]
        assert p.records(op="ReceiveMessage")[0]["rewritten"]
    # the rewrite only changed the answer: all three are really gone
    assert h.queue_counts(q) == (0, 0)


def test_latency_keepalive_and_idle_close():
    with proxy() as p:
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/health")
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
        assert len({r["seq"] for r in p.records()}) == 3
        local = conn.sock.getsockname()          # still the same connection: keep-alive
        conn.request("GET", "/health")
        conn.getresponse().read()
        assert conn.sock.getsockname() == local
        p.set_rule(service="other", latency_ms=300)
        t0 = time.monotonic()
        conn.request("GET", "/health")
        conn.getresponse().read()
        assert time.monotonic() - t0 >= 0.3
        p.clear_rules()
        conn.close()

        p.set_idle_close(300)
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(b"}"):
            buf += s.recv(4096)
        assert buf.startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        assert s.recv(4096) == b""                 # the proxy closed the idle connection
        assert 0.1 <= time.monotonic() - t0 < 5
        s.close()


def test_stop_interrupts_a_long_poll():
    q = h.create_queue("selftest-stop")
    p = proxy().start()
    result = {}

    def poll():
        try:
            result["r"] = h.sqs(p.url, max_attempts=1).receive_message(
                QueueUrl=q, WaitTimeSeconds=20)
        except Exception as e:       # the proxy going away mid-poll
            result["e"] = e
    import threading
    t = threading.Thread(target=poll)
    t.start()
    h.wait_until(lambda: p._upstreams, 10, 0.02, "the poll forwarded to the emulator")
    t0 = time.monotonic()
    p.stop()
    assert time.monotonic() - t0 < 3, "stop() took %.1fs" % (time.monotonic() - t0)
    t.join(10)
    assert not t.is_alive() and "e" in result, result


def test_seeded_error_rate_is_reproducible():
    def run():
        with proxy(seed=42) as p:
            p.set_rule(service="other", error_rate=0.5, kind="500")
            conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
            out = []
            for _ in range(20):
                conn.request("GET", "/health")
                r = conn.getresponse()
                r.read()
                out.append(r.status)
            conn.close()
            return out
    a, b = run(), run()
    assert a == b and 500 in a and 200 in a, a


def test_large_and_chunked_bodies():
    h.create_bucket("selftest-big")
    data = os.urandom(3 * 1024 * 1024 + 17)          # above the streaming threshold
    with proxy() as p:
        s3 = h.s3(p.url)
        s3.put_object(Bucket="selftest-big", Key="big", Body=data)
        got = s3.get_object(Bucket="selftest-big", Key="big")["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        assert s3.head_object(Bucket="selftest-big", Key="big")["ContentLength"] == len(data)
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
        conn.request("PUT", "/selftest-big/chunked", body=iter([b"ab", b"cd", b"ef"]),
                     headers={"Content-Type": "text/plain"}, encode_chunked=True)
        assert conn.getresponse().read() is not None
        conn.close()
        assert h.get_object("selftest-big", "chunked")[0] == b"abcdef"
        assert p.records(op="PutObject")[0]["request_bytes"] == len(data)


def test_respond_stub_for_step_functions():
    with proxy() as p:
        sfn = h._boto_session().client("stepfunctions", endpoint_url=p.url,
                                       config=h._boto_config(1, 10))
        p.set_rule(service="sfn", op="SendTaskSuccess", kind="respond", status=200, body={})
        sfn.send_task_success(taskToken="tok", output='{"s3_key": "k"}')
        p.set_rule(service="sfn", op="SendTaskFailure", kind="respond", status=400,
                   body={"__type": "TaskTimedOut", "message": "timed out"})
        e = client_error(sfn.send_task_failure, taskToken="tok", error="S3Error", cause="x")
        assert e.response["Error"]["Code"] == "TaskTimedOut"
        recs = p.records(service="sfn")
        assert [(r["op"], r["status"], r["fault"]) for r in recs] == [
            ("SendTaskSuccess", 200, "respond"), ("SendTaskFailure", 400, "respond")]


def test_cli_mode():
    h.create_bucket("selftest-climode")
    cfg = os.path.join(TMP, "rules.json")
    with open(cfg, "w") as f:
        json.dump({"seed": 3, "rules": [{"service": "s3", "op": "GetObject",
                                         "error_rate": 1.0, "kind": "403"}]}, f)
    log = os.path.join(TMP, "cli.jsonl")
    proc = subprocess.Popen([sys.executable, os.path.join(h.HERE, "faultproxy.py"),
                             "--listen", "0", "--upstream", EMU.url, "--config", cfg,
                             "--log", log], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("faultproxy listening on http://127.0.0.1:"), line
        url = line.split()[3]
        s3 = h.s3(url, max_attempts=1)
        s3.put_object(Bucket="selftest-climode", Key="k", Body=b"v")
        e = client_error(s3.get_object, Bucket="selftest-climode", Key="k")
        assert e.response["Error"]["Code"] == "AccessDenied"
        recs = [json.loads(x) for x in open(log)]
        assert [(r["op"], r["fault"]) for r in recs] == [("PutObject", None),
                                                        ("GetObject", "403")]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()


def main():
    global EMU
    with h.Emulator() as EMU:
        rc = h.run_tests(globals())
    subprocess.run(["rm", "-rf", TMP])
    return rc


if __name__ == "__main__":
    sys.exit(main())
