"""A fake EC2 instance metadata service with IMDSv2 required (HttpTokens=required).

    PUT /latest/api/token                       needs X-aws-ec2-metadata-token-ttl-seconds
                                                (1..21600, else 400); X-Forwarded-For -> 403;
                                                answers the token (text) and echoes the TTL
    GET /latest/meta-data/...                   needs X-aws-ec2-metadata-token with a live
                                                token, else 401 (a token-less GET is recorded
                                                and refused, as on an instance that requires v2)
      iam/security-credentials/                 the role name (404 when role is None)
      iam/security-credentials/ROLE             {"Code": "Success", "AccessKeyId": ...,
                                                 "SecretAccessKey", "Token", "Expiration"}
      placement/region                          the region (404 when None)

Credentials are the factory's current set, rotated (a new access key id) when less than
rotate_before seconds of it are left, like the real service does ahead of expiry. Settings
(configure(...)): role, region, creds_ttl, rotate_before, token_ttl_cap (the longest TTL the
fake grants), creds_override (a JSON document, str or dict, served instead), down, hang_s.
expire_tokens() makes every issued token invalid (the next GET gets 401); rotate() hands out
a new set now (with the current creds_ttl).
"""
import json
import secrets
import time

from fakebase import CredFactory, FakeServer, iso, json_answer, text_answer

TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


class FakeIMDS(FakeServer):
    name = "imds"

    def __init__(self, port=0, role="s3statusd-role", region="eu-west-3", creds_ttl=3600,
                 rotate_before=None):
        super().__init__(port)
        self.role = role
        self.region = region
        self.creds_ttl = creds_ttl
        self.rotate_before = rotate_before
        self.token_ttl_cap = 21600
        self.creds_override = None
        self.creds = CredFactory("ASIAFAKEIMDS")
        self._tokens = {}           # token -> expiry (unix s)

    def expire_tokens(self):
        with self._lock:
            self._tokens.clear()

    def rotate(self):
        self.creds.new(self.creds_ttl)

    def tokens_issued(self):
        return len(self.records("PUT", TOKEN_PATH))

    def tokenless_gets(self):
        return [r for r in self.records("GET")
                if "x-aws-ec2-metadata-token" not in r["headers"]]

    def _current_creds(self):
        c = self.creds.current()
        margin = self.rotate_before if self.rotate_before is not None else self.creds_ttl * 0.6
        if c is None or c["expiration"] - time.time() < margin:
            c = self.creds.new(self.creds_ttl)
        return c

    def handle(self, method, path, headers, body):
        if path == TOKEN_PATH:
            if method != "PUT":
                return text_answer(405, "")
            if "x-forwarded-for" in headers:
                return text_answer(403, "Forbidden")
            try:
                ttl = int(headers.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return text_answer(400, "Missing or invalid TTL")
            if not 1 <= ttl <= 21600:
                return text_answer(400, "Invalid TTL")
            ttl = min(ttl, self.token_ttl_cap)
            token = "AQAEA" + secrets.token_urlsafe(40)
            with self._lock:
                self._tokens[token] = time.time() + ttl
            return 200, [("Content-Type", "text/plain"),
                         ("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))], token.encode()
        if method not in ("GET", "HEAD"):
            return text_answer(405, "")
        token = headers.get("x-aws-ec2-metadata-token")
        with self._lock:
            expiry = self._tokens.get(token) if token else None
        if expiry is None or expiry < time.time():
            return text_answer(401, "Unauthorized")
        if path == "/latest/meta-data/placement/region":
            return text_answer(200, self.region) if self.region else text_answer(404, "")
        if path == ROLE_PATH:
            return text_answer(200, self.role) if self.role else text_answer(404, "")
        if self.role and path == ROLE_PATH + self.role:
            if self.creds_override is not None:
                doc = self.creds_override
                return text_answer(200, doc if isinstance(doc, str) else json.dumps(doc),
                                   "text/plain")
            c = self._current_creds()
            return json_answer(200, {
                "Code": "Success", "LastUpdated": iso(c["issued"]), "Type": "AWS-HMAC",
                "AccessKeyId": c["akid"], "SecretAccessKey": c["secret"], "Token": c["token"],
                "Expiration": iso(c["expiration"])})
        return text_answer(404, "Not Found")
