#!/usr/bin/python3
"""Cross-check of src/sigv4.c against botocore (Debian's python3-botocore).

Generates a few hundred random requests with a fixed seed (S3 keys with
spaces, '+', '=', '%', '~', unicode, '..', '//'; odd query strings; sqs, s3
and states; with and without a session token), signs each with tool_sigv4
and with botocore's SigV4Auth / S3SigV4Auth at the same frozen time, and
compares canonical request, string to sign and Authorization.

The botocore request URL carries the path as our HTTP layer puts it on the
wire: every byte outside the unreserved set and '/' percent-encoded.
"""
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

SEED = 20150830
COUNT = 400
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EPOCH = datetime.datetime(1970, 1, 1)


def wire_path(path):
    return quote(path, safe="/-_.~")


def wire_query(query):
    return "&".join(
        quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in query
    )


def frozen(time_ms):
    return EPOCH + datetime.timedelta(milliseconds=time_ms)


def make_request(req):
    headers = HTTPHeaders()
    for k, v in req["headers"]:
        if k.lower() != "host":  # botocore derives host from the URL
            headers[k] = v  # appends: duplicates are kept
    url = "https://" + req["host"] + wire_path(req["path"])
    if req["query"]:
        url += "?" + wire_query(req["query"])
    r = AWSRequest(method=req["method"], url=url, headers=headers,
                   data=req["body"].encode("utf-8"))
    if req.get("unsigned_payload"):
        r.context["payload_signing_enabled"] = False
    return r


def botocore_sign(req):
    """Canonical request, string to sign and Authorization from botocore's
    own methods, at the request's frozen time."""
    creds = Credentials(req["access_key"], req["secret_key"],
                        req["session_token"])
    cls = S3SigV4Auth if req["s3"] else SigV4Auth
    auth = cls(creds, req["service"], req["region"])
    r = make_request(req)
    r.context["timestamp"] = frozen(req["time_ms"]).strftime(
        botocore.auth.SIGV4_TIMESTAMP)
    auth._modify_request_before_signing(r)
    cr = auth.canonical_request(r)
    sts = auth.string_to_sign(r, cr)
    sig = auth.signature(sts, r)
    auth._inject_signature_to_request(r, sig)
    authorization = r.headers["Authorization"]

    # The same through add_auth() with the clock patched, to be sure the
    # method-by-method path above is what botocore really does.
    r2 = make_request(req)
    with mock.patch.object(botocore.auth, "datetime") as dt:
        dt.datetime.utcnow.return_value = frozen(req["time_ms"])
        auth.add_auth(r2)
    if r2.headers["Authorization"] != authorization:
        raise AssertionError("botocore add_auth disagrees with its own stages")
    return {"canonical_request": cr, "string_to_sign": sts,
            "authorization": authorization,
            "security_token": r.headers.get("X-Amz-Security-Token")}


def run_tool(reqs):
    build = os.environ.get("S3S_BUILD_DIR", "build")
    tool = os.path.join(build, "tests", "tool_sigv4")
    fields = ("method", "path", "query", "headers", "body", "service",
              "region", "access_key", "secret_key", "session_token",
              "time_ms", "s3", "raw_path")
    text = "".join(
        json.dumps({k: r[k] for k in fields if k in r}, ensure_ascii=False) + "\n"
        for r in reqs)
    out = subprocess.run([tool], input=text.encode("utf-8"),
                         stdout=subprocess.PIPE, check=True).stdout
    lines = out.decode("utf-8").splitlines()
    if len(lines) != len(reqs):
        raise AssertionError(f"tool answered {len(lines)} lines for {len(reqs)}")
    return [json.loads(x) for x in lines]


# ---- random requests -------------------------------------------------------

KEY_PIECES = [
    "a", "b", "job", "BATCHS", "x y", "a+b", "k=v", "100%", "%2F", "%41",
    "~tilde", "ü", "ሴ", "日本", "😀", "..", ".", "", "a..b", ".hidden",
    "q?x", "h#1", "s;c", "c:d", "at@x", "amp&", "$d", "p(1)", "st*r", "ex!",
    "co,ma", "'q'", "[b]", "{c}", "t\tab", "back\\sl", "^car", "`bt`", "|",
    "<>", "\"", "sp  ace", "-_.", "FTD_CONTRACT_LOADER",
]
QUERY_PIECES = [
    "", "a", "B", "list-type", "prefix", "x y", "a+b", "=", "&", "%", "%20",
    "~", "ü", "ሴ", "/", "?", "#", "Action", "max-keys", "1000", "v1", "V1",
    "-._~", "@#$%^", "\\|", "😀", "continuation-token", "a=b&c",
]


def rand_key(rng):
    segs = [rng.choice(KEY_PIECES) + rng.choice(["", "", rng.choice(KEY_PIECES)])
            for _ in range(rng.randint(1, 5))]
    key = "/".join(segs)
    if rng.random() < 0.15:
        key += "/"
    if rng.random() < 0.1:
        key = "/" + key  # a key starting with '/' gives "//" in the path
    return key


def rand_query(rng):
    if rng.random() < 0.35:
        return []
    q = []
    for _ in range(rng.randint(1, 5)):
        k = rng.choice(QUERY_PIECES) + rng.choice(["", rng.choice(QUERY_PIECES)])
        v = "" if rng.random() < 0.3 else rng.choice(QUERY_PIECES) + rng.choice(
            ["", rng.choice(QUERY_PIECES)])
        q.append([k, v])
    if rng.random() < 0.3 and q:  # a repeated name with another value
        q.append([q[0][0], rng.choice(QUERY_PIECES)])
    rng.shuffle(q)
    return q


def rand_value(rng):
    words = ["a", "b  c", "  lead", "trail  ", "x\ty", "v1,v2", "\"q  q\"",
             "UPPER", "=", "/path", "", "a;b"]
    return "".join(rng.choice(words) for _ in range(rng.randint(0, 3)))


def rand_time(rng):
    t = rng.choice([
        1440938160000,                      # the AWS suite's time
        rng.randint(0, 4102444800000),      # 1970..2100
        86400000 * rng.randint(16000, 25000) - rng.randint(0, 1),  # day edges
    ])
    return t + rng.randint(0, 999) if rng.random() < 0.5 else t


def rand_token(rng):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(16, 300)))


def rand_request(rng, i):
    service = rng.choice(["s3", "s3", "sqs", "states"])
    region = rng.choice(["us-east-1", "eu-west-3", "ap-southeast-2"])
    token = rng.choice([None, "", rand_token(rng), rand_token(rng)])
    headers = []
    body = ""
    if service == "s3":
        bucket = rng.choice(["my-bucket", "status.bucket", "b"])
        key = rand_key(rng)
        if rng.random() < 0.5:
            host, path = f"{bucket}.s3.{region}.amazonaws.com", "/" + key
        else:
            host, path = f"s3.{region}.amazonaws.com", f"/{bucket}/" + key
        method = rng.choice(["GET", "PUT", "HEAD", "DELETE", "POST"])
        if method in ("PUT", "POST"):
            body = json.dumps({"i": i, "k": key}, ensure_ascii=False) + "\n"
            headers.append(["Content-Type", "application/json"])
        unsigned = rng.random() < 0.1
        if unsigned:
            headers.append(["Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="])
            headers.append(["X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"])
        else:
            headers.append(["X-Amz-Content-SHA256",
                            hashlib.sha256(body.encode("utf-8")).hexdigest()])
        if rng.random() < 0.3:
            headers.append(["If-None-Match", "*"])
        query = rand_query(rng)
    else:
        host = f"{service}.{region}.amazonaws.com"
        method = "POST"
        if rng.random() < 0.4:
            path = "/" + rand_key(rng)  # exercise normalisation + double encoding
        elif service == "sqs" and rng.random() < 0.5:
            path = "/123456789012/status-queue"
        else:
            path = "/"
        query = rand_query(rng) if rng.random() < 0.4 else []
        if service == "sqs":
            headers.append(["Content-Type", "application/x-amz-json-1.0"])
            headers.append(["X-Amz-Target", "AmazonSQS.ReceiveMessage"])
        else:
            headers.append(["Content-Type", "application/x-amz-json-1.0"])
            headers.append(["X-Amz-Target", "AWSStepFunctions.SendTaskSuccess"])
        body = json.dumps({"QueueUrl": "q", "n": i, "u": "ü"}, ensure_ascii=False)
        unsigned = False
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(["X-Amz-Meta-Batch", "x-amz-meta-batch", "My-Header",
                           "X-AMZ-META-Ü-NO".encode("ascii", "ignore").decode(),
                           "x-amz-meta-dup"])
        headers.append([name, rand_value(rng)])
    if rng.random() < 0.05:  # left over from an earlier attempt: never signed
        headers.append(["Authorization", "AWS4-HMAC-SHA256 stale"])
    rng.shuffle(headers)
    headers.insert(rng.randint(0, len(headers)), [rng.choice(["host", "Host", "HOST"]), host])
    return {
        "method": method, "host": host, "path": path, "query": query,
        "headers": headers, "body": body, "service": service, "region": region,
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
        "session_token": token, "time_ms": rand_time(rng),
        "s3": service == "s3", "unsigned_payload": unsigned,
    }


def main():
    rng = random.Random(SEED)
    reqs = [rand_request(rng, i) for i in range(COUNT)]
    # The same requests again with the path given as it is on the wire.
    raw = []
    for r in reqs[: COUNT // 4]:
        r2 = dict(r)
        r2["path"] = wire_path(r["path"])
        r2["raw_path"] = True
        r2["wire_of"] = r["path"]
        raw.append(r2)
    got = run_tool(reqs + raw)
    diffs = []
    counts = {"s3": 0, "sqs": 0, "states": 0, "token": 0, "raw_path": 0}
    for req, out in zip(reqs + raw, got):
        sign_req = dict(req)
        if req.get("raw_path"):
            sign_req["path"] = req["wire_of"]  # botocore gets the same wire URL
        want = botocore_sign(sign_req)
        counts[req["service"]] += 1
        counts["token"] += bool(req["session_token"])
        counts["raw_path"] += bool(req.get("raw_path"))
        if "error" in out:
            diffs.append((req, "error", out["error"], ""))
            continue
        for stage in ("canonical_request", "string_to_sign", "authorization",
                      "security_token"):
            if out.get(stage) != want[stage]:
                diffs.append((req, stage, out.get(stage), want[stage]))
                break
        else:
            if not out["authorization"].endswith("Signature=" + out["signature"]):
                diffs.append((req, "signature stage", out["signature"],
                              out["authorization"]))
    for req, stage, ours, theirs in diffs[:5]:
        print(f"MISMATCH {stage}: service={req['service']} path={req['path']!r} "
              f"query={req['query']!r} raw_path={req.get('raw_path', False)}")
        print(f"  ours:     {ours!r}\n  botocore: {theirs!r}")
    total = len(reqs) + len(raw)
    print(f"sigv4 vs botocore: {total} requests ({counts['s3']} s3, {counts['sqs']} sqs, "
          f"{counts['states']} states, {counts['token']} with token, "
          f"{counts['raw_path']} raw-path), {total - len(diffs)} match, "
          f"{len(diffs)} mismatch")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
