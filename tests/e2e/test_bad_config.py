"""Bad configuration values end to end, through the real binaries: a table of bad values for
every key, each given three ways (config file line, --flag, S3STATUSD_* environment variable),
plus unknown keys, missing required keys and syntax errors.

Proves: each is refused at start-up with exit status 2, nothing on stdout and exactly one
stderr line that names the key (and the file and line, the flag or the variable it came from);
the same configuration with the bad value left out is accepted (it gets as far as the access
check: exit 1 against a closed port, never 2). A syntax error names FILE:LINE but never echoes
the line, so --config pointed at the wrong file (/etc/shadow, a PEM key, a credentials file)
prints none of its content; a URL's user:password is never echoed either."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402

TMP = tempfile.mkdtemp(prefix="s3s-badcfg-")
CLOSED = "http://127.0.0.1:9"            # nothing listens: the access check fails with 1
BASE = {"queue_url": CLOSED + "/000000000000/q", "bucket": "good-bucket",
        "region": "us-east-1", "endpoint_url": CLOSED}
CANARY = "CANARYc4n4ryXyZ"
# keys checked against another key once everything is loaded: the line names the key, not
# where it came from
CROSS = {"sse_kms_key_id"}

# (key, bad value, ways): ways is a subset of "fe" + "l" (file, environment, flag); values with
# control characters cannot be written on one file line, empty values are "unset" in the
# environment, values starting with '-' read as an option after a flag name (given as
# --key=VALUE then).
BAD = [
    ("queue_url", "ftp://host/q", "fel"),
    ("queue_url", "bad queue name!", "fel"),
    ("queue_url", "q" * 81, "fel"),
    ("queue_url", "http://", "fel"),
    ("bucket", "Bad_Bucket", "fel"),
    ("bucket", "ab", "fel"),
    ("bucket", "b" * 64, "fel"),
    ("bucket", "192.168.1.1", "fel"),
    ("bucket", "a..b", "fel"),
    ("bucket", "xn--bucket", "fel"),
    ("bucket", "-bucket", "fe"),
    ("prefix", "/lead", "fel"),
    ("prefix", "trail/", "fel"),
    ("prefix", "a//b", "fel"),
    ("prefix", "a/../b", "fel"),
    ("prefix", ".", "fel"),
    ("prefix", "p" * 513, "fel"),
    ("prefix", "line1\nline2", "el"),
    ("prefix", "tab\there", "el"),
    ("prefix", "", "f"),
    ("region", "EU-WEST-1", "fel"),
    ("region", "eu west 1", "fel"),
    ("region", "eu-west-1-", "fel"),
    ("endpoint_url", "localhost:4566", "fel"),
    ("endpoint_url", "http://:4566", "fel"),
    ("endpoint_url", "http://host name", "fel"),
    ("sqs_endpoint_url", "ftp://x", "fel"),
    ("s3_endpoint_url", "file:///etc/passwd", "fel"),
    ("sfn_endpoint_url", "gopher://x", "fel"),
    ("dlq_url", "ftp://x/dlq", "fel"),
    ("s3_path_style", "maybe", "fel"),
    ("summary", "perhaps", "fel"),
    ("max_receives", "0", "fel"),
    ("max_receives", "1001", "fel"),
    ("max_receives", "five", "fel"),
    ("max_receives", "1e3", "fel"),
    ("max_receives", "0x10", "fel"),
    ("max_receives", "99999999999999999999999", "fel"),
    ("max_receives", "-1", "fe"),
    ("max_receives", "", "f"),
    ("visibility_timeout", "43201", "fel"),
    ("wait_time", "21", "fel"),
    ("max_inflight", "0", "fel"),
    ("max_inflight", "10001", "fel"),
    ("pollers", "65", "fel"),
    ("summary_flush_ms", "600001", "fel"),
    ("shutdown_timeout", "3601", "fel"),
    ("accounts", "a" * 257, "fel"),
    ("statuses", "Running!", "fel"),
    ("statuses", "ok,..", "fel"),
    ("statuses", "", "f"),
    ("record_format", "csv", "fel"),
    ("sse", "aes256", "fel"),
    ("sse", "kms", "fel"),
    ("sse_kms_key_id", "k1", "fel"),          # without sse = aws:kms
    ("ca_file", "/nonexistent/ca.pem", "fel"),
    ("ca_file", "/", "fel"),
    ("log_level", "verbose", "fel"),
    ("log_format", "xml", "fel"),
    ("max_receives", "x" * 5000, "fel"),      # over the 4 KiB value limit
]


def conf(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def base_text(omit=()):
    return "".join("%s = %s\n" % (k, v) for k, v in BASE.items() if k not in omit)


def run(args, env=None, binary=None):
    return h.run_daemon(None, *args, "--check", timeout=60, env=env, binary=binary)


def assert_refused(rc, out, err, key, where):
    assert rc == 2, "%s: exit %d, expected 2\nstderr: %s" % (where, rc, err)
    assert out == "", "%s: stdout %r" % (where, out)
    assert err.endswith("\n") and err.count("\n") == 1, "%s: not one line: %r" % (where, err)
    assert key in err, "%s: the line does not name %s: %r" % (where, key, err)
    assert len(err) < 1024, "%s: %d bytes" % (where, len(err))


def test_good_config_is_accepted_every_way():
    # The baseline reaches the access check (1: nothing listens), from each source.
    cfg = conf("good.conf", base_text())
    rc, out, err = run(["--config", cfg])
    assert rc == 1, (rc, err)
    flags = []
    for k, v in BASE.items():
        flags += ["--" + k.replace("_", "-"), v]
    rc, _, err = run(flags)
    assert rc == 1, (rc, err)
    rc, _, err = run([], env={"S3STATUSD_" + k.upper(): v for k, v in BASE.items()})
    assert rc == 1, (rc, err)


def test_bad_values_file_flag_env():
    ran = 0
    for i, (key, value, ways) in enumerate(BAD):
        if "f" in ways:
            cfg = conf("bad-%d.conf" % i, base_text(omit=(key,)) + "# a comment\n\n%s = %s\n"
                       % (key, value))
            rc, out, err = run(["--config", cfg])
            assert_refused(rc, out, err, key, "file %s = %r" % (key, value))
            line = len(base_text(omit=(key,)).splitlines()) + 3
            if key not in CROSS:
                assert "%s:%d" % (cfg, line) in err, "file and line not named: %r" % err
            ran += 1
        cfg = conf("base-%d.conf" % i, base_text(omit=(key,)))
        if "l" in ways:
            flag = "--" + key.replace("_", "-")
            rc, out, err = run(["--config", cfg, flag, value])
            assert_refused(rc, out, err, key, "flag %s %r" % (flag, value))
            assert flag in err or key in CROSS, err
            rc, out, err = run(["--config", cfg, "%s=%s" % (flag, value)])
            assert_refused(rc, out, err, key, "flag %s=%r" % (flag, value))
            ran += 2
        if "e" in ways:
            var = "S3STATUSD_" + key.upper()
            rc, out, err = run(["--config", cfg], env={var: value})
            assert_refused(rc, out, err, key, "env %s=%r" % (var, value))
            assert var in err or key in CROSS, err
            ran += 1
    print("%d bad values, %d runs: exit 2 and one line naming the key" % (len(BAD), ran))


def test_aws_endpoint_variables_are_checked():
    for var, key in (("AWS_ENDPOINT_URL", "endpoint_url"), ("AWS_ENDPOINT_URL_SQS", "sqs"),
                     ("AWS_ENDPOINT_URL_S3", "s3"), ("AWS_ENDPOINT_URL_SFN", "sfn")):
        cfg = conf("ep.conf", base_text(omit=("endpoint_url",)))
        rc, out, err = run(["--config", cfg], env={var: "ftp://nowhere"})
        assert_refused(rc, out, err, key, var)
        assert var in err, err


def test_unknown_and_missing_keys():
    cfg = conf("unknown.conf", base_text() + "frobnicate = 1\n")
    rc, out, err = run(["--config", cfg])
    assert_refused(rc, out, err, "frobnicate", "unknown key")
    assert "unknown key" in err and cfg + ":5" in err, err
    rc, out, err = run(["--config", conf("good2.conf", base_text()), "--frobnicate", "1"])
    assert_refused(rc, out, err, "frobnicate", "unknown flag")
    for key in ("queue_url", "bucket"):
        rc, out, err = run(["--config", conf("missing.conf", base_text(omit=(key,)))])
        assert_refused(rc, out, err, key, "missing " + key)
        assert "required" in err, err
        rc, out, err = run(["--config", conf("empty.conf", base_text(omit=(key,)) +
                                            "%s =\n" % key)])
        assert_refused(rc, out, err, key, "empty " + key)
    rc, out, err = run(["--config", conf("dup.conf", base_text() + "bucket = other-bucket\n")])
    assert_refused(rc, out, err, "bucket", "duplicate key")
    rc, out, err = run(["--config", os.path.join(TMP, "no-such.conf")])
    assert rc == 2 and err.count("\n") == 1 and "no-such.conf" in err, (rc, err)


def test_syntax_errors_never_echo_the_file():
    files = {
        "shadow": "root:$y$j9T$%s$zCANARYhash:19000:0:99999:7:::\n" % CANARY,
        "pem": "-----BEGIN PRIVATE KEY-----\nMIIEv%sQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB==\n" % CANARY,
        "pem-line": "MIIEv%sQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB==\n" % CANARY,
        "aws-credentials": "[default]\naws_secret_access_key = %s\n" % CANARY,
        "env-file": "AWS_SECRET_ACCESS_KEY=%s\n" % CANARY,
        "netrc": "machine example.com login me password %s\n" % CANARY,
        "unknown-key-value": "password = %s\n" % CANARY,
        "unterminated": 'prefix = "%s\n' % CANARY,
        "after-quote": 'prefix = "ok" %s\n' % CANARY,
    }
    for name, text in files.items():
        cfg = conf(name + ".conf", text)
        rc, out, err = run(["--config", cfg])
        assert rc == 2 and out == "" and err.count("\n") == 1, (name, rc, err)
        assert CANARY not in err and CANARY.lower() not in err, \
            "%s: the file's content is echoed: %r" % (name, err)
        assert cfg in err, (name, err)
    # the real thing, where readable (the tests run as root in CI)
    for path in ("/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key"):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                content = f.read()
        except OSError:
            continue
        rc, out, err = run(["--config", path])
        assert rc == 2 and err.count("\n") == 1, (path, rc, err)
        msg = err.split(path, 1)[1] if path in err else err
        for field in set(content.replace("\n", ":").replace(" ", ":").split(":")):
            if len(field) >= 6:
                assert field not in msg, "%s: content echoed: %r" % (path, err)


def test_url_credentials_are_not_echoed():
    secret = "s3cr3t" + CANARY
    for key in ("endpoint_url", "dlq_url", "s3_endpoint_url"):
        rc, out, err = run(["--config", conf("url.conf", base_text(omit=(key,)))],
                           env={"S3STATUSD_" + key.upper(): "https://AKIDX:%s@host/" % secret})
        assert_refused(rc, out, err, key, key)
        assert secret not in err and "AKIDX" not in err, err
    rc, out, err = run(["--config", conf("url2.conf", base_text(omit=("endpoint_url",)))],
                       env={"AWS_ENDPOINT_URL": "http://u:%s@127.0.0.1:9" % secret})
    assert rc == 2 and secret not in err, (rc, err)


def test_cli_refuses_the_same_way():
    cfg = conf("cli.conf", base_text(omit=("max_receives",)) + "max_receives = 0\n")
    rc, out, err = h.run_cli(cfg, "send", "--batch", "b", "--status", "running")
    assert rc == 2 and out == "" and err.count("\n") == 1 and "max_receives" in err, (rc, err)
    rc, out, err = h.run_cli(conf("cli2.conf", "root:x:%s\n" % CANARY), "check")
    assert rc == 2 and CANARY not in err and err.count("\n") == 1, (rc, err)


if __name__ == "__main__":
    sys.exit(h.run_tests(globals()))
