"""src/sfn.c against a fake Step Functions endpoint (tests/lib/fakesfn.py): the wire format of
SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat (target, content type, signing name "states",
the success output object), TaskTimedOut/InvalidToken/TaskDoesNotExist final and sent once,
5xx retried by the common policy, throttling retryable, other 4xx neither, causes truncated on a
character boundary, tokens over the limit refused before sending."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from fakesfn import FakeSfn  # noqa: E402

SFN = None


def call(*args):
    cmd = [h.tool("sfn_call"), "--sfn-endpoint-url", SFN.url, "--region", h.REGION,
           "--log-level", "error", *args]
    p = subprocess.run(cmd, env=h.aws_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_success_wire_format():
    key = "FTD_CONTRACT_LOADER/BATCHS/b1/tasks/t%2F1/success/20261203T100000.000Z_m1.json"
    r = call("--op", "success", "--token", "tok-ok-1", "--s3-key", key, "--status", "success",
             "--batch", "b1", "--task", "t/1")
    assert r == {"outcome": "ok", "retryable": False, "attempts": 1, "code": None}, r
    (c,) = SFN.calls_for("tok-ok-1")
    assert c["target"] == "AWSStepFunctions.SendTaskSuccess" and c["path"] == "/", c
    assert c["headers"]["content-type"] == "application/x-amz-json-1.0", c["headers"]
    assert "/%s/states/aws4_request" % h.REGION in c["headers"]["authorization"], c["headers"]
    assert set(c["body"]) == {"taskToken", "output"}, c["body"]
    out = json.loads(c["body"]["output"])
    assert out == {"s3_key": key, "status": "success", "batch_id": "b1", "task_id": "t/1"}, out
    # A batch event: task_id null.
    call("--op", "success", "--token", "tok-ok-2", "--s3-key", "k", "--status", "running",
         "--batch", "b1")
    assert json.loads(SFN.calls_for("tok-ok-2")[0]["body"]["output"])["task_id"] is None


def test_final_answers_are_sent_once():
    for token, code in (("timedout-1", "TaskTimedOut"), ("invalid-1", "InvalidToken"),
                        ("gone-1", "TaskDoesNotExist")):
        r = call("--op", "success", "--token", token, "--s3-key", "k", "--status", "success",
                 "--batch", "b")
        assert r == {"outcome": "final", "retryable": False, "attempts": 1, "code": code}, r
        assert len(SFN.calls_for(token)) == 1, SFN.calls_for(token)
    r = call("--op", "heartbeat", "--token", "timedout-2")
    assert r["outcome"] == "final" and len(SFN.calls_for("timedout-2")) == 1, r


def test_transient_errors_are_retried_others_not():
    r = call("--op", "heartbeat", "--token", "flaky-2-a")
    assert r == {"outcome": "ok", "retryable": False, "attempts": 3, "code": None}, r
    assert len(SFN.calls_for("flaky-2-a")) == 3
    r = call("--op", "heartbeat", "--token", "flaky-5-b")
    assert r["outcome"] == "failed" and r["retryable"] and r["attempts"] == 3, r
    r = call("--op", "heartbeat", "--token", "throttle-1")
    assert r["outcome"] == "failed" and r["retryable"] and r["code"] == "ThrottlingException", r
    r = call("--op", "heartbeat", "--token", "bad-1")
    assert r == {"outcome": "failed", "retryable": False, "attempts": 1,
                 "code": "ValidationException"}, r
    (c,) = SFN.calls_for("bad-1")
    assert c["target"] == "AWSStepFunctions.SendTaskHeartbeat" and c["body"] == {
        "taskToken": "bad-1"}, c


def test_failure_truncates_error_and_cause():
    d = tempfile.mkdtemp(prefix="s3s-sfn-")
    path = os.path.join(d, "cause")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\u20ac" * 40000)
    r = call("--op", "failure", "--token", "tok-fail", "--error", "S3Error" + "x" * 300,
             "--cause-file", path)
    assert r["outcome"] == "ok", r
    (c,) = SFN.calls_for("tok-fail")
    assert c["target"] == "AWSStepFunctions.SendTaskFailure"
    err, cause = c["body"]["error"], c["body"]["cause"]
    assert err.startswith("S3Error") and len(err.encode()) == 256, len(err.encode())
    assert len(cause.encode()) <= 32768 and cause.endswith(" ... [truncated]"), len(cause)
    assert set(cause[:-16]) == {"\u20ac"}, "a character was split"
    call("--op", "failure", "--token", "tok-fail-2", "--error", "InvalidJSON")
    assert SFN.calls_for("tok-fail-2")[0]["body"] == {"taskToken": "tok-fail-2",
                                                       "error": "InvalidJSON"}


def test_limits_refuse_before_sending():
    n = len(SFN.calls)
    assert call("--op", "heartbeat", "--token", "A" * 2049) == {"refused": True}
    assert call("--op", "heartbeat", "--token", "A" * 2048)["outcome"] == "ok"
    assert len(SFN.calls) == n + 1


if __name__ == "__main__":
    with FakeSfn() as fake:
        SFN = fake
        sys.exit(h.run_tests(globals()))
