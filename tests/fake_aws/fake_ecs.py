"""A fake container credentials endpoint (the ECS agent at 169.254.170.2, or an EKS Pod
Identity agent / local server behind AWS_CONTAINER_CREDENTIALS_FULL_URI).

    GET <path>      with "Authorization: <token>" when token is set (else 401 with
                    {"code": "AccessDeniedException", ...}); answers
                    {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}
    anything else   404

Settings (configure(...)): path, token (None: no check), creds_ttl, down, hang_s.
Every request hands out fresh credentials (the agents rotate them well ahead of expiry).
"""
from fakebase import CredFactory, FakeServer, iso, json_answer

ROLE_ARN = "arn:aws:iam::123456789012:role/ecs-task-role"


class FakeECS(FakeServer):
    name = "ecs"

    def __init__(self, port=0, path="/v2/credentials/7f3c1a9e-0d4b-4d1f-9d7e-2b6c6a1f0e11",
                 token=None, creds_ttl=3600):
        super().__init__(port)
        self.path = path
        self.token = token
        self.creds_ttl = creds_ttl
        self.creds = CredFactory("ASIAFAKEECS0")

    def handle(self, method, path, headers, body):
        if method != "GET" or path != self.path:
            return json_answer(404, {"code": "NotFound", "message": "no such path"})
        if self.token is not None and headers.get("authorization") != self.token:
            return json_answer(401, {"code": "AccessDeniedException",
                                     "message": "invalid authorization token"})
        c = self.creds.new(self.creds_ttl)
        return json_answer(200, {"AccessKeyId": c["akid"], "SecretAccessKey": c["secret"],
                                 "Token": c["token"], "Expiration": iso(c["expiration"]),
                                 "RoleArn": ROLE_ARN})
