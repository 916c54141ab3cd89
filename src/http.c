/* http.c - the HTTP engine: one curl multi handle bound to the event loop
 * (curl's sockets become fd watches, curl's timeout one loop timer). */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "log.h"

#ifndef S3S_VERSION
#define S3S_VERSION "0"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_MAX_CACHED_CONNECTIONS 64L

struct http_xfer {
	struct http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	http_done_cb cb;
	void *arg;
	struct http_xfer *prev;
	struct http_xfer *next;
	struct buf body;
	struct buf hdrbuf; /* "name\0value\0" for each response header */
	size_t hdr_off[HTTP_MAX_RESPONSE_HEADERS];
	size_t nhdr;
	bool body_overflow;
	bool hdr_overflow;
	bool in_callback;
	char errbuf[CURL_ERROR_SIZE];
};

#define HTTP_EASY_POOL 64

struct http {
	struct loop *l;
	CURLM *multi;
	struct loop_timer *timer;
	struct http_xfer *xfers; /* in flight */
	unsigned active;
	unsigned busy; /* engine frames on the stack (socket/timer events) */
	bool dying;    /* http_free() ran while busy: released when they unwind */
	bool global_init;
	long connect_timeout_ms;
	bool no_proxy;
	char *ca_file;
	/* Finished easy handles kept for reuse: curl_easy_init() and the first
	 * options cost more than a small request. */
	CURL *pool[HTTP_EASY_POOL];
	unsigned npool;
};

/* ---- transfers ---- */

static void xfer_free(struct http_xfer *x)
{
	if (!x)
		return;
	if (x->easy && x->h && !x->h->dying && x->h->npool < HTTP_EASY_POOL) {
		curl_easy_reset(x->easy); /* options back to defaults; not in the multi */
		x->h->pool[x->h->npool++] = x->easy;
	} else if (x->easy) {
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	buf_free(&x->body);
	buf_free(&x->hdrbuf);
	free(x);
}

static void xfer_link(struct http *h, struct http_xfer *x)
{
	x->prev = NULL;
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
	h->active++;
}

static void xfer_unlink(struct http *h, struct http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	h->active--;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An obs-fold continuation line: append it to the previous header's value. */
static bool header_fold(struct http_xfer *x, const char *p, size_t n)
{
	struct buf *b = &x->hdrbuf;

	while (n > 0 && is_ows(*p)) {
		p++;
		n--;
	}
	if (x->nhdr == 0 || n == 0)
		return true;
	b->len--; /* drop the value's NUL, re-added below */
	return buf_addc(b, ' ') == 0 && buf_add(b, p, n) == 0 && buf_addc(b, '\0') == 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer *x = userdata;
	struct buf *b = &x->hdrbuf;
	size_t len = size * nmemb, n = len, name_len, off, i;
	const char *colon, *value;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue, a CONNECT or a retry):
		 * only the final response's headers are kept. */
		buf_reset(b);
		x->nhdr = 0;
		return len;
	}
	while (n > 0 && is_ows(p[n - 1]))
		n--;
	if (n == 0)
		return len; /* the blank line ending the header block */
	if (p[0] == ' ' || p[0] == '\t') {
		if (!header_fold(x, p, n))
			goto overflow;
		return len;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return len; /* not a header line: ignore it */
	name_len = (size_t)(colon - p);
	while (name_len > 0 && is_ows(p[name_len - 1]))
		name_len--;
	value = colon + 1;
	while (value < p + n && is_ows(*value))
		value++;
	if (x->nhdr == HTTP_MAX_RESPONSE_HEADERS)
		goto overflow;
	off = b->len;
	if (buf_add(b, p, name_len) < 0 || buf_addc(b, '\0') < 0 ||
	    buf_add(b, value, (size_t)(p + n - value)) < 0 || buf_addc(b, '\0') < 0)
		goto overflow;
	for (i = off; i < off + name_len; i++)
		b->data[i] = (char)tolower((unsigned char)b->data[i]);
	x->hdr_off[x->nhdr++] = off;
	return len;
overflow:
	x->hdr_overflow = true;
	return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct http_xfer *x = userdata;
	size_t len = size * nmemb;

	if (buf_add(&x->body, p, len) < 0) {
		x->body_overflow = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	return len;
}

/* Report a finished transfer, then free it (never inside its own callback). */
static void xfer_finish(struct http *h, struct http_xfer *x, CURLcode rc)
{
	struct http_response r;
	curl_off_t total_us = 0;
	char *owned = NULL;
	size_t i;

	memset(&r, 0, sizeof(r));
	xfer_unlink(h, x);
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_multi_remove_handle(h->multi, x->easy);

	r.curl_code = (int)rc;
	r.elapsed_ms = (int64_t)(total_us / 1000);
	if (rc == CURLE_OK)
		r.error = "";
	else if (x->body_overflow)
		r.error = owned = xasprintf("response body exceeds %zu bytes", x->body.max);
	else if (x->hdr_overflow)
		r.error = owned = xasprintf("response headers exceed %d headers or %d bytes",
					    HTTP_MAX_RESPONSE_HEADERS,
					    HTTP_MAX_RESPONSE_HEADER_BYTES);
	else if (x->errbuf[0] && strstr(x->errbuf, curl_easy_strerror(rc)))
		r.error = owned = xstrdup(x->errbuf); /* already names the error */
	else if (x->errbuf[0])
		r.error = owned = xasprintf("%s: %s", curl_easy_strerror(rc), x->errbuf);
	else
		r.error = curl_easy_strerror(rc);

	r.body = x->body; /* moved: the callback may buf_steal() it */
	buf_init(&x->body, 0);
	if (!r.body.data)
		buf_add(&r.body, "", 0); /* data is never NULL in a callback */
	if (x->nhdr > 0) {
		r.headers = xcalloc(x->nhdr, sizeof(*r.headers));
		for (i = 0; i < x->nhdr; i++) {
			r.headers[i].name = x->hdrbuf.data + x->hdr_off[i];
			r.headers[i].value = r.headers[i].name + strlen(r.headers[i].name) + 1;
		}
		r.nheaders = x->nhdr;
	}

	x->in_callback = true;
	x->cb(&r, x->arg);

	buf_free(&r.body);
	free(r.headers);
	free(owned);
	xfer_free(x);
}

/* Report every transfer curl finished; callbacks may start or cancel others. */
static void drain(struct http *h)
{
	CURLMsg *m;
	int left;

	while (!h->dying && (m = curl_multi_info_read(h->multi, &left))) {
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		xfer_finish(h, (struct http_xfer *)(void *)priv, rc);
	}
}

/* ---- curl <-> loop glue ---- */

static void destroy(struct http *h);

static void leave(struct http *h)
{
	if (--h->busy == 0 && h->dying)
		destroy(h);
}

static void socket_action(struct http *h, curl_socket_t s, int flags)
{
	CURLMcode mc;
	int running;

	h->busy++;
	mc = curl_multi_socket_action(h->multi, s, flags, &running);
	if (mc != CURLM_OK)
		log_err("http: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	drain(h);
	leave(h); /* h may be gone */
}

static void on_socket_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	int flags = 0;

	(void)l;
	/* EPOLLERR/EPOLLHUP alone give 0: curl then checks the socket itself. */
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	socket_action(arg, fd, flags);
}

/* The loop timer curl asked for: only here is curl told that time passed. */
static void on_timer(struct loop *l, void *arg)
{
	(void)l;
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in a socket as a watch. */
static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	uint32_t events = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_fd_unwatch(h->l, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	return loop_fd_watch(h->l, s, events, on_socket_event, h) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: runs inside curl, so it only (re)arms the loop
 * timer; 0 ms fires on the next turn, -1 means no timeout is needed. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_cancel(h->timer);
	else
		loop_timer_arm(h->timer, timeout_ms);
	return 0;
}

/* ---- requests ---- */

static bool slist_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *next = curl_slist_append(*list, line);

	if (next)
		*list = next;
	return next != NULL;
}

static struct curl_slist *request_headers(const struct http_request *req, bool has_body)
{
	struct curl_slist *list = NULL;
	bool has_expect = false, has_type = false;
	struct buf line;
	size_t i;

	buf_init(&line, 0);

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *hd = &req->headers[i];

		if (!hd->name || !hd->value || !hd->name[0] || strpbrk(hd->name, ":;\r\n") ||
		    strpbrk(hd->value, "\r\n"))
			goto fail;
		has_expect |= strcasecmp(hd->name, "Expect") == 0;
		has_type |= strcasecmp(hd->name, "Content-Type") == 0;
		/* "Name;" is curl's way of sending an empty header. */
		buf_reset(&line);
		buf_adds(&line, hd->name);
		if (hd->value[0]) {
			buf_add(&line, ": ", 2);
			buf_adds(&line, hd->value);
		} else {
			buf_addc(&line, ';');
		}
		if (!slist_add(&list, buf_str(&line)))
			goto fail;
	}
	buf_free(&line);
	/* "Name:" removes a header curl would add on its own. */
	if (!has_expect && !slist_add(&list, "Expect:"))
		goto fail;
	if (has_body && !has_type && !slist_add(&list, "Content-Type:"))
		goto fail;
	return list;
fail:
	buf_free(&line);
	curl_slist_free_all(list);
	return NULL;
}

static CURLcode set_method(CURL *e, const struct http_request *req, const char *method,
			   bool has_body)
{
	CURLcode rc;

	if (has_body) {
		/* From memory, so curl can resend it on a fresh connection. */
		rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (rc == CURLE_OK && strcmp(method, "POST") != 0)
			rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "HEAD") == 0) {
		rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0) {
		rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	return rc;
}

static const struct {
	CURLoption opt;
	long value;
} fixed_options[] = {
	{CURLOPT_NOSIGNAL, 1L},
	{CURLOPT_NOPROGRESS, 1L},
	{CURLOPT_TCP_NODELAY, 1L},
	/* AWS answers here are small (large ones arrive in several reads): a
	 * 4 KiB receive buffer instead of 16 KiB per transfer keeps memory low
	 * with hundreds of PUTs in flight. */
	{CURLOPT_BUFFERSIZE, 4096L},
	{CURLOPT_TCP_KEEPALIVE, 1L},
	{CURLOPT_TCP_KEEPIDLE, 30L},
	{CURLOPT_TCP_KEEPINTVL, 15L},
	{CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1},
	{CURLOPT_FOLLOWLOCATION, 0L},
	{CURLOPT_SSL_VERIFYPEER, 1L},
	{CURLOPT_SSL_VERIFYHOST, 2L}, /* 1 means 2 since curl 7.66: name checked */
	{CURLOPT_PATH_AS_IS, 1L},
#ifdef S3S_HTTP_DEBUG
	{CURLOPT_VERBOSE, 1L},
#endif
};

struct http_xfer *http_start(struct http *h, const struct http_request *req, http_done_cb cb,
			     void *arg)
{
	const char *method = req->method ? req->method : "GET";
	bool has_body = req->body_len > 0 || strcmp(method, "PUT") == 0 ||
			strcmp(method, "POST") == 0;
	size_t max = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	struct http_xfer *x;
	size_t i;

	x = xcalloc(1, sizeof(*x));
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	buf_init(&x->body, max);
	buf_init(&x->hdrbuf, HTTP_MAX_RESPONSE_HEADER_BYTES);
	if (h->dying || !cb || !req->url || req->timeout_ms <= 0 || (req->body_len && !req->body))
		goto fail;
	if (h->npool)
		x->easy = h->pool[--h->npool];
	else if (!(x->easy = curl_easy_init()))
		goto fail;
	if (!(x->hdrs = request_headers(req, has_body)))
		goto fail;
	for (i = 0; i < ARRAY_SIZE(fixed_options); i++)
		if (curl_easy_setopt(x->easy, fixed_options[i].opt, fixed_options[i].value) !=
		    CURLE_OK)
			goto fail;
	if (curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (void *)x) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_URL, req->url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
		    CURLE_OK ||
#endif
	    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, req->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms) !=
		    CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "s3statusd/" S3S_VERSION) != CURLE_OK ||
	    (h->no_proxy && curl_easy_setopt(x->easy, CURLOPT_NOPROXY, "*") != CURLE_OK) ||
	    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, (void *)x) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, (void *)x) != CURLE_OK ||
	    set_method(x->easy, req, method, has_body) != CURLE_OK)
		goto fail;
	if (h->ca_file && curl_easy_setopt(x->easy, CURLOPT_CAINFO, h->ca_file) != CURLE_OK)
		goto fail;
	/* Only arms the loop timer (0 ms): the transfer starts on the next turn. */
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
		goto fail;
	xfer_link(h, x);
	return x;
fail:
	xfer_free(x);
	return NULL;
}

void http_cancel(struct http_xfer *x)
{
	struct http *h;

	if (!x || x->in_callback)
		return;
	h = x->h;
	xfer_unlink(h, x);
	/* Also drops a completion curl queued but drain() did not reach yet. */
	curl_multi_remove_handle(h->multi, x->easy);
	xfer_free(x);
}

unsigned http_active(const struct http *h)
{
	return h->active;
}

const char *http_response_header(const struct http_response *r, const char *lower_name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, lower_name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* ---- engine ---- */

static void cancel_all(struct http *h)
{
	while (h->xfers)
		http_cancel(h->xfers);
}

static void destroy(struct http *h)
{
	if (h->multi) {
		cancel_all(h);
		curl_multi_cleanup(h->multi); /* closes cached connections: unwatches them */
	}
	while (h->npool)
		curl_easy_cleanup(h->pool[--h->npool]);
	loop_timer_free(h->timer);
	free(h->ca_file);
	if (h->global_init)
		curl_global_cleanup();
	free(h);
}

void http_free(struct http *h)
{
	if (!h || h->dying)
		return;
	if (h->busy) {
		/* Inside a completion callback: the engine's frames still use h. */
		cancel_all(h);
		h->dying = true;
		return;
	}
	destroy(h);
}

struct http *http_new(struct loop *l, const struct http_options *opt)
{
	struct http *h = xcalloc(1, sizeof(*h));
	long maxconn = DEFAULT_MAX_CACHED_CONNECTIONS;

	h->l = l;
	h->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (opt && opt->connect_timeout_ms > 0)
		h->connect_timeout_ms = opt->connect_timeout_ms;
	if (opt && opt->ca_file)
		h->ca_file = xstrdup(opt->ca_file);
	h->no_proxy = opt && opt->no_proxy;
	if (opt && opt->max_total_connections > 0)
		maxconn = opt->max_total_connections;
	h->timer = loop_timer_new(l, on_timer, h);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	h->global_init = true;
	if (!(h->multi = curl_multi_init()))
		goto fail;
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, (void *)h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, (void *)h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, maxconn) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			      opt ? opt->max_host_connections : 0L) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			      opt ? opt->max_total_connections : 0L) != CURLM_OK)
		goto fail;
	return h;
fail:
	destroy(h);
	return NULL;
}
