/* creds_sts.c - the web identity provider: the token in
 * AWS_WEB_IDENTITY_TOKEN_FILE exchanged for role credentials with an
 * unsigned STS AssumeRoleWithWebIdentity call (Query protocol, XML answer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "creds_internal.h"
#include "creds_parse.h"
#include "log.h"

#define STS_TIMEOUT_MS	   10000
#define STS_ATTEMPTS	   3
#define STS_RETRY_BASE_MS  500
#define STS_MAX_TOKEN_FILE (64 * 1024)

struct sts {
	struct loop *loop;
	struct http *http;
	char *token_file, *role_arn, *session_name, *url;
	struct http_xfer *xfer;
	struct loop_timer *timer; /* next attempt */
	int attempts;
	uint64_t rng;
	/* Secrets of the attempt in flight, wiped when it ends. */
	char *token;
	char *body;
	size_t body_cap;
	creds_fetch_cb cb;
	void *arg;
};

/* RoleSessionName: [\w+=,.@-]{2,64}. */
static bool session_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_+=,.@-", s[i])))
			return false;
	return true;
}

static bool printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i > 0;
}

static void wipe_attempt(struct sts *st)
{
	secret_free(st->token);
	st->token = NULL;
	if (st->body) {
		secure_wipe(st->body, st->body_cap);
		free(st->body);
	}
	st->body = NULL;
	st->body_cap = 0;
}

/* form-urlencode (RFC 3986 unreserved kept) s into dst at *pos. */
static void form_add(char *dst, size_t *pos, const char *name, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t p = *pos;

	if (p)
		dst[p++] = '&';
	memcpy(dst + p, name, strlen(name));
	p += strlen(name);
	dst[p++] = '=';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			dst[p++] = (char)c;
		} else {
			dst[p++] = '%';
			dst[p++] = hex[c >> 4];
			dst[p++] = hex[c & 15];
		}
	}
	dst[p] = '\0';
	*pos = p;
}

static void on_answer(struct http_response *resp, void *arg);

/* One attempt: read the token (it may have been rotated), POST. 0, or -1
 * with err when nothing could be sent. */
static int attempt(struct sts *st, struct buf *err)
{
	static const struct http_header hdrs[] = {
	    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
	    {"Accept", "application/xml"},
	};
	struct http_request req = {0};
	char *data = NULL;
	size_t len = 0, pos = 0;

	wipe_attempt(st);
	if (creds_read_secret_file(st->token_file, STS_MAX_TOKEN_FILE, &data, &len) != 0) {
		buf_addf(err, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE %s: %s", st->token_file,
			 errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
			   data[len - 1] == '\t'))
		data[--len] = '\0';
	if (len == 0 || strlen(data) != len) {
		buf_addf(err, "AWS_WEB_IDENTITY_TOKEN_FILE %s holds no token", st->token_file);
		secure_wipe(data, len);
		free(data);
		return -1;
	}
	st->token = data;
	st->body_cap = 200 + 3 * (strlen(st->role_arn) + strlen(st->session_name) + len);
	st->body = xmalloc(st->body_cap);
	form_add(st->body, &pos, "Action", "AssumeRoleWithWebIdentity");
	form_add(st->body, &pos, "Version", "2011-06-15");
	form_add(st->body, &pos, "RoleArn", st->role_arn);
	form_add(st->body, &pos, "RoleSessionName", st->session_name);
	form_add(st->body, &pos, "WebIdentityToken", st->token);
	req = (struct http_request){
	    .method = "POST",
	    .url = st->url,
	    .headers = hdrs,
	    .nheaders = ARRAY_SIZE(hdrs),
	    .body = st->body,
	    .body_len = pos,
	    .timeout_ms = STS_TIMEOUT_MS,
	    .max_response = CREDS_MAX_DOC,
	};
	st->attempts++;
	st->xfer = http_start(st->http, &req, on_answer, st);
	if (!st->xfer) {
		wipe_attempt(st);
		buf_addf(err, "cannot start a transfer to %s", st->url);
		return -1;
	}
	return 0;
}

static bool retryable(const struct http_response *resp, const char *code)
{
	static const char *const codes[] = {
	    "IDPCommunicationError", "InvalidIdentityToken", "Throttling",
	    "ThrottlingException",   "RequestLimitExceeded", "ServiceUnavailable",
	    "InternalFailure",	     "InternalError"};
	size_t i;

	if (resp->curl_code != 0 || resp->status >= 500 || resp->status == 429)
		return true;
	for (i = 0; i < ARRAY_SIZE(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

static void on_answer(struct http_response *resp, void *arg)
{
	struct sts *st = arg;
	struct aws_creds got = {0};
	struct buf why, code, line;
	creds_fetch_cb cb = st->cb;

	st->xfer = NULL;
	buf_init(&why, 0);
	buf_init(&code, 0);
	buf_init(&line, 0);
	if (resp->curl_code != 0) {
		buf_addf(&why, "cannot reach %s: %s", st->url, resp->error);
	} else if (creds_parse_sts(resp->body.data, resp->body.len, &got, &code, &why) == 0) {
		if (resp->status == 200)
			goto done;
		aws_creds_clear(&got);
		buf_reset(&why);
		buf_addf(&why, "HTTP %ld", resp->status);
	} else if (resp->status != 200 && !code.len) {
		buf_reset(&why);
		buf_addf(&why, "HTTP %ld", resp->status);
	}
	if (retryable(resp, buf_str(&code)) && st->attempts < STS_ATTEMPTS) {
		log_debug("creds: AssumeRoleWithWebIdentity attempt %d failed (%s); retrying",
			  st->attempts, resp->curl_code ? "no answer" : buf_str(&code));
		loop_timer_arm(st->timer,
			       creds_backoff_ms(&st->rng, st->attempts, STS_RETRY_BASE_MS, 4000));
		goto out;
	}
	/* A peer that quotes the token back gets its message withheld (it could
	 * also be cut mid-token, so replacing the token would not be enough). */
	if (resp->body.data && st->token &&
	    memmem(resp->body.data, resp->body.len, st->token, strlen(st->token))) {
		buf_reset(&why);
		buf_addf(&why, "%s (the answer quoted the web identity token: message withheld)",
			 code.len ? buf_str(&code) : "error");
	}
	buf_addf(&line, "AssumeRoleWithWebIdentity for %s at %s: %s", st->role_arn, st->url,
		 buf_str(&why));
done:
	wipe_attempt(st);
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	st->cb = NULL;
	cb(line.len ? NULL : &got, line.len ? buf_str(&line) : NULL, st->arg);
	aws_creds_clear(&got);
	buf_free(&why);
	buf_free(&code);
	buf_free(&line);
	return;
out:
	wipe_attempt(st);
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	buf_free(&why);
	buf_free(&code);
	buf_free(&line);
}

static void on_timer(struct loop *l, void *arg)
{
	struct sts *st = arg;
	creds_fetch_cb cb = st->cb;
	struct buf err;

	(void)l;
	buf_init(&err, 0);
	if (attempt(st, &err) < 0) {
		st->cb = NULL;
		cb(NULL, buf_str(&err), st->arg);
	}
	buf_free(&err);
}

static int sts_fetch(void *state, creds_fetch_cb cb, void *arg, struct buf *err)
{
	struct sts *st = state;

	st->cb = cb;
	st->arg = arg;
	st->attempts = 0;
	if (attempt(st, err) < 0) {
		st->cb = NULL;
		return -1;
	}
	return 0;
}

static void sts_cancel(void *state)
{
	struct sts *st = state;

	http_cancel(st->xfer);
	st->xfer = NULL;
	loop_timer_cancel(st->timer);
	wipe_attempt(st);
	st->cb = NULL;
}

static void sts_free(void *state)
{
	struct sts *st = state;

	if (!st)
		return;
	sts_cancel(st);
	loop_timer_free(st->timer);
	free(st->token_file);
	free(st->role_arn);
	free(st->session_name);
	free(st->url);
	free(st);
}

static int sts_configure(const struct creds_env *env, const struct creds_io *io, void **state,
			 struct buf *why)
{
	const char *file = creds_getenv(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = creds_getenv(env, "AWS_ROLE_ARN");
	const char *name = creds_getenv(env, "AWS_ROLE_SESSION_NAME");
	struct sts *st;

	if (!file) {
		buf_adds(why, "AWS_WEB_IDENTITY_TOKEN_FILE not set");
		return CREDS_NONE;
	}
	if (!role) {
		buf_adds(why, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
		return CREDS_REFUSED;
	}
	if (strncmp(role, "arn:", 4) != 0 || !printable(role, 2048)) {
		buf_adds(why, "AWS_ROLE_ARN is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
		return CREDS_REFUSED;
	}
	if (name && !session_name_ok(name)) {
		buf_adds(why, "AWS_ROLE_SESSION_NAME must be 2 to 64 characters of "
			      "A-Z a-z 0-9 _+=,.@-");
		return CREDS_REFUSED;
	}
	if (!io->sts_endpoint) {
		buf_adds(why, "no STS endpoint is known (set a region, or AWS_ENDPOINT_URL_STS)");
		return CREDS_REFUSED;
	}
	st = xcalloc(1, sizeof(*st));
	st->loop = io->loop;
	st->http = io->http;
	st->token_file = xstrdup(file);
	st->role_arn = xstrdup(role);
	st->session_name =
	    name ? xstrdup(name) : xasprintf("s3statusd-%lld", (long long)(clock_wall_ms() / 1000));
	st->url = xasprintf("%s/", io->sts_endpoint);
	st->timer = loop_timer_new(io->loop, on_timer, st);
	st->rng = creds_rand_seed(st);
	*state = st;
	return CREDS_OK;
}

const struct creds_source creds_web_identity_source = {
	.name = "web-identity",
	.configure = sts_configure,
	.fetch = sts_fetch,
	.cancel = sts_cancel,
	.free = sts_free,
	.failure_is_absence = false,
};
