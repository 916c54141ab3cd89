/* imds.c - EC2 instance metadata over IMDSv2: one session token shared by
 * every request, fetched with PUT before the first GET and again on 401. */
#include "imds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds_internal.h"
#include "log.h"

/*
 * Requests wait for the token (WAIT_TOKEN), then GET with it (SENDING); a
 * failure that may pass (no connection, timeout, 5xx, 429) waits a little
 * (BACKOFF) and tries again, up to `attempts` times. A 401 means the token
 * is no longer valid: it is dropped and the request waits for a new one (once
 * per request). Results are delivered from the request's own timer or
 * transfer callback, one request per callback frame: the request is unlinked
 * first, so the callback may cancel others or free the client.
 */

enum req_state { RQ_WAIT_TOKEN, RQ_SENDING, RQ_BACKOFF, RQ_DELIVER };

struct imds_req {
	struct imds *m; /* NULL once unlinked */
	struct imds_req *next;
	enum req_state state;
	char *path;
	size_t max_response;
	int attempts;
	bool retokened;
	unsigned token_gen; /* the token the last GET carried */
	imds_cb cb;
	imds_region_cb rcb;
	void *arg;
	struct http_xfer *xfer;
	struct loop_timer *timer;
	char *error; /* RQ_DELIVER: the failure to report */
	long last_status;
};

struct imds {
	struct loop *loop;
	struct http *http;
	char *endpoint;
	long timeout_ms;
	int attempts;
	int64_t ttl_s, retry_base_ms;
	uint64_t rng;
	/* The session token: secret, wiped when dropped. */
	char *token;
	int64_t token_expires; /* loop_now() ms */
	unsigned token_gen;    /* bumped for every new token */
	struct http_xfer *token_xfer;
	struct loop_timer *token_timer;
	int token_attempts;
	struct imds_req *reqs;
};

static void req_send(struct imds_req *r);
static void token_fetch(struct imds *m);

/* ---- environment --------------------------------------------------------- */

bool imds_disabled(const struct creds_env *env)
{
	const char *v = creds_getenv(env, "AWS_EC2_METADATA_DISABLED");

	return v && strcasecmp(v, "true") == 0;
}

char *imds_endpoint_from_env(const struct creds_env *env, struct buf *why)
{
	const char *v = creds_getenv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = creds_getenv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	char *prof = NULL, *out = NULL;
	size_t n;

	if (!v)
		v = prof = aws_profile_config_value(env, "ec2_metadata_service_endpoint");
	if (v) {
		if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
			buf_adds(
			    why,
			    "the instance metadata endpoint must be an http:// or https:// URL");
			goto out;
		}
		out = xstrdup(v);
		n = strlen(out);
		while (n > 8 && out[n - 1] == '/')
			out[--n] = '\0';
		goto out;
	}
	if (!mode)
		mode = prof = aws_profile_config_value(env, "ec2_metadata_service_endpoint_mode");
	if (!mode || strcasecmp(mode, "IPv4") == 0)
		out = xstrdup(IMDS_DEFAULT_ENDPOINT);
	else if (strcasecmp(mode, "IPv6") == 0)
		out = xstrdup(IMDS_DEFAULT_ENDPOINT_IPV6);
	else
		buf_adds(why, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6");
out:
	free(prof);
	return out;
}

/* ---- the token ----------------------------------------------------------- */

static void token_drop(struct imds *m)
{
	secret_free(m->token);
	m->token = NULL;
}

static bool token_valid(struct imds *m)
{
	return m->token && loop_now(m->loop) < m->token_expires;
}

static int64_t backoff_ms(struct imds *m, int attempt)
{
	return creds_backoff_ms(&m->rng, attempt, m->retry_base_ms, 2000);
}

/* Retry-worthy: no answer at all, a server error or throttling. */
static bool transient(const struct http_response *resp)
{
	return resp->curl_code != 0 || resp->status >= 500 || resp->status == 429;
}

/* Fail every request waiting for the token, each from its own timer. */
static void token_failed(struct imds *m, const char *why)
{
	struct imds_req *r;

	for (r = m->reqs; r; r = r->next) {
		if (r->state != RQ_WAIT_TOKEN)
			continue;
		r->state = RQ_DELIVER;
		r->error = xstrdup(why);
		loop_timer_arm(r->timer, 0);
	}
}

static void token_ready(struct imds *m)
{
	struct imds_req *r;

	for (r = m->reqs; r; r = r->next)
		if (r->state == RQ_WAIT_TOKEN)
			req_send(r);
}

static bool token_text_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > IMDS_MAX_TOKEN)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void on_token(struct http_response *resp, void *arg)
{
	struct imds *m = arg;
	const char *ttl_hdr = http_response_header(resp, "x-aws-ec2-metadata-token-ttl-seconds");
	int64_t ttl = m->ttl_s;
	struct buf why;

	m->token_xfer = NULL;
	buf_init(&why, 1024);
	if (resp->status == 200 && resp->curl_code == 0) {
		if (!token_text_ok(resp->body.data, resp->body.len)) {
			buf_adds(&why, "PUT /latest/api/token: the answer is not a token");
			goto failed;
		}
		token_drop(m);
		m->token = xstrndup(resp->body.data, resp->body.len);
		m->token_gen++;
		if (ttl_hdr && parse_i64(ttl_hdr, 1, m->ttl_s, &ttl) != 0)
			ttl = m->ttl_s;
		/* Renewed a minute early (or at half its life when it is short). */
		m->token_expires = loop_now(m->loop) + ttl * 1000 - (ttl > 120 ? 60000 : ttl * 500);
		m->token_attempts = 0;
		log_debug("imds: session token from %s (ttl %lld s)", m->endpoint, (long long)ttl);
		token_ready(m);
		goto out;
	}
	if (transient(resp) && m->token_attempts < m->attempts) {
		log_debug("imds: token attempt %d failed (HTTP %ld, curl %d); retrying",
			  m->token_attempts, resp->status, resp->curl_code);
		loop_timer_arm(m->token_timer, backoff_ms(m, m->token_attempts));
		goto out;
	}
	if (resp->curl_code != 0)
		buf_addf(&why, "cannot reach %s: %s", m->endpoint, resp->error);
	else
		buf_addf(&why, "PUT /latest/api/token: HTTP %ld", resp->status);
	if (resp->status == 403)
		buf_adds(&why, " (IMDSv2 token refused: metadata access is off, or the hop limit "
			       "is too low for a container)");
	else if (resp->status == 404 || resp->status == 405)
		buf_adds(&why, " (no IMDSv2 here; s3statusd never falls back to IMDSv1)");
failed:
	m->token_attempts = 0;
	token_failed(m, buf_str(&why));
out:
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	buf_free(&why);
}

static void token_start(struct imds *m)
{
	char ttl[24];
	struct http_header h = {"X-aws-ec2-metadata-token-ttl-seconds", ttl};
	char *url = xasprintf("%s/latest/api/token", m->endpoint);
	struct http_request req = {
	    .method = "PUT",
	    .url = url,
	    .headers = &h,
	    .nheaders = 1,
	    .timeout_ms = m->timeout_ms,
	    .max_response = IMDS_MAX_TOKEN,
	};

	snprintf(ttl, sizeof(ttl), "%lld", (long long)m->ttl_s);
	m->token_attempts++;
	m->token_xfer = http_start(m->http, &req, on_token, m);
	free(url);
	if (!m->token_xfer) {
		m->token_attempts = 0;
		token_failed(m, "cannot start a transfer to the instance metadata service");
	}
}

static void on_token_timer(struct loop *l, void *arg)
{
	(void)l;
	token_start(arg);
}

static void token_fetch(struct imds *m)
{
	if (m->token_xfer || loop_timer_armed(m->token_timer))
		return;
	token_drop(m);
	token_start(m);
}

/* ---- requests ------------------------------------------------------------ */

static void req_unlink(struct imds_req *r)
{
	struct imds_req **pp;

	if (!r->m)
		return;
	for (pp = &r->m->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->m = NULL;
}

static void req_free(struct imds_req *r)
{
	http_cancel(r->xfer);
	loop_timer_free(r->timer);
	free(r->path);
	free(r->error);
	free(r);
}

static bool region_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 4 || n > 32 || !memchr(s, '-', n))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Hand the result over; r is unlinked first and freed after, and neither r
 * nor its client is touched once the callback ran. */
static void req_deliver(struct imds_req *r, const struct imds_answer *a)
{
	req_unlink(r);
	if (r->rcb) {
		char *region = NULL;
		struct buf why;

		buf_init(&why, 1024);
		if (!a->error && region_ok(a->body, a->len))
			region = xstrndup(a->body, a->len);
		else if (!a->error)
			buf_adds(&why,
				 "GET /latest/meta-data/placement/region: the answer is not a "
				 "region name");
		r->rcb(region, region ? NULL : a->error ? a->error : buf_str(&why), r->arg);
		free(region);
		buf_free(&why);
	} else {
		r->cb(a, r->arg);
	}
	r->xfer = NULL; /* finished: the engine frees it */
	req_free(r);
}

static void on_req_timer(struct loop *l, void *arg)
{
	struct imds_req *r = arg;
	struct imds_answer a = {0};

	(void)l;
	if (r->state == RQ_BACKOFF) {
		if (token_valid(r->m)) {
			req_send(r);
		} else {
			r->state = RQ_WAIT_TOKEN;
			token_fetch(r->m);
		}
		return;
	}
	a.error = r->error;
	a.status = r->last_status;
	req_deliver(r, &a);
}

static void on_get(struct http_response *resp, void *arg)
{
	struct imds_req *r = arg;
	struct imds *m = r->m;
	struct imds_answer a = {0};
	struct buf why;

	r->xfer = NULL;
	r->last_status = resp->status;
	buf_init(&why, 1024);
	if (resp->curl_code == 0 && resp->status == 200) {
		a.status = 200;
		a.body = buf_str(&resp->body);
		a.len = resp->body.len;
		req_deliver(r, &a);
		goto out;
	}
	if (resp->curl_code == 0 && resp->status == 401 && !r->retokened) {
		/* The token expired or the service restarted: a new one, then again. */
		log_debug("imds: 401 on %s: fetching a new token", r->path);
		r->retokened = true;
		if (r->token_gen == m->token_gen || !token_valid(m)) {
			r->state = RQ_WAIT_TOKEN;
			token_drop(m);
			token_fetch(m);
		} else {
			req_send(r); /* another request already renewed it */
		}
		goto out;
	}
	if (transient(resp) && r->attempts < m->attempts) {
		log_debug("imds: GET %s attempt %d failed (HTTP %ld, curl %d); retrying", r->path,
			  r->attempts, resp->status, resp->curl_code);
		r->state = RQ_BACKOFF;
		loop_timer_arm(r->timer, backoff_ms(m, r->attempts));
		goto out;
	}
	if (resp->curl_code != 0)
		buf_addf(&why, "cannot reach %s: %s", m->endpoint, resp->error);
	else
		buf_addf(&why, "GET %s: HTTP %ld", r->path, resp->status);
	a.error = buf_str(&why);
	a.status = resp->status;
	req_deliver(r, &a);
out:
	if (resp->body.data)
		secure_wipe(resp->body.data, resp->body.len);
	buf_free(&why);
}

static void req_send(struct imds_req *r)
{
	struct imds *m = r->m;
	struct http_header h = {"X-aws-ec2-metadata-token", m->token};
	char *url = xasprintf("%s%s", m->endpoint, r->path);
	struct http_request req = {
	    .method = "GET",
	    .url = url,
	    .headers = &h,
	    .nheaders = 1,
	    .timeout_ms = m->timeout_ms,
	    .max_response = r->max_response,
	};

	r->state = RQ_SENDING;
	r->attempts++;
	r->token_gen = m->token_gen;
	r->xfer = http_start(m->http, &req, on_get, r);
	free(url);
	if (!r->xfer) {
		r->state = RQ_DELIVER;
		r->error = xstrdup("cannot start a transfer to the instance metadata service");
		loop_timer_arm(r->timer, 0);
	}
}

static struct imds_req *req_new(struct imds *m, const char *path, size_t max_response)
{
	struct imds_req *r = xcalloc(1, sizeof(*r));

	r->m = m;
	r->path = xstrdup(path);
	r->max_response = max_response ? max_response : 64 * 1024;
	r->timer = loop_timer_new(m->loop, on_req_timer, r);
	r->next = m->reqs;
	m->reqs = r;
	if (token_valid(m)) {
		req_send(r);
	} else {
		r->state = RQ_WAIT_TOKEN;
		token_fetch(m);
	}
	return r;
}

struct imds_req *imds_get(struct imds *m, const char *path, size_t max_response, imds_cb cb,
			  void *arg)
{
	struct imds_req *r;

	r = req_new(m, path, max_response);
	r->cb = cb;
	r->arg = arg;
	return r;
}

struct imds_req *imds_region(struct imds *m, imds_region_cb cb, void *arg)
{
	struct imds_req *r = req_new(m, "/latest/meta-data/placement/region", 256);

	r->rcb = cb;
	r->arg = arg;
	return r;
}

void imds_cancel(struct imds_req *r)
{
	if (!r)
		return;
	req_unlink(r);
	req_free(r);
}

/* ---- the client ---------------------------------------------------------- */

struct imds *imds_new(const struct imds_options *opt)
{
	struct imds *m = xcalloc(1, sizeof(*m));

	m->loop = opt->loop;
	m->http = opt->http;
	m->endpoint = xstrdup(opt->endpoint ? opt->endpoint : IMDS_DEFAULT_ENDPOINT);
	m->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : IMDS_TIMEOUT_MS;
	m->attempts = opt->attempts > 0 ? opt->attempts : IMDS_ATTEMPTS;
	m->ttl_s = opt->token_ttl_s > 0 ? opt->token_ttl_s : IMDS_TOKEN_TTL_S;
	m->retry_base_ms = opt->retry_base_ms > 0 ? opt->retry_base_ms : 100;
	m->rng = creds_rand_seed(m);
	m->token_timer = loop_timer_new(m->loop, on_token_timer, m);
	return m;
}

void imds_free(struct imds *m)
{
	if (!m)
		return;
	while (m->reqs)
		imds_cancel(m->reqs);
	http_cancel(m->token_xfer);
	loop_timer_free(m->token_timer);
	token_drop(m);
	free(m->endpoint);
	free(m);
}

const char *imds_endpoint(const struct imds *m)
{
	return m->endpoint;
}
