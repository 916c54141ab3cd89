"""The credentials chain end to end: the real s3statusd against the emulator, with no other
credentials than what the fake IMDSv2, ECS and STS servers (tests/fake_aws) hand out.

The emulator does not check signatures, so a FaultProxy in front of it records the access key
id (Authorization: ... Credential=AKID/...) and the X-Amz-Security-Token of every request the
daemon signs: the tests assert which credentials were used, and when.

Cases: the IMDSv2 token flow (a PUT with a TTL first, never a token-less GET) for --check and
--drain; credentials that expire within seconds refreshed before expiry during a longer run, a
401 answered with a new token; the metadata service down after the first fetch (the last
credentials stay in use, messages keep flowing, new ones are taken when it is back);
AWS_EC2_METADATA_DISABLED; the ECS full URI with a token (variable and file) and a wrong
token; web identity through STS; the order environment > files > web identity > container >
instance metadata; the region from instance metadata; no secret or token in any log line.
"""
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "fake_aws"))
import harness as h  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from fake_ecs import FakeECS  # noqa: E402
from fake_imds import FakeIMDS  # noqa: E402
from fake_sts import FakeSTS  # noqa: E402

ROLE_ARN = "arn:aws:iam::123456789012:role/s3statusd-e2e"
WI_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.E2EWEBIDENTITYSIG"
ECS_TOKEN = "Basic E2EECSTOKEN0123456789abcdef"
CRED_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

EMU = None
TMP = tempfile.mkdtemp(prefix="s3s-e2e-creds-")


class Recorder:
    """A FaultProxy match hook: remembers (time, akid, region, token, op) of every request
    and never matches (so nothing is injected)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []

    def __call__(self, ex):
        auth = ex.request_headers.get("authorization", "")
        m = CRED_RE.search(auth)
        with self.lock:
            self.seen.append({"time": time.time(), "akid": m.group(1) if m else None,
                              "region": m.group(2) if m else None,
                              "token": ex.request_headers.get("x-amz-security-token"),
                              "service": ex.service, "op": ex.op})
        return False

    def requests(self):
        with self.lock:
            return list(self.seen)

    def akids(self):
        """Access key ids in first-use order."""
        out = []
        for r in self.requests():
            if r["akid"] not in out:
                out.append(r["akid"])
        return out


def emulator():
    global EMU
    if EMU is None:
        EMU = h.Emulator().start()
    return EMU


def world(name, region=True, log_level="debug", **cfg):
    """A queue, a bucket, a recording proxy and a config file pointing at the proxy. The SQS
    and S3 endpoints are set with their own keys (not endpoint_url), so AWS_ENDPOINT_URL_STS
    decides where STS is."""
    emulator()
    q = h.create_queue(name, {"VisibilityTimeout": "5"})
    bucket = h.create_bucket(name + "-bucket")
    rec = Recorder()
    proxy = FaultProxy(EMU.url)
    proxy.set_rule(service="*", op="*", match=rec)
    proxy.start()
    keys = dict(queue_url=q, bucket=bucket, sqs_endpoint_url=proxy.url,
                s3_endpoint_url=proxy.url, s3_path_style=True, wait_time=1,
                log_level=log_level, summary=False)
    if region:
        keys["region"] = h.REGION
    keys.update(cfg)
    path = h.write_config(os.path.join(TMP, name + ".conf"), **keys)
    return q, bucket, rec, proxy, path


def only_env(**extra):
    """Daemon environment with no credentials of its own, and no region unless given."""
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
           "AWS_EC2_METADATA_DISABLED": None, "AWS_REGION": None, "AWS_DEFAULT_REGION": None,
           "AWS_PROFILE": None, "HOME": TMP}
    env.update(extra)
    return env


def write_secret(name, text, mode=0o600):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def send_some(q, n, batch="creds"):
    return [h.send(q, json.dumps({"command": "add-batch-status", "batch_id": "%s-%d" % (batch, i),
                                  "status": "running"})) for i in range(n)]


def stored_ids(bucket):
    return {k.rsplit("_", 1)[1][:-len(".json")] for k in h.list_keys(bucket, "")
            if not k.endswith("/summary.json")}


def assert_no_secrets(text, *factories, extra=()):
    """No secret key, session token, IMDS token or other token in text."""
    needles = list(extra)
    for f in factories:
        for c in f.creds.issued:
            needles += [c["secret"], c["token"]]
    for n in needles:
        assert n not in text, "a secret/token is in the log: %r" % n[:24]
    assert "AQAEA" not in text, "an IMDS token is in the log"


def assert_signed_with(rec, factory):
    """Every request was signed with credentials the factory issued, with their own token,
    and while they were valid."""
    reqs = rec.requests()
    assert reqs, "the daemon sent nothing"
    for r in reqs:
        c = factory.by_akid(r["akid"])
        assert c is not None, "request signed with %r, not from %s" % (r["akid"], factory.prefix)
        assert r["token"] == c["token"], "AKID %s sent with another session token" % r["akid"]
        assert r["time"] < c["expiration"] + 1, \
            "AKID %s used %.1fs after its expiry" % (r["akid"], r["time"] - c["expiration"])
    return reqs


# ---------------------------------------------------------------------------------------------

def test_imds_token_flow_check_and_drain():
    q, bucket, rec, proxy, cfg = world("imds-flow")
    with FakeIMDS() as imds:
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 0, err
        assert "credentials (instance-metadata)" in out, out
        first = imds.records()[0]
        assert (first["method"], first["path"]) == ("PUT", "/latest/api/token"), first
        assert first["headers"].get("x-aws-ec2-metadata-token-ttl-seconds") == "21600", first
        assert imds.tokenless_gets() == [], imds.tokenless_gets()
        assert [r["path"] for r in imds.records("GET")] == [
            "/latest/meta-data/iam/security-credentials/",
            "/latest/meta-data/iam/security-credentials/s3statusd-role"]
        assert_signed_with(rec, imds.creds)
        assert_no_secrets(err + out, imds)

        ids = send_some(q, 3)
        rc, out, err = h.run_daemon(cfg, "--drain", env=env, timeout=90)
        assert rc == 0, err
        assert set(ids) <= stored_ids(bucket)
        assert imds.tokenless_gets() == []
        assert_signed_with(rec, imds.creds)
        assert_no_secrets(err + out, imds)
    proxy.stop()


def test_refresh_before_expiry_and_retoken():
    """Credentials valid for 20 s: the daemon replaces them at about half their life, while it
    keeps working; a token expired on the service side is answered with a new PUT."""
    q, bucket, rec, proxy, cfg = world("imds-refresh")
    with FakeIMDS(creds_ttl=20, rotate_before=12) as imds:
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        p = h.start_daemon(cfg, env=env)
        try:
            ids = []
            t0 = time.time()
            expired_tokens = False
            while time.time() - t0 < 27:
                ids += send_some(q, 1, "refresh-%d" % len(ids))
                if not expired_tokens and time.time() - t0 > 3:
                    imds.expire_tokens()              # the next refresh meets a 401
                    expired_tokens = True
                time.sleep(1.5)
            h.wait_until(lambda: set(ids) <= stored_ids(bucket), 30, 0.5, "all stored")
        finally:
            rc = h.stop_process(p)
        log = h.read_log(p)
        assert rc == 0, log[-3000:]
        akids = rec.akids()
        assert len(akids) >= 2, "no refresh in 27 s: %s\n%s" % (akids, log[-3000:])
        assert_signed_with(rec, imds.creds)             # never past an Expiration
        assert "creds: refreshed credentials from instance-metadata" in log, log[-3000:]
        # The 401 and the new token: PUT, ..., GET 401, PUT, GET 200
        recs = imds.records()
        i401 = [i for i, r in enumerate(recs) if r["status"] == 401]
        assert i401, [(r["method"], r["path"], r["status"]) for r in recs]
        after = recs[i401[0] + 1]
        assert (after["method"], after["path"], after["status"]) == \
            ("PUT", "/latest/api/token", 200), after
        assert imds.tokenless_gets() == []
        assert_no_secrets(log, imds)
    proxy.stop()


def test_imds_outage_keeps_last_credentials():
    """The service goes down after the first fetch: the daemon keeps storing messages with the
    credentials it has (past their refresh time), retries with backoff, and takes the new
    ones when the service is back."""
    q, bucket, rec, proxy, cfg = world("imds-outage")
    with FakeIMDS(creds_ttl=16, rotate_before=9) as imds:
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        p = h.start_daemon(cfg, env=env)
        try:
            h.wait_until(lambda: rec.akids(), 20, 0.2, "first signed request")
            first = rec.akids()[0]
            imds.configure(down="500")
            down_at = time.time()
            ids = []
            while time.time() - down_at < 12:            # past the refresh point (~8 s)
                ids += send_some(q, 1, "outage-%d" % len(ids))
                time.sleep(1)
            h.wait_until(lambda: set(ids) <= stored_ids(bucket), 20, 0.5,
                         "messages stored during the outage")
            during = [r for r in rec.requests() if r["time"] > down_at]
            assert during and all(r["akid"] == first for r in during), \
                {r["akid"] for r in during}
            failed_gets = [r for r in imds.records("GET") if r["status"] == 500]
            assert len(failed_gets) >= 3, len(failed_gets)
            imds.configure(down="close")                 # another way of being down
            time.sleep(2)
            imds.configure(down=None)
            up_at = time.time()
            h.wait_until(lambda: len(rec.akids()) >= 2, 60, 0.5, "new credentials after "
                         "the outage")
            more = send_some(q, 2, "after")
            h.wait_until(lambda: set(more) <= stored_ids(bucket), 20, 0.5, "stored after")
        finally:
            rc = h.stop_process(p)
        log = h.read_log(p)
        assert rc == 0, log[-3000:]
        assert "creds: refreshing credentials from instance-metadata failed" in log, log[-3000:]
        assert "answers again" in log, log[-3000:]
        new = [r for r in rec.requests() if r["akid"] != first]
        assert new and min(r["time"] for r in new) > up_at
        # Every request used credentials that came from the fake with their own token.
        for r in rec.requests():
            c = imds.creds.by_akid(r["akid"])
            assert c and r["token"] == c["token"], r
        assert imds.tokenless_gets() == []
        assert_no_secrets(log, imds)
    proxy.stop()


def test_imds_disabled():
    q, bucket, rec, proxy, cfg = world("imds-disabled")
    with FakeIMDS() as imds:
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                       AWS_EC2_METADATA_DISABLED="true")
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 1, (rc, err)
        assert "creds: no credentials found (" in err, err
        assert "instance-metadata: disabled by AWS_EC2_METADATA_DISABLED" in err, err
        assert imds.records() == []
        assert rec.requests() == []
    proxy.stop()


def test_ecs_full_uri_with_token():
    q, bucket, rec, proxy, cfg = world("ecs")
    with FakeECS(token=ECS_TOKEN) as ecs, FakeIMDS() as imds:
        uri = ecs.url + ecs.path
        base = dict(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                    AWS_CONTAINER_CREDENTIALS_FULL_URI=uri)
        ids = send_some(q, 2)
        env = only_env(AWS_CONTAINER_AUTHORIZATION_TOKEN=ECS_TOKEN, **base)
        rc, out, err = h.run_daemon(cfg, "--drain", env=env, timeout=90)
        assert rc == 0, err
        assert set(ids) <= stored_ids(bucket)
        assert_signed_with(rec, ecs.creds)
        assert all(r["headers"].get("authorization") == ECS_TOKEN for r in ecs.records())
        assert imds.records() == [], "fell through to instance metadata"

        # The token from a file (EKS Pod Identity style), re-read at each fetch.
        tok = write_secret("ecs-token", ECS_TOKEN + "\n")
        env = only_env(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok, **base)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 0, err
        assert "credentials (container)" in out, out

        # A wrong token: one error line, no other identity tried.
        env = only_env(AWS_CONTAINER_AUTHORIZATION_TOKEN="Basic WRONG", **base)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 1, err
        assert "creds: container: GET %s: HTTP 401" % uri in err, err
        assert imds.records() == []
        assert_no_secrets(err, ecs, extra=[ECS_TOKEN.split()[1]])

        # Plain http to anything but the agents and loopback is refused.
        env = only_env(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://169.254.169.254/creds",
                       AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 1 and "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://" in err, err
    proxy.stop()


def test_web_identity_via_sts():
    q, bucket, rec, proxy, cfg = world("webid")
    tok = write_secret("web-identity-token", WI_TOKEN)
    with FakeSTS(role_arn=ROLE_ARN, token_file=tok) as sts, FakeIMDS() as imds:
        env = only_env(AWS_WEB_IDENTITY_TOKEN_FILE=tok, AWS_ROLE_ARN=ROLE_ARN,
                       AWS_ROLE_SESSION_NAME="s3statusd-e2e", AWS_ENDPOINT_URL_STS=sts.url,
                       AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        ids = send_some(q, 2)
        rc, out, err = h.run_daemon(cfg, "--drain", env=env, timeout=90)
        assert rc == 0, err
        assert set(ids) <= stored_ids(bucket)
        assert_signed_with(rec, sts.creds)
        call = sts.calls[0]
        assert call["Action"] == "AssumeRoleWithWebIdentity" and call["Version"] == "2011-06-15"
        assert call["RoleArn"] == ROLE_ARN and call["RoleSessionName"] == "s3statusd-e2e"
        assert call["WebIdentityToken"] == WI_TOKEN
        assert all("authorization" not in r["headers"] for r in sts.records())
        assert imds.records() == []
        assert_no_secrets(err + out, sts, extra=[WI_TOKEN])

        # A token STS does not accept: one line without the token; no fall-through.
        bad = write_secret("web-identity-bad", "x" + WI_TOKEN)
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = bad
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 1, err
        assert "creds: web-identity: AssumeRoleWithWebIdentity for %s at %s/: " \
               "InvalidIdentityToken" % (ROLE_ARN, sts.url) in err, err
        assert WI_TOKEN not in err
        assert imds.records() == []
    proxy.stop()


def test_precedence():
    """environment > shared files > web identity > container > instance metadata."""
    q, bucket, rec, proxy, cfg = world("order")
    tok = write_secret("order-token", WI_TOKEN)
    credfile = write_secret("order-credentials", "[default]\naws_access_key_id = AKIDFILEE2E\n"
                            "aws_secret_access_key = filesecretE2E\n")
    with FakeSTS(token_file=tok) as sts, FakeECS() as ecs, FakeIMDS() as imds:
        layers = [
            ("environment", {"AWS_ACCESS_KEY_ID": "AKIDENVE2E",
                             "AWS_SECRET_ACCESS_KEY": "envsecretE2E"}, "AKIDENVE2E"),
            ("shared-credentials-file", {"AWS_SHARED_CREDENTIALS_FILE": credfile},
             "AKIDFILEE2E"),
            ("web-identity", {"AWS_WEB_IDENTITY_TOKEN_FILE": tok, "AWS_ROLE_ARN": ROLE_ARN,
                              "AWS_ENDPOINT_URL_STS": sts.url}, "ASIAFAKESTS0"),
            ("container", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + ecs.path},
             "ASIAFAKEECS0"),
            ("instance-metadata", {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url},
             "ASIAFAKEIMDS"),
        ]
        for i, (source, _, akid) in enumerate(layers):
            env = {}
            for _, e, _ in layers[i:]:
                env.update(e)
            before = len(rec.requests())
            rc, out, err = h.run_daemon(cfg, "--check", env=only_env(**env), timeout=60)
            assert rc == 0, (source, err)
            assert "credentials (%s)" % source in out, (source, out)
            used = {r["akid"] for r in rec.requests()[before:]}
            assert used and all(a.startswith(akid) for a in used), (source, used)
    proxy.stop()


def test_region_from_imds():
    q, bucket, rec, proxy, cfg = world("imds-region", region=False)
    with FakeIMDS(region="eu-west-3") as imds:
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 0, err
        assert "region eu-west-3 from instance metadata" in err, err
        assert {r["region"] for r in rec.requests()} == {"eu-west-3"}, rec.requests()
        # One token for the region and the credentials.
        assert len(imds.records("PUT")) == 1
        assert imds.records()[1]["path"] == "/latest/meta-data/placement/region"
        assert imds.tokenless_gets() == []

        # No region anywhere and instance metadata off: the config error, exit 2.
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                       AWS_EC2_METADATA_DISABLED="true")
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 2, (rc, err)
        assert "region" in err and "not set" in err, err

        # A region that is set but wrong is an error, not a reason to ask the service.
        before = len(imds.records())
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url, AWS_REGION="Mars 1")
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 2 and "AWS_REGION" in err, (rc, err)
        assert len(imds.records()) == before

        # The service has no region: the config error says why.
        imds.configure(region=None)
        env = only_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, out, err = h.run_daemon(cfg, "--check", env=env, timeout=60)
        assert rc == 2, (rc, err)
        assert "; instance metadata: GET /latest/meta-data/placement/region: HTTP 404" in err, err
    proxy.stop()


if __name__ == "__main__":
    try:
        status = h.run_tests(globals())
    finally:
        if EMU is not None:
            EMU.stop()
    sys.exit(status)
