"""A fake STS answering AssumeRoleWithWebIdentity (Query protocol, 2011-06-15).

The request is a form POST (Content-Type application/x-www-form-urlencoded) or a GET with the
same parameters in the query string, unsigned. Checked like STS does:

    Action=AssumeRoleWithWebIdentity      else 400 InvalidAction
    Version=2011-06-15                    else 400 InvalidAction
    RoleArn, RoleSessionName,
    WebIdentityToken present              else 400 MissingParameter / ValidationError
    RoleSessionName matches [\\w+=,.@-]{2,64}         else 400 ValidationError
    RoleArn == role_arn (when set)        else 403 AccessDenied
    WebIdentityToken == the token read now from token_file (or token)
                                          else 400 InvalidIdentityToken
    no Authorization header (the call is unsigned) else 400 InvalidRequest

Success: the AssumeRoleWithWebIdentityResponse XML with fresh credentials (ttl creds_ttl).
Settings (configure(...)): role_arn, token, token_file, creds_ttl, fail_code (answer this
error code, with status fail_status and message fail_message, to every request; "{token}" in
the message is replaced by the WebIdentityToken sent, as a careless peer might echo it),
down, hang_s.
"""
import re
import urllib.parse
import uuid

from fakebase import CredFactory, FakeServer, iso

XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")


def _error(status, code, message, kind="Sender"):
    body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n'
            '</ErrorResponse>\n' % (XMLNS, kind, code, message, uuid.uuid4()))
    return status, [("Content-Type", "text/xml")], body.encode()


class FakeSTS(FakeServer):
    name = "sts"

    def __init__(self, port=0, role_arn=None, token=None, token_file=None, creds_ttl=3600):
        super().__init__(port)
        self.role_arn = role_arn
        self.token = token
        self.token_file = token_file
        self.creds_ttl = creds_ttl
        self.fail_code = None
        self.fail_status = 400
        self.fail_message = "injected by the fake"
        self.creds = CredFactory("ASIAFAKESTS0")
        self.calls = []             # parsed parameters of every call

    def expected_token(self):
        if self.token_file:
            with open(self.token_file, encoding="utf-8") as f:
                return f.read().strip()
        return self.token

    def handle(self, method, path, headers, body):
        target, _, query = path.partition("?")
        if target != "/":
            return _error(404, "NotFound", "unknown path")
        if method == "POST":
            ctype = headers.get("content-type", "")
            if not ctype.startswith("application/x-www-form-urlencoded"):
                return _error(400, "InvalidRequest", "form body expected")
            params = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=bool(body))
        elif method == "GET":
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
        else:
            return _error(405, "InvalidRequest", "method not allowed")
        p = {k: v[-1] for k, v in params.items()}
        self.calls.append(p)
        if "authorization" in headers:
            return _error(400, "InvalidRequest", "AssumeRoleWithWebIdentity is not signed")
        if p.get("Action") != "AssumeRoleWithWebIdentity" or p.get("Version") != "2011-06-15":
            return _error(400, "InvalidAction", "Could not find operation %s for version %s"
                          % (p.get("Action"), p.get("Version")))
        for k in ("RoleArn", "RoleSessionName", "WebIdentityToken"):
            if not p.get(k):
                return _error(400, "MissingParameter", "%s is required" % k)
        if not SESSION_RE.match(p["RoleSessionName"]):
            return _error(400, "ValidationError", "1 validation error detected: Value at "
                          "'roleSessionName' failed to satisfy constraint")
        if self.fail_code:
            msg = self.fail_message.replace("{token}", p["WebIdentityToken"])
            return _error(self.fail_status, self.fail_code, msg,
                          "Receiver" if self.fail_status >= 500 else "Sender")
        if self.role_arn and p["RoleArn"] != self.role_arn:
            return _error(403, "AccessDenied", "Not authorized to perform "
                          "sts:AssumeRoleWithWebIdentity")
        expected = self.expected_token()
        if expected is not None and p["WebIdentityToken"] != expected:
            return _error(400, "InvalidIdentityToken", "Couldn't verify the token")
        c = self.creds.new(self.creds_ttl)
        role = p["RoleArn"]
        xml = """<AssumeRoleWithWebIdentityResponse xmlns="%s">
  <AssumeRoleWithWebIdentityResult>
    <Audience>sts.amazonaws.com</Audience>
    <SubjectFromWebIdentityToken>system:serviceaccount:batch:s3statusd</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>%s/%s</Arn>
      <AssumedRoleId>AROAFAKE:%s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>%s</SessionToken>
      <SecretAccessKey>%s</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>%s</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
""" % (XMLNS, role.replace(":role/", ":assumed-role/"), p["RoleSessionName"],
            p["RoleSessionName"], c["token"], c["secret"], iso(c["expiration"]), c["akid"],
            uuid.uuid4())
        return 200, [("Content-Type", "text/xml")], xml.encode()
