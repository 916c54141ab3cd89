"""Hostile message bodies end to end: about a hundred bodies (nesting bombs, huge and odd
numbers, lone surrogates, duplicate keys, JSON that is not an object, identifiers with '/', '.',
'..', control characters and unicode, keys at and over 1,024 bytes, 200 KB and over-limit
payloads, broken SNS and EventBridge envelopes, odd statuses and event times, huge task tokens)
go through the emulator to s3statusd --drain, twice: with a dead-letter queue, then without one
(dead letters in S3). Each body has its expected outcome, decided from the SPEC and the
decoder's documented rules, not from the daemon's output.

Proves: the daemon exits 0; its stderr holds no sanitizer report (run with S3S_BUILD_DIR set to
the ASan/UBSan build, where any report aborts the daemon), no raw control character and no
line of the bodies; every message is either stored at exactly the key of the layout rules (an
independent encoder here) with a body that is one line of strict JSON (no NaN/Infinity) whose
payload is the producer's bytes, or dead-lettered with the expected stable code and a one-line
reason (DLQ message attributes, or a DEAD_LETTER/ object that is strict JSON holding the
original body), or (get-status) deleted without a write; nothing is written outside
{prefix}/BATCHS/ and {prefix}/DEAD_LETTER/; the source queue ends empty."""
import decimal
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402
from summary_truth import enc  # noqa: E402  (the layout's encoding, independent of the C code)
from faultproxy import FaultProxy  # noqa: E402

PREFIX = "FTD_CONTRACT_LOADER"
T = "2026-12-03T10:00:00.000Z"        # default event_time of the cases
T_STAMP = "20261203T100000.000Z"
STORE = "store"
NOTHING = "nothing"                    # get-status: deleted, nothing written
SANITIZER_MARKS = ("runtime error", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def js(s):
    """A JSON string token for s: non-ASCII kept as UTF-8, except characters above U+FFFF,
    written as surrogate-pair escapes (the emulator, unlike SQS, refuses them raw)."""
    return "".join(c if ord(c) <= 0xFFFF else json.dumps(c)[1:-1]
                   for c in json.dumps(s, ensure_ascii=False))


class Raw(str):
    """JSON text to use as it is (a plain str is a string to encode)."""


def val(v):
    return v if isinstance(v, Raw) else js(v)


def obj(*members):
    """A JSON object from (key, raw JSON value text) pairs, bytes exactly as given."""
    return "{" + ",".join("%s:%s" % (js(k), v) for k, v in members) + "}"


def batch_cmd(batch="b1", status='"running"', extra=(), event_time=True):
    m = [("command", '"add-batch-status"'), ("batch_id", val(batch)), ("status", status)]
    if event_time:
        m.append(("event_time", js(T)))
    return obj(*(m + list(extra)))


def task_cmd(batch="b1", task="t1", status='"success"', extra=(), event_time=True):
    m = [("command", '"add-task-status"'), ("batch_id", val(batch)), ("task_id", val(task)),
         ("status", status)]
    if event_time:
        m.append(("event_time", js(T)))
    return obj(*(m + list(extra)))


def with_payload(payload, batch="payload"):
    return batch_cmd(batch, extra=[("payload", payload)])


def nested(depth):
    """A value of exactly `depth` nested containers, objects and arrays in turn."""
    opens, closes = [], []
    for i in range(depth):
        if i % 2:
            opens.append('{"k":')
            closes.append("}")
        else:
            opens.append("[")
            closes.append("]")
    return "".join(opens) + "0" + "".join(reversed(closes))


def sns(message_text, extra=()):
    return obj(("Type", '"Notification"'), ("MessageId", '"sns-1"'),
               ("TopicArn", '"arn:aws:sns:us-east-1:123456789012:t"'),
               ("Message", message_text), *extra)


def eventbridge(detail):
    return obj(("version", '"0"'), ("id", '"eb-1"'), ("detail-type", '"status"'),
               ("source", '"my.app"'), ("detail", detail))


# Each case: (name, body, expected, details). expected is STORE, NOTHING, or the dead-letter
# code. details for STORE: batch, task (None: batch event), status, stamp (None: the
# SentTimestamp), payload (raw JSON text or None), account.
def stored(batch="b1", task=None, status="running", stamp=T_STAMP, payload=None, account=None):
    return dict(batch=batch, task=task, status=status, stamp=stamp, payload=payload,
                account=account)


CASES = []


def case(name, body, expected, details=None):
    assert all(c[0] != name for c in CASES), name
    assert all(ord(c) <= 0xFFFD and (ord(c) >= 0x20 or c in "\t\n\r") for c in body), \
        "%s: SQS cannot carry this body" % name
    CASES.append((name, body, expected, details))


def build_cases():
    # -- structure and limits -----------------------------------------------------------
    case("bomb-100000-arrays", "[" * 100000, "TooLarge")
    case("bomb-50000-objects", '{"a":' * 50000, "TooLarge")
    case("bomb-in-payload", batch_cmd(extra=[("payload", "[" * 100000)]), "TooLarge")
    case("bomb-in-sns-message", sns(js("[" * 5000)), "TooLarge")
    case("bomb-in-eventbridge-detail",
         eventbridge('{"command":"add-batch-status","x":' + "[" * 1000 + "]" * 1000 + "}"),
         "TooLarge")
    p60 = nested(59)
    case("payload-depth-60", with_payload(p60, "d60"), STORE, stored("d60", payload=p60))
    p64 = nested(63)
    case("payload-depth-64-limit", with_payload(p64, "d64"), STORE, stored("d64", payload=p64))
    case("payload-depth-65", with_payload(nested(64), "d65"), "TooLarge")
    case("null", "null", "InvalidJSON")
    case("empty-object", "{}", "MissingField")
    case("array", '[{"command":"add-batch-status","batch_id":"b","status":"running"}]',
         "InvalidJSON")
    case("string", '"add-batch-status"', "InvalidJSON")
    case("number", "42", "InvalidJSON")
    case("true", "true", "InvalidJSON")
    case("whitespace-only", " \t\r\n ", "InvalidJSON")
    case("not-json", "<Error><Code>x</Code></Error>", "InvalidJSON")
    case("trailing-garbage", batch_cmd("tg") + "x", "InvalidJSON")
    case("two-documents", batch_cmd("two") + batch_cmd("two"), "InvalidJSON")
    case("byte-order-mark", "\ufeff" + batch_cmd("bom"), "InvalidJSON")
    case("comment", '{/* c */"command":"add-batch-status","batch_id":"b","status":"running"}',
         "InvalidJSON")
    case("single-quotes", "{'command':'add-batch-status','batch_id':'b','status':'running'}",
         "InvalidJSON")
    case("unterminated", '{"command":"add-batch-status","batch_id":"b', "InvalidJSON")
    case("surrounding-whitespace", "\r\n\t " + batch_cmd("ws") + " \n", STORE, stored("ws"))
    extra = [("x%04d" % i, "0") for i in range(996)]
    case("fields-1000-limit", batch_cmd("f1000", extra=extra), STORE, stored("f1000"))
    case("fields-1001", batch_cmd("f1001", extra=extra + [("y", "1")]), "TooLarge")
    case("body-over-256KiB", with_payload(js("x" * 270000), "big"), "TooLarge")
    p200 = js("\u00e9" * 100000)   # 200,000 bytes of UTF-8
    case("payload-200KB", with_payload(p200, "p200"), STORE, stored("p200", payload=p200))

    # -- numbers ------------------------------------------------------------------------
    for name, num in (("1e400", "1e400"), ("30-digit", "123456789012345678901234567890"),
                      ("neg-30-digit", "-123456789012345678901234567890"),
                      ("tiny", "1.5e-999"), ("forms", "[-0,0e0,1E+2,0.10,-0.0e-0]")):
        case("payload-" + name, with_payload(num, "n-" + name), STORE,
             stored("n-" + name, payload=num))
    for name, num in (("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
                      ("leading-zero", "01"), ("trailing-dot", "1."), ("leading-dot", ".5"),
                      ("plus", "+1"), ("hex", "0x10"), ("exp-only", "1e")):
        case("payload-" + name, with_payload(num, "bad"), "InvalidJSON")
    case("batch-id-number", batch_cmd(Raw("1e400")), "InvalidField")
    case("status-array", batch_cmd("sa", status='["running"]'), "InvalidField")
    case("status-object", batch_cmd("so", status='{"s":"running"}'), "InvalidField")

    # -- strings and unicode --------------------------------------------------------------
    case("lone-high-surrogate-id", batch_cmd(Raw('"a\\ud800b"')), "InvalidJSON")
    case("lone-low-surrogate-payload", with_payload('"\\udc00"', "ls"), "InvalidJSON")
    case("reversed-surrogates", batch_cmd(Raw('"\\udc00\\ud800"')), "InvalidJSON")
    case("high-surrogate-at-end", batch_cmd(Raw('"x\\ud83d"')), "InvalidJSON")
    case("surrogate-pair-id", batch_cmd(Raw('"emoji-\\ud83d\\ude00"')), STORE,
         stored("emoji-\U0001F600"))
    case("raw-unicode-ids", task_cmd("\u65e5\u672c-\u00e9", "t\u00e2che \U0001F680"), STORE,
         stored("\u65e5\u672c-\u00e9", "t\u00e2che \U0001F680", "success"))
    case("u2028-in-id", batch_cmd(Raw('"line\\u2028sep"')), STORE, stored("line\u2028sep"))
    case("noncharacter-in-id", batch_cmd(Raw('"x\\uffff"')), STORE, stored("x\uffff"))
    case("escaped-key", '{"command":"add-batch-status","batch\\u005fid":"ek","status":"running",'
         '"event_time":"%s"}' % T, STORE, stored("ek"))
    for name, esc in (("nul", "\\u0000"), ("soh", "\\u0001"), ("us", "\\u001f"),
                      ("del", "\\u007f"), ("c1-nel", "\\u0085"), ("c1-csi", "\\u009b"),
                      ("tab", "\\t"), ("newline", "\\n"), ("cr", "\\r"), ("esc", "\\u001b[31m")):
        case("control-%s-in-id" % name, batch_cmd(Raw('"a%sb"' % esc)), "InvalidField")
    case("control-in-task-id", task_cmd("b1", "t\u0001"), "InvalidField")
    case("control-in-account", batch_cmd("acc", extra=[("account", '"a\\u0007"')]),
         "InvalidField")
    case("bad-escape", batch_cmd(Raw('"a\\x41"')), "InvalidJSON")
    case("short-unicode-escape", batch_cmd(Raw('"a\\u12"')), "InvalidJSON")
    case("raw-tab-in-string", batch_cmd(Raw('"a\tb"')), "InvalidJSON")

    # -- duplicates and aliases ------------------------------------------------------------
    case("duplicate-batch-id", '{"command":"add-batch-status","batch_id":"a","batch_id":"b",'
         '"status":"running"}', "InvalidJSON")
    case("duplicate-same-value", '{"command":"add-batch-status","command":"add-batch-status",'
         '"batch_id":"a","status":"running"}', "InvalidJSON")
    case("duplicate-via-escape", '{"command":"add-batch-status","batch_id":"a",'
         '"batch\\u005fid":"a","status":"running"}', "InvalidJSON")
    dup_payload = '{"a":1,"a":2,"a":{"a":[]}}'
    case("duplicate-inside-payload", with_payload(dup_payload, "dp"), STORE,
         stored("dp", payload=dup_payload))
    case("duplicate-in-sns-envelope", obj(("Type", '"Notification"'), ("Type", '"Notification"'),
                                          ("Message", js(batch_cmd("x")))), "InvalidJSON")
    case("alias-conflict", batch_cmd("a1", extra=[("batch-id", '"a2"')]), "InvalidField")
    case("alias-agrees", batch_cmd("a1", extra=[("batch-id", '"a1"')]), STORE, stored("a1"))
    case("legacy-aliases", obj(("command", '"add-task-status"'), ("batch-id", '"lb"'),
                               ("task-id", '"lt"'), ("status", '"FAILED"'),
                               ("event_time", js(T))), STORE, stored("lb", "lt", "failed"))
    case("null-batch-id", batch_cmd(Raw('null')), "MissingField")

    # -- identifiers and keys ------------------------------------------------------------
    for name, ident in (("slash", "/"), ("a-slash-b", "load/warehouse"), ("dotdot", ".."),
                        ("dot", "."), ("three-dots", "..."), ("percent", "%2F"),
                        ("percent-alone", "a%"), ("query", "a?b#c"), ("space", " a b "),
                        ("plus-backslash", "+\\~*"), ("traversal", "../../etc/passwd"),
                        ("dotdot-slash", "../"), ("quotes", "\"'`"),
                        ("amp-lt", "&lt;<>"), ("fullwidth-slash", "a\uff0fb")):
        case("id-" + name, task_cmd("b-" + name, ident, extra=[("account", js(ident))]), STORE,
             stored("b-" + name, ident, "success", account=ident))
    case("batch-dotdot", batch_cmd(".."), STORE, stored(".."))
    case("batch-dot", batch_cmd("."), STORE, stored("."))
    case("id-256-bytes", batch_cmd("i" * 256), STORE, stored("i" * 256))
    case("id-257-bytes", batch_cmd("i" * 257), "InvalidField")
    case("id-256-bytes-utf8", batch_cmd("\u00e9" * 128), STORE, stored("\u00e9" * 128))
    case("id-257-bytes-utf8", batch_cmd("\u00e9" * 128 + "x"), "InvalidField")
    case("id-huge", batch_cmd("h" * 100000), "InvalidField")
    case("id-empty", batch_cmd(""), "InvalidField")
    case("task-id-empty", task_cmd("b", ""), "InvalidField")
    case("account-257", batch_cmd("acc", extra=[("account", js("a" * 257))]), "InvalidField")
    # keys around 1,024 bytes: 768 encoded bytes of batch, the task fills the rest; whether
    # each is stored is decided from the real MessageId's length (see key_len)
    for n in (150, 151, 152, 256):
        case("key-near-1024-task-%d" % n, task_cmd("\u00e9" * 128, "k" * n, '"running"'),
             "key-limit", stored("\u00e9" * 128, "k" * n, "running"))

    # -- envelopes ---------------------------------------------------------------------------
    case("sns-ok", sns(js(task_cmd("sns-b", "sns-t"))), STORE,
         stored("sns-b", "sns-t", "success"))
    case("sns-message-not-json", sns(js("not json")), "InvalidJSON")
    case("sns-message-number", sns("42"), "InvalidField")
    case("sns-message-object", sns(batch_cmd("x")), "InvalidField")
    case("sns-message-array", sns(js("[1]")), "InvalidJSON")
    case("sns-message-lone-surrogate", sns(Raw('"\\ud800"')), "InvalidJSON")
    case("sns-inner-lone-surrogate", sns(js('{"command":"add-batch-status","batch_id":"\\ud800"}')),
         "InvalidJSON")
    case("sns-message-empty", sns('""'), "InvalidJSON")
    case("sns-twice-wrapped", sns(js(sns(js(batch_cmd("deep"))))), "MissingField")
    case("command-beats-envelope", batch_cmd("cbe", extra=[("Type", '"Notification"'),
                                                           ("Message", '"junk"')]), STORE,
         stored("cbe"))
    case("eventbridge-ok", eventbridge(batch_cmd("eb")), STORE, stored("eb"))
    case("eventbridge-detail-string", eventbridge(js(batch_cmd("x"))), "InvalidField")
    case("eventbridge-detail-array", eventbridge("[1,2]"), "InvalidField")
    case("eventbridge-detail-null", eventbridge("null"), "InvalidField")
    case("eventbridge-detail-number", eventbridge("1e400"), "InvalidField")

    # -- commands, statuses ---------------------------------------------------------------------
    case("command-upper-case", batch_cmd("cu").replace("add-batch-status", "ADD-BATCH-STATUS"),
         "UnknownCommand")
    case("command-number", '{"command":1,"batch_id":"b","status":"running"}', "InvalidField")
    case("command-with-nul", batch_cmd("cn").replace('"add-batch-status"',
                                                     '"add-batch-status\\u0000"'),
         "UnknownCommand")
    case("command-huge", '{"command":%s,"batch_id":"b"}' % js("c" * 100000), "UnknownCommand")
    case("get-status-no-token", '{"command":"get-status","batch_id":"gs"}', NOTHING)
    case("status-upper-case", batch_cmd("su", status='"RUNNING"'), STORE, stored("su"))
    case("status-dotted-capital-i", batch_cmd("sd", status='"RUNN\\u0130NG"'), "InvalidStatus")
    case("status-fullwidth", batch_cmd("sf", status=js("\uff52unning")), "InvalidStatus")
    case("status-trailing-space", batch_cmd("st", status='"running "'), "InvalidStatus")
    case("status-empty", batch_cmd("se", status='""'), "InvalidStatus")
    case("status-huge-unicode", batch_cmd("sh", status=js("\U0001F680" * 5000)),
         "InvalidStatus")
    case("status-null", batch_cmd("sn", status="null"), "MissingField")

    # -- event times ---------------------------------------------------------------------------
    def timed(name, when, expected, stamp=None):
        body = obj(("command", '"add-batch-status"'), ("batch_id", js("et-" + name)),
                   ("status", '"running"'), ("event_time", when))
        case("event-time-" + name, body, expected,
             stored("et-" + name, stamp=stamp) if expected == STORE else None)
    timed("leap-second", '"2016-12-31T23:59:60Z"', STORE, "20161231T235959.000Z")
    timed("year-0000", '"0000-01-01T00:00:00Z"', STORE, "00000101T000000.000Z")
    timed("year-9999-end", '"9999-12-31T23:59:59.999Z"', STORE, "99991231T235959.999Z")
    timed("past-9999-by-offset", '"9999-12-31T23:59:59-01:00"', "InvalidField")
    timed("before-0000-by-offset", '"0000-01-01T00:30:00+01:00"', "InvalidField")
    timed("offset-nanos", '"2026-12-03T10:00:00.123456789+05:30"', STORE,
          "20261203T043000.123Z")
    timed("negative-offset", '"2026-12-31T23:30:00-01:00"', STORE, "20270101T003000.000Z")
    timed("lower-case", '"2026-12-03t10:00:00z"', STORE, "20261203T100000.000Z")
    timed("feb-29-leap", '"2024-02-29T00:00:00Z"', STORE, "20240229T000000.000Z")
    timed("feb-29-not-leap", '"2026-02-29T00:00:00Z"', "InvalidField")
    timed("hour-24", '"2026-12-03T24:00:00Z"', "InvalidField")
    timed("no-offset", '"2026-12-03T10:00:00"', "InvalidField")
    timed("ten-fraction-digits", '"2026-12-03T10:00:00.1234567890Z"', "InvalidField")
    timed("five-digit-year", '"12026-12-03T10:00:00Z"', "InvalidField")
    timed("space-separator", '"2026-12-03 10:00:00Z"', "InvalidField")
    timed("offset-99", '"2026-12-03T10:00:00+99:00"', "InvalidField")
    timed("number", "1796292000", "InvalidField")
    timed("huge-string", js("2026-12-03T10:00:00Z" * 5000), "InvalidField")
    timed("null", "null", STORE, None)

    # -- task tokens ---------------------------------------------------------------------------
    case("task-token-2048", batch_cmd("tt", extra=[("task_token", js("T" * 2048))]), STORE,
         stored("tt"))
    case("task-token-2049", batch_cmd("tt", extra=[("task_token", js("T" * 2049))]),
         "InvalidField")
    case("task-token-200KB", batch_cmd("tt", extra=[("task_token", js("T" * 200000))]),
         "InvalidField")
    case("task-token-control", batch_cmd("tt", extra=[("task_token", '"AA\\u0001BB"')]),
         "InvalidField")
    case("task-token-alias-conflict", batch_cmd("tt", extra=[("task_token", '"A"'),
                                                             ("TaskToken", '"B"')]),
         "InvalidField")
    case("task-token-number", batch_cmd("tt", extra=[("task_token", "12")]), "InvalidField")

    # -- payloads kept verbatim ------------------------------------------------------------------
    for name, p in (("crlf-whitespace", '{\r\n "a" :\n\t[1 ,2]\r\n}'),
                    ("escapes", '"\\u2028\\n\\"\\\\\\/\\ud83d\\ude00\\u0000"'),
                    ("raw-unicode", '{"\u00e9t\u00e9":"\u65e5\u672c\uFFFD"}'),
                    ("empty-string", '""'), ("false", "false"), ("empty-array", "[ ]"),
                    ("html", '"</script><script>alert(1)</script>"')):
        case("payload-" + name, with_payload(p, "pv-" + name), STORE,
             stored("pv-" + name, payload=p))
    case("payload-null", with_payload("null", "pv-null"), STORE, stored("pv-null"))


build_cases()


def strict_json(raw, what):
    """Parses raw bytes as strict JSON: UTF-8, one line, no NaN/Infinity tokens."""
    def reject(token):
        raise AssertionError("%s holds the non-JSON token %s" % (what, token))
    text = raw.decode("utf-8")          # strict: invalid UTF-8 raises
    assert text.endswith("\n") and text.count("\n") == 1, "%s is not one line: %r" % (
        what, text[:200])
    assert "\r" not in text, what
    return json.loads(text, parse_constant=reject, parse_float=decimal.Decimal)


def one_line(payload):
    return payload.replace("\r", " ").replace("\n", " ")


def expected_key(d, mid):
    leaf = "%s_%s.json" % (d["stamp"], enc(mid))
    if d["task"] is None:
        return "%s/BATCHS/%s/status/%s/%s" % (PREFIX, enc(d["batch"]), d["status"], leaf)
    return "%s/BATCHS/%s/tasks/%s/%s/%s" % (PREFIX, enc(d["batch"]), enc(d["task"]),
                                            d["status"], leaf)


def key_len(d, mid):
    return len(expected_key(dict(d, stamp=T_STAMP), mid).encode())


def send_all(q):
    """Sends every case; small bodies in batches, large ones alone. Returns {mid: case}."""
    sent = {}
    small = [c for c in CASES if len(c[1].encode()) < 60000]
    large = [c for c in CASES if len(c[1].encode()) >= 60000]
    ids = h.send_batch(q, [c[1] for c in small])
    for c, mid in zip(small, ids):
        sent[mid] = c
    for c in large:
        sent[h.send(q, c[1])] = c
    return sent


def check_stderr(err):
    for mark in SANITIZER_MARKS:
        assert mark not in err, "sanitizer report in the daemon's stderr:\n%s" % err[-20000:]
    for ch in err:
        if ord(ch) < 0x20 and ch not in "\n\t":
            raise AssertionError("raw control character %r in the log:\n%s" % (ch, err[-5000:]))
    for line in err.splitlines():
        assert len(line) < 8192, "a log line of %d bytes" % len(line)
        assert "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in line, line[:300]
        assert "[[[[[[[[[[[[[[[[[[[[" not in line, "a body excerpt in the log: %s" % line[:300]


def setup(name, sfn_url, dlq):
    q = h.create_queue(name, {"VisibilityTimeout": "30"})
    dlq_url = h.create_queue(name + "-dlq") if dlq else None
    bucket = h.create_bucket(name + "-bucket")
    cfg = os.path.join(tempfile.mkdtemp(prefix="s3s-hostile-"), "s3statusd.conf")
    h.write_config(cfg, queue_url=q, dlq_url=dlq_url, bucket=bucket,
                   endpoint_url=h.DEFAULT_ENDPOINT, sfn_endpoint_url=sfn_url,
                   s3_path_style=True, region=h.REGION, wait_time=1, log_level="info",
                   max_inflight=32)
    return q, dlq_url, bucket, cfg


def run(name, sfn_url, dlq):
    q, dlq_url, bucket, cfg = setup(name, sfn_url, dlq)
    t0 = time.time()
    sent = send_all(q)
    t1 = time.time()
    assert len(sent) == len(CASES)
    rc, out, err = h.run_daemon(cfg, "--drain", timeout=240)
    check_stderr(err)
    assert rc == 0, "exit %d\n%s" % (rc, err[-10000:])
    assert h.queue_counts(q) == (0, 0), h.queue_counts(q)

    keys = h.list_keys(bucket, "")
    outside = [k for k in keys if not k.startswith((PREFIX + "/BATCHS/",
                                                    PREFIX + "/DEAD_LETTER/"))]
    assert not outside, "objects outside the layout: %s" % outside
    by_mid = {}
    for k in keys:
        mid = k.rsplit("_", 1)[1][:-len(".json")]
        by_mid.setdefault(mid, []).append(k)
    dead = {}
    if dlq:
        for m in h.drain_queue(dlq_url):
            a = m["MessageAttributes"]
            src = a["s3statusd.source_message_id"]["StringValue"]
            assert src not in dead, "dead-lettered twice: %s" % src
            dead[src] = (a["s3statusd.error"]["StringValue"],
                         a["s3statusd.reason"]["StringValue"], m["Body"],
                         a["s3statusd.receive_count"]["StringValue"])

    problems = []
    counts = {"stored": 0, "dead": 0, "nothing": 0}
    for mid, (name_, body, expected, d) in sent.items():
        if expected == "key-limit":
            expected = STORE if key_len(d, mid) <= 1024 else "InvalidField"
        got_keys = by_mid.get(enc(mid), [])
        try:
            if expected == STORE:
                counts["stored"] += 1
                assert mid not in dead, "dead-lettered: %s" % (dead.get(mid),)
                assert len(got_keys) == 1, "objects: %s" % got_keys
                raw, headers = h.get_object(bucket, got_keys[0])
                rec = strict_json(raw, "record")
                stamp = d["stamp"]
                if stamp is None:        # the SentTimestamp
                    from datetime import datetime
                    ev = datetime.fromisoformat(rec["event_time"].replace("Z", "+00:00"))
                    assert t0 - 2 <= ev.timestamp() <= t1 + 2, rec["event_time"]
                    stamp = ev.strftime("%Y%m%dT%H%M%S.") + rec["event_time"][20:23] + "Z"
                want = expected_key(dict(d, stamp=stamp), mid)
                assert got_keys[0] == want, "key\n  %s\n  expected\n  %s" % (got_keys[0], want)
                assert len(want.encode()) <= 1024
                assert rec["batch_id"] == d["batch"] and rec["task_id"] == d["task"], rec
                assert rec["status"] == d["status"] and rec["message_id"] == mid, rec
                assert rec["account"] == d["account"], rec
                assert list(rec) == ["account", "batch_id", "task_id", "status", "event_time",
                                     "recorded_at", "message_id", "receive_count", "queue",
                                     "payload"], list(rec)
                payload = d["payload"] if d["payload"] is not None else "null"
                tail = b'"payload":' + one_line(payload).encode() + b"}\n"
                assert raw.endswith(tail), "payload not verbatim: ...%r" % raw[-200:]
                assert headers.get("content-type") == "application/json", headers
            elif expected == NOTHING:
                counts["nothing"] += 1
                assert not got_keys and mid not in dead, (got_keys, dead.get(mid))
            else:
                counts["dead"] += 1
                if dlq:
                    assert not got_keys, "objects: %s" % got_keys
                    assert mid in dead, "not dead-lettered"
                    code, reason, dbody, count = dead[mid]
                    assert code == expected, "code %s, expected %s (%s)" % (code, expected,
                                                                            reason)
                    assert dbody == body, "dead letter body changed"
                    assert count == "1", count
                else:
                    dl = [k for k in got_keys if k.startswith(PREFIX + "/DEAD_LETTER/")]
                    assert len(dl) == 1 and len(got_keys) == 1, got_keys
                    raw, _ = h.get_object(bucket, dl[0])
                    doc = strict_json(raw, "dead letter")
                    code, reason = doc["error"], doc["reason"]
                    assert code == expected, "code %s, expected %s (%s)" % (code, expected,
                                                                            reason)
                    assert doc["message_id"] == mid, doc["message_id"]
                    if "body" in doc:
                        assert raw.endswith(b'"body":' + one_line(body.strip(" \t\r\n"))
                                            .encode() + b"}\n"), raw[-300:]
                    else:
                        assert doc["body_text"] == body, "body_text changed"
                assert reason.strip() and "\n" not in reason and "\r" not in reason, reason
                assert len(reason) < 1024, len(reason)
                assert body not in reason or len(body) < 40, "reason quotes the body"
        except AssertionError as e:
            problems.append("%s (%s): %s" % (name_, mid, e))
    unexpected = set(dead) - set(sent)
    assert not unexpected, unexpected
    assert not problems, "%d of %d cases wrong:\n  %s" % (len(problems), len(sent),
                                                         "\n  ".join(problems))
    print("%s: %d cases: %d stored, %d dead-lettered, %d get-status; stderr %d lines, clean"
          % (name, len(sent), counts["stored"], counts["dead"], counts["nothing"],
             len(err.splitlines())))


SFN = None


def test_hostile_bodies_with_dead_letter_queue():
    run("hostile", SFN.url, dlq=True)


def test_hostile_bodies_dead_letters_in_s3():
    run("hostile-nodlq", SFN.url, dlq=False)


if __name__ == "__main__":
    with h.Emulator() as emu:
        # Step Functions stub for the messages with a task token: every call answers 200 {}.
        SFN = FaultProxy(emu.url).start()
        SFN.set_rule(service="sfn", kind="respond", status=200, body={})
        try:
            sys.exit(h.run_tests(globals()))
        finally:
            SFN.stop()
