/* creds_ecs.c - the container credentials provider: ECS task roles
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI at 169.254.170.2) and full URIs
 * (EKS Pod Identity, local servers) with an authorization token. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds_internal.h"
#include "creds_parse.h"
#include "log.h"

#define ECS_HOST	  "http://169.254.170.2"
#define ECS_TIMEOUT_MS	  2000
#define ECS_ATTEMPTS	  3
#define ECS_RETRY_BASE_MS 200
#define ECS_MAX_TOKEN	  16384

struct ecs {
	struct http *http;
	char *url;
	char *shown_url;  /* for messages: without the query */
	char *token;	  /* AWS_CONTAINER_AUTHORIZATION_TOKEN (secret) */
	char *token_file; /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read at every fetch */
	char *sent_token; /* the attempt's token (secret), wiped when it ends */
	struct http_xfer *xfer;
	struct loop_timer *timer;
	int attempts;
	uint64_t rng;
	creds_fetch_cb cb;
	void *arg;
};

/* Header-safe token: printable ASCII and spaces, no CR/LF. */
static bool token_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ECS_MAX_TOKEN)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* The host of an http(s) URL, as [v6] or name/IPv4, into out. */
static void url_host(const char *url, struct buf *out)
{
	const char *p = strstr(url, "://"), *e;

	buf_reset(out);
	if (!p)
		return;
	p += 3;
	if ((e = strchr(p, '@')) && e < p + strcspn(p, "/?#")) /* userinfo */
		p = e + 1;
	if (*p == '[') {
		e = strchr(p, ']');
		if (e)
			buf_add(out, p, (size_t)(e - p) + 1);
		return;
	}
	buf_add(out, p, strcspn(p, ":/?#"));
}

/* 127.0.0.0/8 written as a dotted quad. */
static bool loopback_v4(const char *s)
{
	int part, digits, value;

	for (part = 0; part < 4; part++) {
		for (digits = 0, value = 0; s[digits] >= '0' && s[digits] <= '9'; digits++)
			value = value * 10 + (s[digits] - '0');
		if (digits == 0 || digits > 3 || value > 255 || (part == 0 && value != 127))
			return false;
		s += digits;
		if (part < 3 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* Plain http is only for the ECS/EKS agents and this host (as the SDKs). */
static bool http_host_allowed(const char *host)
{
	static const char *const allowed[] = {"169.254.170.2", "169.254.170.23", "[fd00:ec2::23]",
					      "localhost", "[::1]"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(allowed); i++)
		if (strcasecmp(host, allowed[i]) == 0)
			return true;
	return loopback_v4(host);
}

static void wipe_attempt(struct ecs *e)
{
	secret_free(e->sent_token);
	e->sent_token = NULL;
}

static void on_answer(struct http_response *resp, void *arg);

static int attempt(struct ecs *e, struct buf *err)
{
	struct http_header h = {"Authorization", NULL};
	struct http_request req = {
	    .method = "GET",
	    .url = e->url,
	    .timeout_ms = ECS_TIMEOUT_MS,
	    .max_response = CREDS_MAX_DOC,
	};
	char *data = NULL;
	size_t len = 0;

	wipe_attempt(e);
	if (e->token_file) {
		if (creds_read_secret_file(e->token_file, ECS_MAX_TOKEN, &data, &len) != 0) {
			buf_addf(err, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
				 e->token_file,
				 errno == EFBIG ? "larger than 16 KiB" : strerror(errno));
			return -1;
		}
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			data[--len] = '\0';
		if (!token_ok(data, len) || strlen(data) != len) {
			buf_addf(err,
				 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s does not hold a token "
				 "(empty, or control characters)",
				 e->token_file);
			secure_wipe(data, len);
			free(data);
			return -1;
		}
		e->sent_token = data;
	} else if (e->token) {
		e->sent_token = xstrdup(e->token);
	}
	if (e->sent_token) {
		h.value = e->sent_token;
		req.headers = &h;
		req.nheaders = 1;
	}
	e->attempts++;
	e->xfer = http_start(e->http, &req, on_answer, e);
	if (!e->xfer) {
		wipe_attempt(e);
		buf_addf(err, "cannot start a transfer to %s", e->shown_url);
		return -1;
	}
	return 0;
}

static void on_answer(struct http_response *resp, void *arg)
{
	struct ecs *e = arg;
	struct aws_creds got = {0};
	struct buf why, line;
	creds_fetch_cb cb = e->cb;

	e->xfer = NULL;
	wipe_attempt(e);
	buf_init(&why, 0);
	buf_init(&line, 0);
	if (resp->curl_code == 0 && resp->status == 200) {
		if (creds_parse_json(resp->body.data, resp->body.len, &got, &why) < 0)
			buf_addf(&line, "GET %s: %s", e->shown_url, buf_str(&why));
		goto deliver;
	}
	if ((resp->curl_code != 0 || resp->status >= 500 || resp->status == 429) &&
	    e->attempts < ECS_ATTEMPTS) {
		log_debug(
		    "creds: container endpoint attempt %d failed (HTTP %ld, curl %d); retrying",
		    e->attempts, resp->status, resp->curl_code);
		loop_timer_arm(e->timer,
			       creds_backoff_ms(&e->rng, e->attempts, ECS_RETRY_BASE_MS, 2000));
		goto out;
	}
	if (resp->curl_code != 0)
		buf_addf(&line, "cannot reach %s: %s", e->shown_url, resp->error);
	else
		buf_addf(&line, "GET %s: HTTP %ld%s", e->shown_url, resp->status,
			 resp->status == 401 || resp->status == 403
			     ? " (is the authorization token right?)"
			     : "");
deliver:
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	e->cb = NULL;
	cb(line.len ? NULL : &got, line.len ? buf_str(&line) : NULL, e->arg);
	aws_creds_clear(&got);
	buf_free(&why);
	buf_free(&line);
	return;
out:
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	buf_free(&why);
	buf_free(&line);
}

static void on_timer(struct loop *l, void *arg)
{
	struct ecs *e = arg;
	creds_fetch_cb cb = e->cb;
	struct buf err;

	(void)l;
	buf_init(&err, 0);
	if (attempt(e, &err) < 0) {
		e->cb = NULL;
		cb(NULL, buf_str(&err), e->arg);
	}
	buf_free(&err);
}

static int ecs_fetch(void *state, creds_fetch_cb cb, void *arg, struct buf *err)
{
	struct ecs *e = state;

	e->cb = cb;
	e->arg = arg;
	e->attempts = 0;
	if (attempt(e, err) < 0) {
		e->cb = NULL;
		return -1;
	}
	return 0;
}

static void ecs_cancel(void *state)
{
	struct ecs *e = state;

	http_cancel(e->xfer);
	e->xfer = NULL;
	loop_timer_cancel(e->timer);
	wipe_attempt(e);
	e->cb = NULL;
}

static void ecs_free(void *state)
{
	struct ecs *e = state;

	if (!e)
		return;
	ecs_cancel(e);
	loop_timer_free(e->timer);
	free(e->url);
	free(e->shown_url);
	secret_free(e->token);
	free(e->token_file);
	free(e);
}

static int ecs_configure(const struct creds_env *env, const struct creds_io *io, void **state,
			 struct buf *why)
{
	const char *rel = creds_getenv(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = creds_getenv(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *token = creds_getenv(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *token_file = creds_getenv(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	struct buf host;
	struct ecs *e;
	char *url;
	size_t i;

	if (!rel && !full) {
		buf_adds(why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set");
		return CREDS_NONE;
	}
	if (rel) {
		if (rel[0] != '/') {
			buf_adds(why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
			return CREDS_REFUSED;
		}
		url = xasprintf("%s%s", ECS_HOST, rel);
	} else {
		buf_init(&host, 0);
		url_host(full, &host);
		if (strncasecmp(full, "https://", 8) != 0 &&
		    (strncasecmp(full, "http://", 7) != 0 || !http_host_allowed(buf_str(&host)))) {
			buf_adds(why,
				 "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// "
				 "to 169.254.170.2, 169.254.170.23, [fd00:ec2::23] or a loopback "
				 "address");
			buf_free(&host);
			return CREDS_REFUSED;
		}
		buf_free(&host);
		url = xstrdup(full);
	}
	for (i = 0; url[i]; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
			buf_addf(why,
				 "AWS_CONTAINER_CREDENTIALS_%s_URI holds spaces or control "
				 "characters",
				 rel ? "RELATIVE" : "FULL");
			free(url);
			return CREDS_REFUSED;
		}
	if (!token_file && token && !token_ok(token, strlen(token))) {
		buf_adds(why, "AWS_CONTAINER_AUTHORIZATION_TOKEN holds control characters");
		free(url);
		return CREDS_REFUSED;
	}
	e = xcalloc(1, sizeof(*e));
	e->http = io->meta_http;
	e->url = url;
	e->shown_url = xstrndup(url, strcspn(url, "?#"));
	e->token_file = token_file ? xstrdup(token_file) : NULL;
	e->token = !token_file && token ? xstrdup(token) : NULL;
	e->timer = loop_timer_new(io->loop, on_timer, e);
	e->rng = creds_rand_seed(e);
	*state = e;
	return CREDS_OK;
}

const struct creds_source creds_ecs_source = {
	.name = "container",
	.configure = ecs_configure,
	.fetch = ecs_fetch,
	.cancel = ecs_cancel,
	.free = ecs_free,
	.failure_is_absence = false,
};
