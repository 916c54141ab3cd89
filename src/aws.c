/* aws.c - one signed AWS call: builds the wire request, signs every attempt
 * afresh, retries by the common policy on a timer, and decodes error bodies
 * into struct aws_error. */
#include "aws.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "xml.h"

#define AWS_MAX_HEADERS 16
#define AWS_MAX_QUERY 16

struct aws_client {
	struct loop *loop;
	struct http *http;
	struct creds_chain *creds;
	char *region;
	struct retry *retry;
	/* Signing keys, one per service seen (sqs, s3, states, sts). */
	struct sigv4_key_cache keys[4];
	char key_service[4][16];
};

struct aws_call {
	struct aws_client *c;
	aws_done_cb cb;
	void *arg;
	char *service, *method, *scheme, *host, *path, *url;
	struct sigv4_kv query[AWS_MAX_QUERY];
	size_t nquery;
	struct sigv4_kv headers[AWS_MAX_HEADERS];
	size_t nheaders;
	const void *body;
	size_t body_len;
	char payload_hash[SHA256_HEX_LEN + 1];
	long timeout_ms;
	size_t max_response;
	int max_attempts;
	int attempts;
	bool last_was_timeout;
	/* A failure found before anything was sent, delivered from the timer so
	 * the callback never runs inside aws_call_start(). */
	const char *fail_code, *fail_msg;
	struct http_xfer *xfer;
	struct loop_timer *timer;
};

int aws_endpoint_parse(const char *url, struct aws_endpoint *out)
{
	const char *p, *slash;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "https://", 8) == 0) {
		out->scheme = xstrdup("https");
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		out->scheme = xstrdup("http");
		p = url + 7;
	} else {
		return -1;
	}
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || memchr(p, '@', n) || memchr(p, '?', n) || memchr(p, '#', n))
		goto fail;
	out->host = xstrndup(p, n);
	out->path = xstrdup(slash ? slash : "");
	n = strlen(out->path);
	while (n > 0 && out->path[n - 1] == '/')
		out->path[--n] = '\0';
	if (strpbrk(out->path, "?#"))
		goto fail;
	return 0;
fail:
	aws_endpoint_free(out);
	return -1;
}

void aws_endpoint_free(struct aws_endpoint *e)
{
	free(e->scheme);
	free(e->host);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

void aws_error_clear(struct aws_error *e)
{
	free(e->code);
	free(e->message);
	free(e->request_id);
	memset(e, 0, sizeof(*e));
}

char *aws_error_describe(const struct aws_error *e)
{
	if (e->curl_code)
		return xasprintf("%s: %s", e->code ? e->code : "TransportError",
				 e->message ? e->message : "");
	return xasprintf("%s (HTTP %ld): %s", e->code ? e->code : "Unknown", e->http_status,
			 e->message && *e->message ? e->message : "no message");
}

struct aws_client *aws_client_new(const struct aws_client_options *opt)
{
	struct aws_client *c = xcalloc(1, sizeof(*c));

	c->loop = opt->loop;
	c->http = opt->http;
	c->creds = opt->creds;
	c->region = xstrdup(opt->region);
	c->retry = opt->retry;
	return c;
}

void aws_client_free(struct aws_client *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < ARRAY_SIZE(c->keys); i++)
		sigv4_key_cache_wipe(&c->keys[i]);
	free(c->region);
	free(c);
}

static struct sigv4_key_cache *key_cache(struct aws_client *c, const char *service)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c->keys); i++) {
		if (c->key_service[i][0] == '\0') {
			snprintf(c->key_service[i], sizeof(c->key_service[i]), "%s", service);
			return &c->keys[i];
		}
		if (strcmp(c->key_service[i], service) == 0)
			return &c->keys[i];
	}
	return NULL; /* more services than slots: sign without a cache */
}

static void call_free(struct aws_call *call)
{
	size_t i;

	if (!call)
		return;
	loop_timer_free(call->timer);
	for (i = 0; i < call->nquery; i++) {
		free((char *)call->query[i].name);
		free((char *)call->query[i].value);
	}
	for (i = 0; i < call->nheaders; i++) {
		free((char *)call->headers[i].name);
		free((char *)call->headers[i].value);
	}
	free(call->service);
	free(call->method);
	free(call->scheme);
	free(call->host);
	free(call->path);
	free(call->url);
	free(call);
}

/* The URL on the wire: the path encoded exactly as the signer canonicalises
 * it for S3 (once, '/' kept), the query encoded the same way. */
static char *build_url(const struct aws_call *call)
{
	struct buf u;
	size_t i;
	int rc;

	buf_init(&u, 64 * 1024);
	rc = buf_adds(&u, call->scheme);
	rc |= buf_add(&u, "://", 3);
	rc |= buf_adds(&u, call->host);
	rc |= sigv4_uri_encode(&u, call->path, strlen(call->path), true);
	for (i = 0; i < call->nquery; i++) {
		rc |= buf_addc(&u, i == 0 ? '?' : '&');
		rc |= sigv4_uri_encode(&u, call->query[i].name, strlen(call->query[i].name), false);
		rc |= buf_addc(&u, '=');
		rc |= sigv4_uri_encode(&u, call->query[i].value, strlen(call->query[i].value),
				       false);
	}
	if (rc) {
		/* Never send a URL shorter than what the signature covers. */
		buf_free(&u);
		return NULL;
	}
	return buf_steal(&u, NULL);
}

static void on_http_done(struct http_response *resp, void *arg);
static void start_attempt(struct aws_call *call);

static void fail_now(struct aws_call *call, const char *code, const char *msg)
{
	call->fail_code = code;
	call->fail_msg = msg;
	loop_timer_arm(call->timer, 0);
}

static void deliver_failure(struct aws_call *call)
{
	struct aws_response r = {0};

	r.err.cls = ERR_FATAL;
	r.err.code = xstrdup(call->fail_code);
	r.err.message = xstrdup(call->fail_msg);
	r.attempts = call->attempts;
	call->cb(&r, call->arg);
	aws_error_clear(&r.err);
	call_free(call);
}

static void start_attempt(struct aws_call *call)
{
	const struct aws_creds *cr = creds_chain_current(call->c->creds);
	struct sigv4_kv sign_hdrs[AWS_MAX_HEADERS + 2];
	struct http_header hh[AWS_MAX_HEADERS + 4];
	struct sigv4_request sreq;
	struct sigv4_params sp;
	struct sigv4_result sr = {0};
	struct http_request hreq;
	size_t i, nh = 0, ns = 0;

	if (!cr) {
		fail_now(call, "NoCredentials", "no AWS credentials are loaded");
		return;
	}
	if (!call->url) {
		fail_now(call, "RequestTooLarge", "the request URL exceeds 64 KiB");
		return;
	}
	call->attempts++;
	sign_hdrs[ns++] = (struct sigv4_kv){"host", call->host};
	for (i = 0; i < call->nheaders; i++)
		sign_hdrs[ns++] = call->headers[i];
	sreq = (struct sigv4_request){
		.method = call->method, .path = call->path, .query = call->query,
		.nquery = call->nquery, .headers = sign_hdrs, .nheaders = ns,
		.payload_hash = call->payload_hash,
	};
	sp = (struct sigv4_params){
		.access_key = cr->access_key_id, .secret_key = cr->secret_access_key,
		.session_token = cr->session_token, .region = call->c->region,
		.service = call->service, .time_ms = clock_wall_ms(),
		.s3_rules = strcmp(call->service, "s3") == 0,
	};
	if (sigv4_sign(&sreq, &sp, key_cache(call->c, call->service), &sr) < 0) {
		fail_now(call, "RequestTooLarge", "the request is too large to sign");
		return;
	}
	for (i = 0; i < call->nheaders; i++)
		hh[nh++] = (struct http_header){call->headers[i].name, call->headers[i].value};
	hh[nh++] = (struct http_header){"X-Amz-Date", sr.amz_date};
	if (sr.security_token)
		hh[nh++] = (struct http_header){"X-Amz-Security-Token", sr.security_token};
	hh[nh++] = (struct http_header){"Authorization", sr.authorization};
	hreq = (struct http_request){
		.method = call->method, .url = call->url, .headers = hh, .nheaders = nh,
		.body = call->body, .body_len = call->body_len, .timeout_ms = call->timeout_ms,
		.max_response = call->max_response,
	};
	call->xfer = http_start(call->c->http, &hreq, on_http_done, call);
	secure_wipe(sr.authorization, strlen(sr.authorization));
	sigv4_result_free(&sr);
	if (!call->xfer)
		fail_now(call, "RequestRejected", "the HTTP engine refused the request");
}

static void on_timer(struct loop *l, void *arg)
{
	struct aws_call *call = arg;

	(void)l;
	if (call->fail_code)
		deliver_failure(call);
	else
		start_attempt(call);
}

/* Longest error code and message kept from a peer's answer. */
#define AWS_MAX_CODE 128
#define AWS_MAX_MESSAGE 512

/* A peer's error code as a bounded token: it is logged, compared against the
 * retry tables and used as a metrics label, so anything outside
 * A-Z a-z 0-9 . _ : - becomes '_'. NULL for an empty code. */
static char *clean_code(const char *s)
{
	size_t n = strnlen(s, AWS_MAX_CODE), i;
	char *out;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r')) {
		s++;
		n = strnlen(s, AWS_MAX_CODE);
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n == 0)
		return NULL;
	out = xstrndup(s, n);
	for (i = 0; i < n; i++) {
		char c = out[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			out[i] = '_';
	}
	return out;
}

/* A peer's message as one line of at most AWS_MAX_MESSAGE bytes of printable
 * ASCII (AWS messages are English): control characters become spaces, other
 * bytes '?', so a log line stays one valid line in any format. */
static char *clean_message(const char *s)
{
	size_t n = strnlen(s, AWS_MAX_MESSAGE), i;
	char *out = xstrndup(s, n);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20)
			out[i] = ' ';
		else if (c >= 0x7F)
			out[i] = '?';
	}
	return out;
}

/* Code and message from a JSON error body: {"__type":"...#Code","message":"..."}. */
static void parse_json_error(const char *body, size_t len, char **code, char **message)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	struct json_object *o, *v;
	const char *t;

	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return;
	}
	o = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object))
		goto done;
	if ((json_object_object_get_ex(o, "__type", &v) || json_object_object_get_ex(o, "code", &v)) &&
	    json_object_is_type(v, json_type_string)) {
		t = json_object_get_string(v);
		if (strrchr(t, '#'))
			t = strrchr(t, '#') + 1;
		*code = xstrdup(t);
	}
	if ((json_object_object_get_ex(o, "message", &v) ||
	     json_object_object_get_ex(o, "Message", &v)) &&
	    json_object_is_type(v, json_type_string))
		*message = xstrdup(json_object_get_string(v));
done:
	json_object_put(o);
}

/* S3: <Error><Code>; STS/query: <ErrorResponse><Error><Code>. */
static void parse_xml_error(const char *body, size_t len, char **code, char **message,
			    char **request_id)
{
	xmlDocPtr doc = xml_parse(body, len);
	xmlNodePtr root, e;

	if (!doc)
		return;
	root = xmlDocGetRootElement(doc);
	e = strcmp((const char *)root->name, "Error") == 0 ? root : xml_child(root, "Error");
	if (e) {
		*code = xml_child_text(e, "Code");
		*message = xml_child_text(e, "Message");
		*request_id = xml_child_text(e, "RequestId");
	}
	if (!*request_id)
		*request_id = xml_child_text(root, "RequestId");
	xmlFreeDoc(doc);
}

void aws_error_parse_body(const char *body, size_t len, const char *content_type,
			  struct aws_error *err)
{
	char *code = NULL, *message = NULL, *rid = NULL;
	size_t i;

	if (!body)
		body = "";
	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r'); i++)
		;
	if ((i < len && body[i] == '{') || (content_type && strstr(content_type, "json")))
		parse_json_error(body, len, &code, &message);
	else if (i < len && body[i] == '<')
		parse_xml_error(body, len, &code, &message, &rid);
	if (code && !err->code)
		err->code = clean_code(code);
	if (message && !err->message)
		err->message = clean_message(message);
	if (rid && !err->request_id)
		err->request_id = clean_code(rid);
	free(code);
	free(message);
	free(rid);
}

static const char *status_code_name(long status)
{
	switch (status) {
	case 301: return "PermanentRedirect";
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	case 504: return "GatewayTimeout";
	default: return "HTTPError";
	}
}

static void decode_error(const struct http_response *resp, struct aws_error *err)
{
	const char *ct = http_response_header(resp, "content-type");
	const char *rid = http_response_header(resp, "x-amz-request-id");

	err->http_status = resp->status;
	err->curl_code = resp->curl_code;
	if (!rid)
		rid = http_response_header(resp, "x-amzn-requestid");
	if (rid)
		err->request_id = clean_code(rid);
	if (resp->curl_code != CURLE_OK) {
		err->code = xasprintf("%s", resp->curl_code == CURLE_OPERATION_TIMEDOUT ? "Timeout"
					    : resp->curl_code == CURLE_COULDNT_CONNECT ? "ConnectionRefused"
					    : resp->curl_code == CURLE_GOT_NOTHING ? "ConnectionClosed"
					    : resp->curl_code == CURLE_SEND_ERROR ||
							resp->curl_code == CURLE_RECV_ERROR
						    ? "ConnectionReset"
					    : resp->curl_code == CURLE_PEER_FAILED_VERIFICATION
						    ? "TLSCertificateRejected"
					    : resp->curl_code == CURLE_SSL_CACERT_BADFILE ? "TLSCAFileUnusable"
					    : resp->curl_code == CURLE_SSL_CONNECT_ERROR ? "TLSHandshakeFailed"
										 : "TransportError");
		err->message = xasprintf("%s (curl %d)", resp->error ? resp->error : "",
					 resp->curl_code);
		goto classify;
	}
	/* Error text comes from the peer: one bounded printable line each. */
	aws_error_parse_body(resp->body.data, resp->body.len, ct, err);
	if (!err->code)
		err->code = xstrdup(status_code_name(resp->status));
	if (!err->message)
		err->message = xstrdup("");
classify:
	err->cls = retry_classify(resp->status, resp->curl_code, err->code);
}

static void on_http_done(struct http_response *resp, void *arg)
{
	struct aws_call *call = arg;
	struct aws_response r = {0};
	struct retry *rt = call->c->retry;

	call->xfer = NULL;
	r.status = resp->status;
	r.http = resp;
	r.attempts = call->attempts;
	if (resp->curl_code == CURLE_OK && resp->status >= 200 && resp->status < 300) {
		r.ok = true;
		if (rt)
			retry_success(rt, call->attempts > 1, call->last_was_timeout);
		goto deliver;
	}
	decode_error(resp, &r.err);
	call->last_was_timeout = resp->curl_code == CURLE_OPERATION_TIMEDOUT;
	if (call->attempts < call->max_attempts && rt &&
	    retry_take(rt, r.err.cls, call->last_was_timeout)) {
		int64_t delay = retry_backoff_ms(rt, call->attempts);

		log_debug("aws: %s %s attempt %d failed (%s %s), retrying in %lld ms",
			  call->service, call->method, call->attempts, r.err.code,
			  err_class_name(r.err.cls), (long long)delay);
		aws_error_clear(&r.err);
		loop_timer_arm(call->timer, delay);
		return;
	}
deliver:
	call->cb(&r, call->arg);
	aws_error_clear(&r.err);
	call_free(call);
}

struct aws_call *aws_call_start(struct aws_client *c, const struct aws_request *req,
				aws_done_cb cb, void *arg)
{
	struct aws_call *call = xcalloc(1, sizeof(*call));
	struct buf path;
	size_t i;

	call->c = c;
	call->cb = cb;
	call->arg = arg;
	call->service = xstrdup(req->service);
	call->method = xstrdup(req->method);
	call->scheme = xstrdup(req->endpoint->scheme);
	call->host = xstrdup(req->host ? req->host : req->endpoint->host);
	buf_init(&path, 0);
	buf_adds(&path, req->endpoint->path);
	buf_adds(&path, req->path && *req->path ? req->path : "/");
	call->path = buf_steal(&path, NULL);
	for (i = 0; i < req->nquery && i < AWS_MAX_QUERY; i++) {
		call->query[i].name = xstrdup(req->query[i].name);
		call->query[i].value = xstrdup(req->query[i].value ? req->query[i].value : "");
	}
	call->nquery = i;
	for (i = 0; i < req->nheaders && i < AWS_MAX_HEADERS; i++) {
		call->headers[i].name = xstrdup(req->headers[i].name);
		call->headers[i].value = xstrdup(req->headers[i].value);
	}
	call->nheaders = i;
	call->body = req->body;
	call->body_len = req->body_len;
	if (req->payload_hash && strlen(req->payload_hash) == SHA256_HEX_LEN)
		memcpy(call->payload_hash, req->payload_hash, SHA256_HEX_LEN + 1);
	else
		sha256_hex(req->body ? req->body : "", req->body_len, call->payload_hash);
	call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;
	call->max_response = req->max_response;
	call->max_attempts = req->max_attempts > 0 ? req->max_attempts
			     : c->retry ? c->retry->p.max_attempts : 1;
	call->url = build_url(call);
	call->timer = loop_timer_new(c->loop, on_timer, call);
	start_attempt(call);
	return call;
}

void aws_call_cancel(struct aws_call *call)
{
	if (!call)
		return;
	if (call->xfer)
		http_cancel(call->xfer);
	call_free(call);
}
