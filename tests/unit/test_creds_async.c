/* test_creds_async.c - the whole credentials chain on the event loop against
 * the fake IMDSv2, ECS and STS servers (tests/fake_aws): each source, the
 * order between them, refusals, refresh before expiry, keeping the last
 * credentials while the source is down, and no secret or token in any log
 * line or error. */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "check.h"
#include "testenv.h"
#include "creds.h"
#include "fake_aws.h"
#include "http.h"
#include "log.h"
#include "loop.h"

#define WI_TOKEN  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.WEBIDENTITYTOKENSIG"
#define ECS_TOKEN "Basic ECSAUTHTOKEN0123456789"
#define ROLE_ARN  "arn:aws:iam::123456789012:role/s3statusd"

static struct fake_aws fk;
static char log_path[] = "/tmp/s3s-test-creds-async-log-XXXXXX";
static char token_path[] = "/tmp/s3s-test-creds-wi-XXXXXX";
static char ecs_token_path[] = "/tmp/s3s-test-creds-ecs-XXXXXX";
static char cred_path[] = "/tmp/s3s-test-creds-file-XXXXXX";
static char ecs_url[128];

/* Nothing but what the test sets: no files, instance metadata at the fake. */
static void env_base(struct env *e)
{
	memset(e, 0, sizeof(*e));
	env_set(e, "HOME", "/nonexistent");
	env_set(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", fk.imds);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) != 0)
		fake_die(path);
	close(fd);
}

/* ---- a chain on a loop ---------------------------------------------------- */

struct rig {
	struct env env;
	struct loop *l;
	struct http *h;
	struct creds_chain *c;
	int done;
	int rc;
	char err[2048];
};

static void on_done(int rc, const char *err, void *arg)
{
	struct rig *r = arg;

	r->done++;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void on_idle(struct loop *l, void *arg)
{
	struct rig *r = arg;

	if (r->done)
		loop_stop(l);
}

/* Run the loop for ms, or until the start callback when until_done. */
static void spin(struct rig *r, int64_t ms, bool until_done)
{
	struct loop_timer *t = loop_timer_new(r->l, on_deadline, NULL);

	loop_timer_arm(t, ms);
	loop_set_idle(r->l, until_done ? on_idle : NULL, r);
	if (!until_done || !r->done)
		loop_run(r->l);
	loop_set_idle(r->l, NULL, NULL);
	loop_timer_free(t);
}

/* Attach and start with env; runs until the result (at most 10 s). */
static void start(struct rig *r, const char *sts)
{
	struct creds_env ce = {env_lookup, &r->env};
	struct creds_async_options o;
	struct buf err;

	r->l = loop_new();
	r->h = http_new(r->l, NULL);
	r->c = creds_chain_new(&ce);
	o = (struct creds_async_options){.loop = r->l, .http = r->h};
	buf_init(&err, 0);
	CHECK_INT(creds_chain_attach(r->c, &o, &err), 0);
	buf_free(&err);
	r->done = 0;
	creds_chain_start(r->c, sts, on_done, r);
	CHECK_INT(r->done, 0); /* never synchronously */
	spin(r, 10000, true);
	CHECK_INT(r->done, 1);
	if (r->rc != 0 || r->done != 1)
		fprintf(stderr, "start: rc %d err '%s'\n", r->rc, r->err);
}

static void stop(struct rig *r)
{
	creds_chain_free(r->c);
	http_free(r->h);
	loop_free(r->l);
	r->c = NULL;
}

static const char *akid(struct rig *r)
{
	const struct aws_creds *cr = creds_chain_current(r->c);

	return cr ? cr->access_key_id : "(none)";
}

static const char *source(struct rig *r)
{
	const struct aws_creds *cr = creds_chain_current(r->c);

	return cr ? cr->source : "(none)";
}

/* The last access key id the fake handed out. */
static const char *last_akid(const char *fake)
{
	const char *all = fake_cmd(&fk, "%s akids", fake), *sp = strrchr(all, ' ');

	return sp ? sp + 1 : all;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_instance_metadata(void)
{
	struct rig r;
	const struct aws_creds *cr;

	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"down\": null, \"creds_ttl\": 3600, \"rotate_before\": null}");
	fake_cmd(&fk, "imds clear");
	start(&r, NULL);
	CHECK_INT(r.rc, 0);
	cr = creds_chain_current(r.c);
	CHECK(cr != NULL);
	if (cr) {
		CHECK_STR(cr->source, "instance-metadata");
		CHECK_STR(cr->access_key_id, last_akid("imds"));
		CHECK(strncmp(cr->secret_access_key, "secret/asiafakeimds", 19) == 0);
		CHECK(strncmp(cr->session_token, "token-ASIAFAKEIMDS", 18) == 0);
		CHECK(cr->expiration_ms > clock_wall_ms() + 3500 * 1000LL);
	}
	CHECK_STR(fake_cmd(&fk, "imds first"), "PUT /latest/api/token");
	CHECK_INT(fake_count(&fk, "imds tokenless"), 0);
	CHECK_INT(fake_count(&fk, "imds count PUT"), 1);
	CHECK_INT(fake_count(&fk, "imds count GET"), 2);
	stop(&r);

	/* Disabled: said so in the one error line. */
	env_base(&r.env);
	env_set(&r.env, "AWS_EC2_METADATA_DISABLED", "true");
	fake_cmd(&fk, "imds clear");
	start(&r, NULL);
	CHECK_INT(r.rc, -1);
	CHECK_STR(r.err,
		  "creds: no credentials found (environment: AWS_ACCESS_KEY_ID and "
		  "AWS_SECRET_ACCESS_KEY not set; shared-credentials-file: no file "
		  "/nonexistent/.aws/credentials; shared-config-file: no file "
		  "/nonexistent/.aws/config; web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set; "
		  "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set; "
		  "instance-metadata: disabled by AWS_EC2_METADATA_DISABLED)");
	CHECK(creds_chain_current(r.c) == NULL);
	CHECK(creds_chain_imds(r.c) == NULL);
	CHECK_INT(fake_count(&fk, "imds count *"), 0);
	stop(&r);

	/* No role attached, or the service unreachable: "not found", with the reason. */
	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"role\": null}");
	start(&r, NULL);
	CHECK_INT(r.rc, -1);
	CHECK(strstr(r.err, "; instance-metadata: no IAM role is attached to this instance (HTTP "
			    "404 on /latest/meta-data/iam/security-credentials/))") != NULL);
	stop(&r);
	fake_cmd(&fk, "imds set {\"role\": \"s3statusd-role\"}");

	env_base(&r.env);
	env_set(&r.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
	start(&r, NULL);
	CHECK_INT(r.rc, -1);
	CHECK(strstr(r.err, "; instance-metadata: cannot reach http://127.0.0.1:9: ") != NULL);
	stop(&r);

	/* A malformed endpoint setting is refused, not skipped. */
	env_base(&r.env);
	env_set(&r.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254");
	start(&r, NULL);
	CHECK_STR(r.err, "creds: instance-metadata: the instance metadata endpoint must be an "
			 "http:// or https:// URL");
	stop(&r);

	/* A bad document from the service. */
	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"creds_override\": {\"Code\": \"Success\", \"AccessKeyId\": "
		      "\"ASIAX\", \"SecretAccessKey\": \"SECRETVALUE\", \"Token\": \"t\", "
		      "\"Expiration\": \"never\"}}");
	start(&r, NULL);
	CHECK(strstr(r.err, "instance-metadata: GET /latest/meta-data/iam/security-credentials/"
			    "(role): Expiration is not an RFC 3339 time ('never'))") != NULL);
	stop(&r);
	fake_cmd(&fk, "imds set {\"creds_override\": null}");
}

/* Credentials that expire within seconds are replaced before they expire. */
static void test_refresh(void)
{
	struct rig r;
	char first[64];
	int64_t exp1, t0 = clock_wall_ms();

	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"down\": null, \"creds_ttl\": 4, \"rotate_before\": 2.6}");
	fake_cmd(&fk, "imds call rotate");
	start(&r, NULL);
	CHECK_INT(r.rc, 0);
	snprintf(first, sizeof(first), "%s", akid(&r));
	exp1 = creds_chain_current(r.c)->expiration_ms;
	/* Refreshed at about half the remaining life (~2 s), before the expiry. */
	spin(&r, 1000, false);
	CHECK_STR(akid(&r), first);
	CHECK(exp1 < clock_wall_ms() + 5000);
	while (strcmp(akid(&r), first) == 0 && clock_wall_ms() < exp1 &&
	       clock_wall_ms() < t0 + 6000)
		spin(&r, 100, false);
	CHECK(strcmp(akid(&r), first) != 0);
	CHECK(clock_wall_ms() < exp1);
	CHECK_STR(akid(&r), last_akid("imds"));
	CHECK_STR(source(&r), "instance-metadata");
	CHECK_INT(fake_count(&fk, "imds tokenless"), 0);
	stop(&r);
}

/* The source goes down after the first fetch: the last credentials stay in
 * use past their expiry, refreshes keep being retried, and the new ones are
 * taken as soon as it is back. */
static void test_outage_keeps_last(void)
{
	struct rig r;
	char first[64];
	int64_t exp1, t0;
	long gets_during;

	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"down\": null, \"creds_ttl\": 3, \"rotate_before\": 2}");
	fake_cmd(&fk, "imds call rotate");
	start(&r, NULL);
	CHECK_INT(r.rc, 0);
	CHECK(creds_chain_current(r.c) &&
	      creds_chain_current(r.c)->expiration_ms < clock_wall_ms() + 4000);
	snprintf(first, sizeof(first), "%s", akid(&r));
	exp1 = creds_chain_current(r.c)->expiration_ms;
	fake_cmd(&fk, "imds set {\"down\": \"500\"}");
	fake_cmd(&fk, "imds clear");
	t0 = clock_wall_ms();
	while (clock_wall_ms() < exp1 + 1500 && clock_wall_ms() < t0 + 6000)
		spin(&r, 200, false);
	CHECK_STR(akid(&r), first); /* expired, still current */
	gets_during = fake_count(&fk, "imds count GET");
	CHECK(gets_during >= 2 * 3); /* at least two refreshes of three attempts */
	CHECK(gets_during <= 6 * 3); /* with backoff, not a busy loop */
	fake_cmd(&fk, "imds set {\"down\": null}");
	t0 = clock_wall_ms();
	while (strcmp(akid(&r), first) == 0 && clock_wall_ms() < t0 + 8000)
		spin(&r, 100, false);
	CHECK(strcmp(akid(&r), first) != 0);
	CHECK_STR(akid(&r), last_akid("imds"));
	stop(&r);

	/* With the connection closed instead of 500s. */
	env_base(&r.env);
	fake_cmd(&fk, "imds set {\"down\": null, \"creds_ttl\": 3, \"rotate_before\": 2}");
	fake_cmd(&fk, "imds call rotate");
	start(&r, NULL);
	snprintf(first, sizeof(first), "%s", akid(&r));
	fake_cmd(&fk, "imds set {\"down\": \"close\"}");
	spin(&r, 3500, false);
	CHECK_STR(akid(&r), first);
	fake_cmd(&fk, "imds set {\"down\": null}");
	t0 = clock_wall_ms();
	while (strcmp(akid(&r), first) == 0 && clock_wall_ms() < t0 + 8000)
		spin(&r, 100, false);
	CHECK(strcmp(akid(&r), first) != 0);
	stop(&r);
	fake_cmd(&fk, "imds set {\"creds_ttl\": 3600, \"rotate_before\": null}");
	fake_cmd(&fk, "imds call rotate");
}

static void test_container(void)
{
	struct rig r;

	snprintf(ecs_url, sizeof(ecs_url), "%s/v2/credentials/7f3c1a9e-0d4b-4d1f-9d7e-2b6c6a1f0e11",
		 fk.ecs);
	fake_cmd(&fk, "ecs set {\"token\": \"" ECS_TOKEN "\", \"down\": null}");
	fake_cmd(&fk, "ecs clear");
	fake_cmd(&fk, "imds clear");

	/* FULL_URI with the token in the environment. */
	env_base(&r.env);
	env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url);
	env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN);
	start(&r, NULL);
	CHECK_INT(r.rc, 0);
	CHECK_STR(source(&r), "container");
	CHECK_STR(akid(&r), last_akid("ecs"));
	CHECK_STR(fake_cmd(&fk, "ecs header -1 Authorization"), ECS_TOKEN);
	CHECK_INT(fake_count(&fk, "imds count * /latest/meta-data/iam"), 0);
	stop(&r);

	/* ... from a token file (EKS Pod Identity), which wins over the variable. */
	write_file(ecs_token_path, ECS_TOKEN "\n", 0600);
	env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong");
	env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", ecs_token_path);
	start(&r, NULL);
	CHECK_INT(r.rc, 0);
	CHECK_STR(fake_cmd(&fk, "ecs header -1 Authorization"), ECS_TOKEN);
	stop(&r);

	/* A wrong token: refused by the endpoint, no fall-through to IMDS. */
	env_base(&r.env);
	env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url);
	env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic WRONGTOKEN");
	start(&r, NULL);
	CHECK_INT(r.rc, -1);
	{
		char want[512];

		snprintf(want, sizeof(want),
			 "creds: container: GET %s: HTTP 401 (is the authorization token right?)",
			 ecs_url);
		CHECK_STR(r.err, want);
	}
	stop(&r);

	/* Settings refused before any request. */
	{
		static const struct {
			const char *var, *value, *err;
		} rows[] = {
		    {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.169.254/creds",
		     "creds: container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or "
		     "http:// to 169.254.170.2, 169.254.170.23, [fd00:ec2::23] or a loopback "
		     "address"},
		    {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1.example.com/x",
		     "creds: container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or "
		     "http:// to 169.254.170.2, 169.254.170.23, [fd00:ec2::23] or a loopback "
		     "address"},
		    {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/x",
		     "creds: container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or "
		     "http:// to 169.254.170.2, 169.254.170.23, [fd00:ec2::23] or a loopback "
		     "address"},
		    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials",
		     "creds: container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with "
		     "'/'"},
		    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/a b",
		     "creds: container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI holds spaces or "
		     "control characters"},
		};
		size_t i;

		for (i = 0; i < ARRAY_SIZE(rows); i++) {
			env_base(&r.env);
			env_set(&r.env, rows[i].var, rows[i].value);
			start(&r, NULL);
			CHECK_STR(r.err, rows[i].err);
			stop(&r);
		}
		env_base(&r.env);
		env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url);
		env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic x\r\nX-Injected: 1");
		start(&r, NULL);
		CHECK_STR(r.err,
			  "creds: container: AWS_CONTAINER_AUTHORIZATION_TOKEN holds control "
			  "characters");
		stop(&r);
		env_base(&r.env);
		env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url);
		env_set(&r.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/token");
		start(&r, NULL);
		CHECK_STR(r.err,
			  "creds: container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
			  "/nonexistent/token: No such file or directory");
		stop(&r);
	}

	/* The relative URI goes to the ECS agent's address (not reachable here). */
	env_base(&r.env);
	env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
	env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url); /* relative wins */
	start(&r, NULL);
	CHECK_INT(r.rc, -1);
	/* Whatever answers there (nothing, or a sandbox's filter), the relative URI went to it. */
	CHECK(strncmp(r.err, "creds: container: ", 18) == 0);
	CHECK(strstr(r.err, "http://169.254.170.2/v2/credentials/abc") != NULL);
	stop(&r);
}

static void test_web_identity(void)
{
	struct rig r;
	char sts[96];

	write_file(token_path, WI_TOKEN "\n", 0600);
	fake_cmd(&fk, "sts set {\"role_arn\": \"" ROLE_ARN "\", \"token\": \"" WI_TOKEN "\", "
		      "\"fail_code\": null, \"down\": null}");
	fake_cmd(&fk, "sts clear");
	fake_cmd(&fk, "imds clear");
	env_base(&r.env);
	env_set(&r.env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
	env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
	env_set(&r.env, "AWS_ROLE_SESSION_NAME", "batch-1@node.example");
	start(&r, fk.sts);
	CHECK_INT(r.rc, 0);
	CHECK_STR(source(&r), "web-identity");
	CHECK_STR(akid(&r), last_akid("sts"));
	CHECK(creds_chain_current(r.c) &&
	      creds_chain_current(r.c)->expiration_ms > clock_wall_ms() + 3000 * 1000LL);
	CHECK_STR(fake_cmd(&fk, "sts first"), "POST /");
	CHECK_STR(fake_cmd(&fk, "sts header 0 Content-Type"),
		  "application/x-www-form-urlencoded; charset=utf-8");
	CHECK_STR(fake_cmd(&fk, "sts header 0 Authorization"), "(none)");
	CHECK_INT(fake_count(&fk, "imds count * /latest/meta-data/iam"), 0);
	stop(&r);

	/* A default session name; an STS endpoint with a base path is fine too. */
	env_base(&r.env);
	env_set(&r.env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
	env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
	start(&r, fk.sts);
	CHECK_INT(r.rc, 0);
	stop(&r);

	/* Refused by STS: retried (InvalidIdentityToken may pass), then one line
	 * that never shows the token. */
	write_file(token_path, "not-the-right-token-" WI_TOKEN, 0600);
	fake_cmd(&fk, "sts clear");
	start(&r, fk.sts);
	CHECK_INT(r.rc, -1);
	snprintf(sts, sizeof(sts), "%s/", fk.sts);
	{
		char want[512];

		snprintf(want, sizeof(want),
			 "creds: web-identity: AssumeRoleWithWebIdentity for " ROLE_ARN
			 " at %s: InvalidIdentityToken: Couldn't verify the token",
			 sts);
		CHECK_STR(r.err, want);
	}
	CHECK_INT(fake_count(&fk, "sts count POST"), 3);
	stop(&r);
	write_file(token_path, WI_TOKEN, 0600);

	/* AccessDenied is final at once. */
	fake_cmd(&fk, "sts set {\"fail_code\": \"AccessDenied\", \"fail_status\": 403}");
	fake_cmd(&fk, "sts clear");
	start(&r, fk.sts);
	CHECK(strstr(r.err, ": AccessDenied: injected by the fake") != NULL);
	CHECK_INT(fake_count(&fk, "sts count POST"), 1);
	stop(&r);
	/* An answer that echoes the token: the error line does not. */
	fake_cmd(&fk, "sts set {\"fail_message\": \"token {token} is not for {token}\"}");
	start(&r, fk.sts);
	CHECK(strstr(r.err, ": AccessDenied (the answer quoted the web identity token: message "
			    "withheld)") != NULL);
	CHECK(strstr(r.err, "WEBIDENTITYTOKENSIG") == NULL);
	stop(&r);
	fake_cmd(&fk, "sts set {\"fail_code\": null, \"fail_message\": \"injected by the fake\"}");

	/* Configuration problems. */
	env_base(&r.env);
	env_set(&r.env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
	start(&r, fk.sts);
	CHECK_STR(r.err, "creds: web-identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN "
			 "is not");
	stop(&r);
	env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
	start(&r, NULL);
	CHECK_STR(r.err, "creds: web-identity: no STS endpoint is known (set a region, or "
			 "AWS_ENDPOINT_URL_STS)");
	stop(&r);
	env_set(&r.env, "AWS_ROLE_SESSION_NAME", "a b");
	start(&r, fk.sts);
	CHECK_STR(r.err, "creds: web-identity: AWS_ROLE_SESSION_NAME must be 2 to 64 characters of "
			 "A-Z a-z 0-9 _+=,.@-");
	stop(&r);
	env_base(&r.env);
	env_set(&r.env, "AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
	env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
	start(&r, fk.sts);
	CHECK_STR(r.err, "creds: web-identity: cannot read AWS_WEB_IDENTITY_TOKEN_FILE "
			 "/nonexistent/token: No such file or directory");
	stop(&r);
	/* AWS_ROLE_ARN alone is not web identity. */
	env_base(&r.env);
	env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
	env_set(&r.env, "AWS_EC2_METADATA_DISABLED", "true");
	start(&r, fk.sts);
	CHECK(strstr(r.err, "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set;") != NULL);
	stop(&r);
}

/* environment > shared files > web identity > container > instance metadata */
static void test_precedence(void)
{
	static const struct {
		int level; /* sources configured: this one and all after it */
		const char *source;
	} rows[] = {
	    {0, "environment"}, {1, "shared-credentials-file"}, {2, "web-identity"},
	    {3, "container"},	{4, "instance-metadata"},
	};
	size_t i;

	write_file(cred_path,
		   "[default]\naws_access_key_id = AKIDFILE\n"
		   "aws_secret_access_key = SECRETVALUEFILE\n",
		   0600);
	write_file(token_path, WI_TOKEN, 0600);
	fake_cmd(&fk, "ecs set {\"token\": null}");
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct rig r;

		env_base(&r.env);
		if (rows[i].level <= 0) {
			env_set(&r.env, "AWS_ACCESS_KEY_ID", "AKIDENV");
			env_set(&r.env, "AWS_SECRET_ACCESS_KEY", "SECRETVALUEENV");
		}
		if (rows[i].level <= 1)
			env_set(&r.env, "AWS_SHARED_CREDENTIALS_FILE", cred_path);
		if (rows[i].level <= 2) {
			env_set(&r.env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
			env_set(&r.env, "AWS_ROLE_ARN", ROLE_ARN);
		}
		if (rows[i].level <= 3)
			env_set(&r.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_url);
		start(&r, fk.sts);
		CHECK_INT(r.rc, 0);
		CHECK_STR(source(&r), rows[i].source);
		/* Static credentials are never refreshed: nothing armed, nothing asked. */
		stop(&r);
	}
}

/* Restart, free while fetching, free inside the callback. */
static void on_done_free(int rc, const char *err, void *arg)
{
	struct rig *r = arg;

	on_done(rc, err, arg);
	creds_chain_free(r->c);
	r->c = NULL;
}

static void test_lifecycle(void)
{
	struct rig r;
	struct creds_env ce = {env_lookup, &r.env};
	struct creds_async_options o;
	struct buf err;

	env_base(&r.env);
	r.l = loop_new();
	r.h = http_new(r.l, NULL);
	r.c = creds_chain_new(&ce);
	o = (struct creds_async_options){.loop = r.l, .http = r.h};
	buf_init(&err, 0);
	/* Before attach: an error at once. */
	r.done = 0;
	creds_chain_start(r.c, NULL, on_done, &r);
	CHECK_INT(r.done, 1);
	CHECK_STR(r.err, "creds: creds_chain_start() before creds_chain_attach()");
	CHECK_INT(creds_chain_attach(r.c, &o, &err), 0);
	CHECK(creds_chain_imds(r.c) != NULL);
	CHECK(creds_chain_imds(NULL) == NULL);
	/* Started twice: only the second one answers. */
	r.done = 0;
	creds_chain_start(r.c, NULL, on_done, &r);
	creds_chain_start(r.c, NULL, on_done, &r);
	spin(&r, 5000, true);
	spin(&r, 300, false);
	CHECK_INT(r.done, 1);
	CHECK_INT(r.rc, 0);
	/* Freed while a fetch is in flight: no callback. */
	r.done = 0;
	creds_chain_start(r.c, NULL, on_done, &r);
	creds_chain_free(r.c);
	spin(&r, 300, false);
	CHECK_INT(r.done, 0);
	/* Freed from its own callback. */
	r.c = creds_chain_new(&ce);
	CHECK_INT(creds_chain_attach(r.c, &o, &err), 0);
	creds_chain_start(r.c, NULL, on_done_free, &r);
	spin(&r, 5000, true);
	CHECK_INT(r.done, 1);
	CHECK(r.c == NULL);
	http_free(r.h);
	loop_free(r.l);
	buf_free(&err);
}

/* Whatever was logged at debug level holds no secret and no token. */
static void check_log(void)
{
	static const char *const secrets[] = {"secret/asiafake", "token-ASIAFAKE",
					      "AQAEA",		 "WEBIDENTITYTOKENSIG",
					      "ECSAUTHTOKEN",	 "SECRETVALUE"};
	char *data = NULL;
	size_t len = 0, i;
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char chunk[4096];
	ssize_t n;

	buf_init(&b, 0);
	while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	if (fd >= 0)
		close(fd);
	data = buf_steal(&b, &len);
	CHECK(len > 0 && strstr(data, "creds: refreshed credentials from instance-metadata"));
	CHECK(strstr(data, "creds: refreshing credentials from instance-metadata failed") != NULL);
	for (i = 0; i < ARRAY_SIZE(secrets); i++) {
		check_count++;
		if (strstr(data, secrets[i])) {
			check_failures++;
			fprintf(stderr, "the log holds '%s'\n", secrets[i]);
		}
	}
	if (check_failures) /* CHECK lines went to the log too */
		fprintf(stderr, "---- log ----\n%s----\n", data);
	free(data);
}

int main(void)
{
	int log_fd, saved_err;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((log_fd = mkstemp(log_path)) < 0 || close(mkstemp(token_path)) != 0 ||
	    close(mkstemp(ecs_token_path)) != 0 || close(mkstemp(cred_path)) != 0)
		fake_die("mkstemp");
	fake_start(&fk);
	/* Every log line of the chain goes to a file that is checked at the end. */
	saved_err = dup(2);
	dup2(log_fd, 2);
	log_setup(LOG_LVL_DEBUG, LOG_FMT_TEXT);
	test_instance_metadata();
	test_refresh();
	test_outage_keeps_last();
	test_container();
	test_web_identity();
	test_precedence();
	test_lifecycle();
	dup2(saved_err, 2);
	close(saved_err);
	close(log_fd);
	check_log();
	fake_stop(&fk);
	unlink(log_path);
	unlink(token_path);
	unlink(ecs_token_path);
	unlink(cred_path);
	curl_global_cleanup();
	return check_done("test_creds_async");
}
