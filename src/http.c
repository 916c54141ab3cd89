/* http.c - the HTTP engine. libcurl's multi interface (driven by the event
 * loop) resolves names, connects and goes through proxies; each connection it
 * makes is then handed over to this file, which runs TLS on it with OpenSSL
 * and speaks HTTP/1.1 with keep-alive itself.
 *
 * Why not let curl run every request: an AWS call here is one small request
 * and one small answer on a warm connection, and curl 7.88's per-request path
 * (URL re-parsing, headers built byte by byte through its printf, a poll() per
 * reuse, socket interest changes) cost more CPU than everything else the
 * daemon does per message (bench/README.md has the profile). What curl is best
 * at - name resolution, happy eyeballs, proxy tunnels - still comes from curl.
 *
 * Layout: an origin (scheme, host, port) owns its connections and a queue of
 * transfers waiting for one. A connection is CONNECTING (a CONNECT_ONLY curl
 * transfer), HANDSHAKE (TLS), IDLE or BUSY (one transfer: no pipelining).
 * Idle and busy connections are watched for input only; output is watched
 * just while a request does not fit in the socket buffer. */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parse.h"
#include "log.h"

#ifndef S3S_VERSION
#define S3S_VERSION "0"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
/* An idle connection older than this is closed instead of reused: NAT
 * gateways and load balancers drop idle flows silently after a few minutes. */
#define IDLE_REUSE_MS 50000
/* Request bodies up to this size go out in the same write as the headers. */
#define INLINE_BODY_MAX (64 * 1024)
#define RECV_CHUNK (16 * 1024)
/* Connections being opened at once to one origin: a burst of hundreds of
 * connects at start-up costs a curl handle each (and SYNs the peer) while
 * the first ones would already be free for the waiting transfers. */
#define MAX_CONNECTING_PER_ORIGIN 16
/* Reads of RECV_CHUNK bytes handled per connection per loop turn: a peer
 * that never stops sending cannot keep timers (its own timeout) from running. */
#define READS_PER_TURN 4

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_IDLE, C_BUSY };

struct origin {
	struct origin *next;
	char *key;	   /* "scheme://authority", the authority as in the URL */
	char *authority;   /* the Host header: exactly what the signer signed */
	char *host;	   /* name or address for TLS (no brackets, no port) */
	char *connect_url; /* what curl connects to: "http://host:port/" */
	bool tls;
	bool https_proxy;     /* the environment names an https:// proxy for it */
	unsigned nconns;      /* every state */
	unsigned nconnecting; /* CONNECTING or HANDSHAKE */
	struct conn *idle;    /* most recently used first */
	struct http_xfer *wait_head, *wait_tail;
	unsigned nwait;
};

struct conn {
	struct http *h;
	struct origin *o;
	struct conn *next_idle;
	struct conn *prev, *next; /* every connection of the engine */
	enum conn_state st;
	CURL *easy; /* while CONNECTING */
	int fd;	    /* ours (a duplicate of curl's), -1 while CONNECTING */
	SSL *ssl;
	struct http_xfer *x; /* while BUSY */
	struct loop_timer *timer; /* TLS handshake deadline; while BUSY, resumes a
				     read cut short with bytes left in OpenSSL */
	int64_t idle_since;
	unsigned uses;
	uint32_t watched; /* events watched on fd */
	char *errbuf; /* CURL_ERROR_SIZE bytes while CONNECTING */
};

struct http_xfer {
	struct http *h;
	struct origin *o;
	struct conn *c;
	http_done_cb cb;
	void *arg;
	struct http_xfer *prev, *next;	/* every transfer of the engine */
	struct http_xfer *wprev, *wnext; /* the origin's wait queue */
	bool waiting;
	bool retried; /* already sent again once after a stale connection */
	bool got_bytes;
	bool in_callback;
	bool failed_early; /* fail_code set before any connection: report it */
	/* request */
	struct buf out; /* request line, headers and (small) body */
	size_t out_off;
	const char *rbody; /* large request bodies only: sent after out */
	size_t rbody_len, rbody_off;
	struct loop_timer *timer;
	int64_t started;
	struct http_parser rp; /* the response */
	int fail_code;
	char *fail_msg;
};

struct http {
	struct loop *l;
	CURLM *multi;
	struct loop_timer *timer; /* curl's */
	struct loop_timer *kick;  /* runs dispatch() on the next turn */
	struct http_xfer *xfers;
	struct http_xfer *failed; /* refused before any connection; oldest first */
	struct conn *conns;
	struct origin *origins;
	SSL_CTX *ssl_ctx;
	int ssl_ctx_err; /* CURLcode of a failed SSL_CTX set-up, reported per transfer */
	char *ssl_ctx_msg;
	unsigned active;
	unsigned nconns;
	unsigned nwait; /* transfers waiting for a connection, every origin */
	unsigned busy; /* engine frames on the stack */
	bool dying;
	bool global_init;
	long connect_timeout_ms;
	long max_host_connections;
	long max_total_connections;
	bool no_proxy;
	char *ca_file;
	char rbuf[RECV_CHUNK];
};

static void destroy(struct http *h);
static void dispatch(struct http *h);
static void conn_close(struct conn *c);
static void conn_on_event(struct loop *l, int fd, uint32_t events, void *arg);

static void enter(struct http *h)
{
	h->busy++;
}

static void leave(struct http *h)
{
	if (--h->busy == 0 && h->dying)
		destroy(h);
}

static void kick(struct http *h)
{
	if (!h->dying && !loop_timer_armed(h->kick))
		loop_timer_arm(h->kick, 0);
}

/* ---- transfers ---- */

static void xfer_free(struct http_xfer *x)
{
	loop_timer_free(x->timer);
	buf_free(&x->out);
	http_parser_free(&x->rp);
	free(x->fail_msg);
	free(x);
}

static void xfer_unlink(struct http *h, struct http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else if (h->xfers == x)
		h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	h->active--;
}

static void wait_push(struct origin *o, struct http_xfer *x, bool front)
{
	x->waiting = true;
	x->wprev = x->wnext = NULL;
	if (!o->wait_head) {
		o->wait_head = o->wait_tail = x;
	} else if (front) {
		x->wnext = o->wait_head;
		o->wait_head->wprev = x;
		o->wait_head = x;
	} else {
		x->wprev = o->wait_tail;
		o->wait_tail->wnext = x;
		o->wait_tail = x;
	}
	o->nwait++;
	x->h->nwait++;
}

static void wait_remove(struct origin *o, struct http_xfer *x)
{
	if (!x->waiting)
		return;
	if (x->wprev)
		x->wprev->wnext = x->wnext;
	else
		o->wait_head = x->wnext;
	if (x->wnext)
		x->wnext->wprev = x->wprev;
	else
		o->wait_tail = x->wprev;
	x->wprev = x->wnext = NULL;
	x->waiting = false;
	o->nwait--;
	x->h->nwait--;
}

static void set_fail(struct http_xfer *x, int code, char *msg)
{
	if (x->fail_code == 0) {
		x->fail_code = code;
		free(x->fail_msg);
		x->fail_msg = msg;
	} else {
		free(msg);
	}
}

/* Report a transfer and free it. The connection (if any) must already be
 * detached. Never called inside http_start(). */
static void xfer_finish(struct http *h, struct http_xfer *x)
{
	struct http_response r;
	size_t i;

	memset(&r, 0, sizeof(r));
	wait_remove(x->o, x);
	xfer_unlink(h, x);
	loop_timer_cancel(x->timer);
	r.curl_code = x->fail_code;
	r.status = x->rp.ps != HP_HEAD ? x->rp.status : 0; /* 0 until a final status line */
	r.error = x->fail_code ? (x->fail_msg ? x->fail_msg : curl_easy_strerror(x->fail_code))
			       : "";
	r.elapsed_ms = loop_now(h->l) - x->started;
	r.body = x->rp.body; /* moved: the callback may buf_steal() it */
	buf_init(&x->rp.body, 0);
	if (!r.body.data)
		buf_add(&r.body, "", 0); /* data is never NULL in a callback */
	if (x->rp.nhdr > 0) {
		r.headers = xcalloc(x->rp.nhdr, sizeof(*r.headers));
		for (i = 0; i < x->rp.nhdr; i++) {
			r.headers[i].name = x->rp.hdrbuf.data + x->rp.hdr_off[i];
			r.headers[i].value = r.headers[i].name + strlen(r.headers[i].name) + 1;
		}
		r.nheaders = x->rp.nhdr;
	}
	x->in_callback = true;
	enter(h);
	x->cb(&r, x->arg);
	buf_free(&r.body);
	free(r.headers);
	xfer_free(x);
	leave(h);
}

/* ---- connections: raw I/O ---- */

static int conn_watch(struct conn *c, uint32_t events)
{
	if (c->watched == events)
		return 0;
	if (loop_fd_watch(c->h->l, c->fd, events, conn_on_event, c) < 0) {
		log_warn("http: cannot watch a connection to %s: %s", c->o->host, strerror(errno));
		return -1;
	}
	c->watched = events;
	return 0;
}

/* An SSL_read/SSL_write result: >0 bytes, 0 closed (close_notify), -1 would
 * block (*other_dir: until the socket is ready the other way), -2 error. */
static long ssl_io_result(struct conn *c, int r, int same_dir, bool *other_dir)
{
	int e;

	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, r);
	if (e == same_dir)
		return -1;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*other_dir = true;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	ERR_clear_error();
	return -2;
}

/* >0 bytes, 0 end of stream, -1 would block, -2 error (errno or SSL). */
static long conn_recv(struct conn *c, char *p, size_t n, bool *want_write)
{
	*want_write = false;
	if (c->ssl) {
		ERR_clear_error(); /* SSL_get_error reads the queue */
		return ssl_io_result(c, SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n),
				     SSL_ERROR_WANT_READ, want_write);
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);

		if (r >= 0)
			return (long)r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	}
}

/* >0 bytes, -1 would block, -2 error. */
static long conn_send(struct conn *c, const char *p, size_t n, bool *want_read)
{
	*want_read = false;
	if (c->ssl) {
		long w;

		ERR_clear_error();
		w = ssl_io_result(c, SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n),
				  SSL_ERROR_WANT_WRITE, want_read);
		return w == 0 ? -2 : w;
	}
	for (;;) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w >= 0)
			return (long)w;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	}
}

/* ---- connections: life cycle ---- */

static void origin_idle_remove(struct origin *o, struct conn *c)
{
	struct conn **pp;

	for (pp = &o->idle; *pp; pp = &(*pp)->next_idle)
		if (*pp == c) {
			*pp = c->next_idle;
			break;
		}
	c->next_idle = NULL;
}

static void conn_close(struct conn *c)
{
	struct http *h = c->h;
	struct origin *o = c->o;

	if (c->st == C_IDLE)
		origin_idle_remove(o, c);
	if (c->st == C_CONNECTING || c->st == C_HANDSHAKE)
		o->nconnecting--;
	o->nconns--;
	h->nconns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->easy) {
		curl_multi_remove_handle(h->multi, c->easy);
		curl_easy_cleanup(c->easy);
	}
	free(c->errbuf);
	if (c->fd >= 0) {
		loop_fd_unwatch(h->l, c->fd);
		if (c->ssl)
			SSL_free(c->ssl); /* no close_notify: the socket goes anyway */
		close(c->fd);
	}
	loop_timer_free(c->timer);
	if (c->x)
		c->x->c = NULL;
	free(c);
	/* Room for a new connection: a transfer may be waiting for it (under
	 * the engine's cap, on any origin). */
	if (h->nwait)
		kick(h);
}

/* The transfer on c failed or was dropped: detach it and close c (its
 * state mid-exchange is unknown). */
static void conn_drop_xfer(struct conn *c)
{
	struct http_xfer *x = c->x;

	c->x = NULL;
	if (x)
		x->c = NULL;
	conn_close(c);
}

static void conn_to_idle(struct conn *c)
{
	struct origin *o = c->o;

	c->st = C_IDLE;
	c->x = NULL;
	loop_timer_cancel(c->timer);
	c->idle_since = loop_now(c->h->l);
	c->next_idle = o->idle;
	o->idle = c;
	if (conn_watch(c, EPOLLIN) < 0) {
		conn_close(c);
		return;
	}
	/* this origin's waiters take it; another's may close it to open theirs */
	if (c->h->nwait)
		kick(c->h);
}

/* Write what is left of the request; 0 done, 1 waiting, -1 failed. */
static int xfer_send(struct http_xfer *x)
{
	struct conn *c = x->c;
	bool want_read;

	while (x->out_off < x->out.len || x->rbody_off < x->rbody_len) {
		const char *p;
		size_t n;
		long w;

		if (x->out_off < x->out.len) {
			p = x->out.data + x->out_off;
			n = x->out.len - x->out_off;
		} else {
			p = x->rbody + x->rbody_off;
			n = x->rbody_len - x->rbody_off;
		}
		w = conn_send(c, p, n, &want_read);
		if (w == -1) /* TLS waiting for input (a renegotiation) needs no EPOLLOUT */
			return conn_watch(c, want_read ? EPOLLIN : EPOLLIN | EPOLLOUT) < 0 ? -1 : 1;
		if (w <= 0)
			return -1;
		if (x->out_off < x->out.len)
			x->out_off += (size_t)w;
		else
			x->rbody_off += (size_t)w;
	}
	return conn_watch(c, EPOLLIN) < 0 ? -1 : 0;
}

static bool xfer_sent_all(const struct http_xfer *x)
{
	return x->out_off == x->out.len && x->rbody_off == x->rbody_len;
}

/* A reused connection the server had already closed: send the request once
 * more on a fresh one, as curl does. Returns true if requeued. */
static bool xfer_retry_stale(struct http_xfer *x, struct conn *c)
{
	if (x->retried || x->got_bytes || c->uses <= 1)
		return false;
	x->retried = true;
	x->out_off = x->rbody_off = 0;
	http_parser_reset(&x->rp);
	conn_drop_xfer(c);
	wait_push(x->o, x, true);
	kick(x->h);
	return true;
}

static void xfer_fail_on_conn(struct http_xfer *x, struct conn *c, int code, const char *what)
{
	if (xfer_retry_stale(x, c))
		return;
	conn_drop_xfer(c);
	set_fail(x, code, xstrdup(what));
	xfer_finish(x->h, x);
}

static bool conn_read(struct conn *c);

/* Writing the request failed. The peer may have answered early and closed
 * (a 413 or 403 for a body it will not take): read what it sent before
 * reporting the write. */
static void conn_send_failed(struct conn *c)
{
	if (conn_read(c))
		xfer_fail_on_conn(c->x, c, CURLE_SEND_ERROR, "Failed sending data to the peer");
}

static void xfer_assign(struct http_xfer *x, struct conn *c)
{
	wait_remove(x->o, x);
	c->st = C_BUSY;
	c->x = x;
	c->uses++;
	x->c = c;
	if (xfer_send(x) < 0)
		conn_send_failed(c);
}

/* The response on c is complete (or failed): finish the transfer, keep or
 * close the connection. */
static void conn_response_done(struct conn *c, bool leftover)
{
	struct http_xfer *x = c->x;

	c->x = NULL;
	x->c = NULL;
	if (x->rp.keep_alive && !leftover && xfer_sent_all(x))
		conn_to_idle(c);
	else
		conn_close(c);
	xfer_finish(x->h, x);
}

/* n bytes of the response arrived in h->rbuf. Returns true while the
 * response goes on; false once the transfer is finished (c may be gone). */
static bool conn_feed(struct conn *c, size_t n)
{
	struct http *h = c->h;
	struct http_xfer *x = c->x;
	size_t used;
	int rc;

	x->got_bytes = true;
	rc = http_parser_feed(&x->rp, h->rbuf, n, &used);
	if (rc < 0) {
		set_fail(x, x->rp.fail_code, x->rp.fail_msg);
		x->rp.fail_msg = NULL;
		conn_drop_xfer(c);
		xfer_finish(h, x);
		return false;
	}
	if (rc == 1) {
		/* bytes after the response belong to no request: not reusable */
		conn_response_done(c, used < n || (c->ssl && SSL_has_pending(c->ssl)));
		return false;
	}
	return true;
}

/* Read the response as far as it has come, at most READS_PER_TURN buffers.
 * Returns true while c still carries its transfer, false once the transfer
 * is finished (c may be gone). */
static bool conn_read(struct conn *c)
{
	struct http *h = c->h;
	struct http_xfer *x = c->x;
	bool want_write;
	int i;

	for (i = 0; i < READS_PER_TURN; i++) {
		long n = conn_recv(c, h->rbuf, sizeof(h->rbuf), &want_write);

		if (n == -1) {
			if (want_write && conn_watch(c, EPOLLIN | EPOLLOUT) < 0)
				goto fail;
			return true;
		}
		if (n == 0 && http_parser_eof(&x->rp)) {
			conn_response_done(c, false);
			return false;
		}
		if (n == 0) {
			xfer_fail_on_conn(x, c, x->got_bytes ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING,
					  x->got_bytes ? "Connection closed before the response ended"
						       : "Empty reply from server");
			return false;
		}
		if (n < 0)
			goto fail;
		if (!conn_feed(c, (size_t)n))
			return false;
		/* Plain TCP: a short read drained the socket; epoll says when more
		 * comes. TLS may hold decrypted bytes: read until it would block. */
		if (!c->ssl && (size_t)n < sizeof(h->rbuf))
			return true;
	}
	/* More may be waiting. The socket's own bytes wake epoll again (level
	 * triggered); bytes OpenSSL has already taken in do not. */
	if (c->ssl && SSL_has_pending(c->ssl))
		loop_timer_arm(c->timer, 0);
	return true;
fail:
	xfer_fail_on_conn(x, c, CURLE_RECV_ERROR, "Failure when receiving data from the peer");
	return false;
}

static void conn_tls_step(struct conn *c);

/* Input on an idle connection: the peer closed it or sent something unasked,
 * and it cannot carry a request any more - unless it was a TLS record with
 * no data in it (a TLS 1.3 session ticket or key update), which OpenSSL
 * consumes. */
static bool conn_idle_input_harmless(struct conn *c)
{
	bool want_write;
	long n;

	if (!c->ssl)
		return false;
	n = conn_recv(c, c->h->rbuf, sizeof(c->h->rbuf), &want_write);
	return n == -1 && !want_write;
}

static void conn_on_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct http *h = c->h;
	bool sent;

	(void)l;
	(void)fd;
	enter(h);
	switch (c->st) {
	case C_HANDSHAKE:
		conn_tls_step(c);
		break;
	case C_IDLE:
		if (!conn_idle_input_harmless(c))
			conn_close(c);
		break;
	case C_BUSY:
		/* The response is read before more of the request is written, so
		 * an early answer is not lost to a write the peer refuses. */
		sent = xfer_sent_all(c->x);
		if (sent && (c->watched & EPOLLOUT))
			(void)conn_watch(c, EPOLLIN); /* a TLS read that wanted to write */
		if ((sent || (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) && !conn_read(c))
			break;
		if (!sent && xfer_send(c->x) < 0)
			conn_send_failed(c);
		break;
	case C_CONNECTING:
		break;
	}
	leave(h);
}

/* ---- TLS ---- */

static int ssl_ctx_init(struct http *h)
{
	SSL_CTX *ctx;

	if (h->ssl_ctx || h->ssl_ctx_err)
		return h->ssl_ctx ? 0 : -1;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		h->ssl_ctx_err = CURLE_SSL_CONNECT_ERROR;
		h->ssl_ctx_msg = xstrdup("SSL: cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No renegotiation (a server could stall a request in it). A close
	 * without close_notify reads as the end of the stream: it ends a body
	 * delimited by the close; counted and chunked bodies still detect the
	 * cut. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
					 | SSL_OP_IGNORE_UNEXPECTED_EOF
#endif
	);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Idle connections give their read/write buffers back (~34 KiB each). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (h->ca_file ? SSL_CTX_load_verify_locations(ctx, h->ca_file, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		h->ssl_ctx_err = CURLE_SSL_CACERT_BADFILE;
		h->ssl_ctx_msg = h->ca_file ? xasprintf("error setting certificate file: %s "
							"(no CA certificate could be read from it)",
							h->ca_file)
					    : xstrdup("error setting certificate verify locations");
		return -1;
	}
	h->ssl_ctx = ctx;
	return 0;
}

static bool is_ip_literal(const char *host)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

static int conn_tls_start(struct conn *c)
{
	struct origin *o = c->o;
	X509_VERIFY_PARAM *vp;

	if (ssl_ctx_init(c->h) < 0 || !(c->ssl = SSL_new(c->h->ssl_ctx)))
		return -1;
	vp = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (is_ip_literal(o->host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, o->host) != 1
				    : (SSL_set_tlsext_host_name(c->ssl, o->host) != 1 ||
				       SSL_set1_host(c->ssl, o->host) != 1)))
		return -1;
	SSL_set_connect_state(c->ssl);
	return 0;
}

static void fail_head_waiter(struct origin *o, int code, const char *msg)
{
	struct http_xfer *x = o->wait_head;

	if (!x)
		return;
	wait_remove(o, x);
	set_fail(x, code, xstrdup(msg));
	xfer_finish(x->h, x);
}

/* Connected (and TLS set up): the connection joins the idle list, where the
 * next dispatch hands it out - not now, in the middle of a batch of socket
 * events that may still hold news about other idle connections. */
static void conn_ready(struct conn *c)
{
	c->o->nconnecting--;
	conn_to_idle(c);
}

/* Fail the connection attempt: close it, fail the transfer that waited
 * longest (one per failed attempt, as curl fails each transfer's own). */
static void conn_failed(struct conn *c, int code, const char *msg)
{
	struct origin *o = c->o;
	char *copy = xstrdup(msg);

	conn_close(c); /* wakes the other waiters */
	fail_head_waiter(o, code, copy);
	free(copy);
}

static void conn_tls_step(struct conn *c)
{
	int r, e;
	char msg[512];
	long vr;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		conn_ready(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		if (conn_watch(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLIN | EPOLLOUT) < 0)
			conn_failed(c, CURLE_SSL_CONNECT_ERROR, "cannot watch the connection");
		return;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		snprintf(msg, sizeof(msg),
			 "SSL: the certificate's subject names do not match host name %s",
			 c->o->host);
		ERR_clear_error();
		conn_failed(c, CURLE_PEER_FAILED_VERIFICATION, msg);
	} else if (vr != X509_V_OK) {
		snprintf(msg, sizeof(msg), "SSL certificate problem: %s",
			 X509_verify_cert_error_string(vr));
		ERR_clear_error();
		conn_failed(c, CURLE_PEER_FAILED_VERIFICATION, msg);
	} else {
		unsigned long err = ERR_get_error();
		char reason[256];

		ERR_error_string_n(err, reason, sizeof(reason));
		ERR_clear_error();
		snprintf(msg, sizeof(msg), "TLS handshake with %s failed: %s", c->o->host,
			 err ? reason : "connection closed");
		conn_failed(c, CURLE_SSL_CONNECT_ERROR, msg);
	}
}

/* The connection's timer: the TLS handshake's deadline, or (BUSY) the rest
 * of a read cut short while OpenSSL holds decrypted bytes. */
static void on_conn_timer(struct loop *l, void *arg)
{
	struct conn *c = arg;
	struct http *h = c->h;

	(void)l;
	enter(h);
	if (c->st == C_HANDSHAKE)
		conn_failed(c, CURLE_OPERATION_TIMEDOUT,
			    "Timeout was reached during the TLS handshake");
	else if (c->st == C_BUSY)
		conn_read(c);
	leave(h);
}

/* curl connected c (CURLMSG_DONE): take the socket over. */
static void conn_connected(struct conn *c, CURLcode rc)
{
	struct http *h = c->h;
	curl_socket_t s = CURL_SOCKET_BAD;
	char msg[CURL_ERROR_SIZE + 64];

	if (rc == CURLE_OK && curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
	    s != CURL_SOCKET_BAD)
		c->fd = fcntl(s, F_DUPFD_CLOEXEC, 0);
	if (rc != CURLE_OK || c->fd < 0) {
		if (rc == CURLE_OK)
			rc = CURLE_COULDNT_CONNECT;
		if (c->errbuf[0] && strstr(c->errbuf, curl_easy_strerror(rc)))
			snprintf(msg, sizeof(msg), "%s", c->errbuf);
		else if (c->errbuf[0])
			snprintf(msg, sizeof(msg), "%s: %s", curl_easy_strerror(rc), c->errbuf);
		else
			snprintf(msg, sizeof(msg), "%s", curl_easy_strerror(rc));
		conn_failed(c, rc, msg);
		return;
	}
	/* Through an https:// proxy the socket carries curl's TLS session with
	 * the proxy, which ends with curl's handle. (A CONNECT code says a proxy
	 * was used: no_proxy may have excluded this host.) */
	if (c->o->https_proxy) {
		long code = 0;

		if (curl_easy_getinfo(c->easy, CURLINFO_HTTP_CONNECTCODE, &code) != CURLE_OK ||
		    code != 0) {
			conn_failed(c, CURLE_UNSUPPORTED_PROTOCOL,
				    "an https:// proxy is not supported: use an http:// proxy "
				    "(requests to https endpoints stay TLS end to end through it)");
			return;
		}
	}
	/* curl closes its descriptor; the socket lives on in ours. */
	curl_multi_remove_handle(h->multi, c->easy);
	curl_easy_cleanup(c->easy);
	c->easy = NULL;
	free(c->errbuf);
	c->errbuf = NULL;
	if (!c->o->tls) {
		conn_ready(c);
		return;
	}
	if (conn_tls_start(c) < 0) {
		ERR_clear_error();
		conn_failed(c, h->ssl_ctx_err ? h->ssl_ctx_err : CURLE_SSL_CONNECT_ERROR,
			    h->ssl_ctx_msg ? h->ssl_ctx_msg : "SSL: cannot set up the connection");
		return;
	}
	c->st = C_HANDSHAKE;
	loop_timer_arm(c->timer, h->connect_timeout_ms);
	conn_tls_step(c);
}

static const struct {
	CURLoption opt;
	long value;
} connect_options[] = {
	{CURLOPT_CONNECT_ONLY, 1L},
	{CURLOPT_NOSIGNAL, 1L},
	{CURLOPT_TCP_NODELAY, 1L},
	{CURLOPT_TCP_KEEPALIVE, 1L},
	{CURLOPT_TCP_KEEPIDLE, 30L},
	{CURLOPT_TCP_KEEPINTVL, 15L},
	/* Through an HTTP proxy, CONNECT for plain http too: the tunnel is a
	 * byte pipe, so the requests are the same with or without a proxy. */
	{CURLOPT_HTTPPROXYTUNNEL, 1L},
	{CURLOPT_BUFFERSIZE, 1024L},
#ifdef S3S_HTTP_DEBUG
	{CURLOPT_VERBOSE, 1L},
#endif
};

/* The proxy from the environment, as curl reads it: http_proxy (lower case
 * only) for http, https_proxy or HTTPS_PROXY for https, then all_proxy or
 * ALL_PROXY; "" for none. curl picks it itself for the http URL it is given;
 * an https origin (connected as http://host:443/) has it set here. */
static const char *proxy_env(bool tls)
{
	static const char *const names[][5] = {
		{"http_proxy", "all_proxy", "ALL_PROXY", NULL},
		{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL},
	};
	const char *const *n;

	for (n = names[tls]; *n; n++) {
		const char *v = getenv(*n);

		if (v && *v)
			return v;
	}
	return "";
}

static struct conn *conn_open(struct http *h, struct origin *o)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	size_t i;

	c->h = h;
	c->o = o;
	c->fd = -1;
	c->st = C_CONNECTING;
	c->timer = loop_timer_new(h->l, on_conn_timer, c);
	c->errbuf = xcalloc(1, CURL_ERROR_SIZE);
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	o->nconns++;
	o->nconnecting++;
	h->nconns++;
	if (!(c->easy = curl_easy_init()))
		goto fail;
	for (i = 0; i < ARRAY_SIZE(connect_options); i++)
		if (curl_easy_setopt(c->easy, connect_options[i].opt, connect_options[i].value) !=
		    CURLE_OK)
			goto fail;
	if (curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (void *)c) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_URL, o->connect_url) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms) !=
		    CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "s3statusd/" S3S_VERSION) != CURLE_OK)
		goto fail;
	if (h->no_proxy) {
		if (curl_easy_setopt(c->easy, CURLOPT_PROXY, "") != CURLE_OK)
			goto fail;
	} else if (o->tls &&
		   curl_easy_setopt(c->easy, CURLOPT_PROXY, proxy_env(true)) != CURLE_OK) {
		goto fail;
	}
	if (curl_multi_add_handle(h->multi, c->easy) != CURLM_OK)
		goto fail;
	return c;
fail:
	conn_close(c);
	return NULL;
}

/* ---- origins ---- */

static int split_url(const char *url, bool *tls, const char **auth, size_t *auth_len,
		     const char **target)
{
	const char *p;

	if (strncasecmp(url, "https://", 8) == 0) {
		*tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		*tls = false;
		p = url + 7;
	} else {
		return -1;
	}
	*auth = p;
	*auth_len = strcspn(p, "/?#");
	*target = p + *auth_len;
	if (*auth_len == 0 || memchr(p, '@', *auth_len) || **target == '#')
		return -1;
	return 0;
}

static struct origin *origin_get(struct http *h, bool tls, const char *auth, size_t auth_len)
{
	struct origin *o;
	const char *colon, *host = auth, *port = NULL;
	size_t host_len = auth_len, i;
	struct buf k;

	buf_init(&k, 0);
	buf_adds(&k, tls ? "https://" : "http://");
	buf_add(&k, auth, auth_len);
	for (i = 0; i < k.len; i++)
		k.data[i] = (char)tolower((unsigned char)k.data[i]);
	for (o = h->origins; o; o = o->next)
		if (strcmp(o->key, buf_str(&k)) == 0) {
			buf_free(&k);
			return o;
		}
	if (auth[0] == '[') {
		const char *close_br = memchr(auth, ']', auth_len);

		if (!close_br) {
			buf_free(&k);
			return NULL;
		}
		host = auth + 1;
		host_len = (size_t)(close_br - host);
		if (close_br + 1 < auth + auth_len) {
			if (close_br[1] != ':') {
				buf_free(&k);
				return NULL;
			}
			port = close_br + 2;
		}
	} else if ((colon = memchr(auth, ':', auth_len))) {
		host_len = (size_t)(colon - auth);
		port = colon + 1;
	}
	if (host_len == 0 || (port && (size_t)(auth + auth_len - port) == 0)) {
		buf_free(&k);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->tls = tls;
	o->https_proxy = !h->no_proxy && strncasecmp(proxy_env(tls), "https://", 8) == 0;
	o->key = buf_steal(&k, NULL);
	o->authority = xstrndup(auth, auth_len);
	o->host = xstrndup(host, host_len);
	o->connect_url =
		xasprintf("http://%s%.*s%s:%.*s/", auth[0] == '[' ? "[" : "", (int)host_len, host,
			  auth[0] == '[' ? "]" : "",
			  port ? (int)(auth + auth_len - port) : (tls ? 3 : 2),
			  port ? port : (tls ? "443" : "80"));
	o->next = h->origins;
	h->origins = o;
	return o;
}

static void origin_free(struct origin *o)
{
	free(o->key);
	free(o->authority);
	free(o->host);
	free(o->connect_url);
	free(o);
}

/* ---- scheduling ---- */

static bool may_open(struct http *h, struct origin *o)
{
	struct conn *c;

	if (h->max_host_connections > 0 && o->nconns >= (unsigned long)h->max_host_connections)
		return false;
	if (h->max_total_connections <= 0 || h->nconns < (unsigned long)h->max_total_connections)
		return true;
	/* At the cap: make room by closing an idle connection elsewhere. */
	for (c = h->conns; c; c = c->next)
		if (c->st == C_IDLE && c->o != o) {
			conn_close(c);
			return true;
		}
	return false;
}

/* Hand idle connections to waiting transfers, open connections where needed,
 * report transfers refused before any connection. Callbacks may run. */
static void dispatch(struct http *h)
{
	struct origin *o;
	bool again = true;

	enter(h);
	while (again && !h->dying) {
		again = false;
		if (h->failed) {
			struct http_xfer *x = h->failed;

			h->failed = x->wnext;
			x->wnext = NULL;
			xfer_finish(h, x);
			again = true;
			continue;
		}
		for (o = h->origins; o && !h->dying; o = o->next) {
			while (o->wait_head && !h->dying) {
				struct conn *c = o->idle;

				if (c) {
					o->idle = c->next_idle;
					c->next_idle = NULL;
					if (loop_now(h->l) - c->idle_since > IDLE_REUSE_MS) {
						c->st = C_BUSY; /* not on the idle list */
						conn_close(c);
						continue;
					}
					xfer_assign(o->wait_head, c);
					again = true;
					break; /* callbacks may have changed the lists */
				}
				if (o->nconnecting >= o->nwait ||
				    o->nconnecting >= MAX_CONNECTING_PER_ORIGIN || !may_open(h, o))
					break;
				if (!conn_open(h, o)) {
					fail_head_waiter(o, CURLE_FAILED_INIT,
							 "cannot set up a connection");
					again = true;
					break;
				}
			}
			if (again)
				break;
		}
	}
	leave(h);
}

static void on_kick(struct loop *l, void *arg)
{
	(void)l;
	dispatch(arg);
}

/* ---- curl <-> loop glue (connecting only) ---- */

static void drain(struct http *h)
{
	CURLMsg *m;
	int left;

	while (!h->dying && (m = curl_multi_info_read(h->multi, &left))) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		conn_connected((struct conn *)(void *)priv, m->data.result);
	}
}

static void socket_action(struct http *h, curl_socket_t s, int flags)
{
	CURLMcode mc;
	int running;

	enter(h);
	mc = curl_multi_socket_action(h->multi, s, flags, &running);
	if (mc != CURLM_OK)
		log_err("http: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	drain(h);
	leave(h);
}

static void on_curl_socket_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	int flags = 0;

	(void)l;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	socket_action(arg, fd, flags);
}

static void on_curl_timer(struct loop *l, void *arg)
{
	(void)l;
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

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
	return loop_fd_watch(h->l, s, events, on_curl_socket_event, h) < 0 ? -1 : 0;
}

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

static void on_xfer_timeout(struct loop *l, void *arg)
{
	struct http_xfer *x = arg;
	struct http *h = x->h;

	(void)l;
	enter(h);
	if (x->c)
		conn_drop_xfer(x->c);
	set_fail(x, CURLE_OPERATION_TIMEDOUT,
		 xasprintf("Timeout was reached: operation timed out after %lld milliseconds",
			   (long long)(loop_now(h->l) - x->started)));
	xfer_finish(h, x);
	leave(h);
}

static bool method_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i]; i++)
		if (!isupper((unsigned char)m[i]))
			return false;
	return i > 0 && i <= 16;
}

static int build_request(struct http_xfer *x, const struct http_request *req, const char *method,
			 const char *target, bool has_body)
{
	struct buf *b = &x->out;
	char num[24];
	size_t i;
	int rc = 0;

	rc |= buf_adds(b, method);
	rc |= buf_addc(b, ' ');
	if (!*target || *target == '?')
		rc |= buf_addc(b, '/');
	rc |= buf_add(b, target, strcspn(target, "#"));
	rc |= buf_adds(b, " HTTP/1.1\r\nHost: ");
	rc |= buf_adds(b, x->o->authority);
	rc |= buf_adds(b, "\r\nUser-Agent: s3statusd/" S3S_VERSION "\r\n");
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *hd = &req->headers[i];

		if (!hd->name || !hd->value || !hd->name[0] || strpbrk(hd->name, ":;\r\n \t") ||
		    strpbrk(hd->value, "\r\n") || strcasecmp(hd->name, "Host") == 0 ||
		    strcasecmp(hd->name, "Content-Length") == 0 ||
		    strcasecmp(hd->name, "Transfer-Encoding") == 0)
			return -1;
		rc |= buf_adds(b, hd->name);
		rc |= buf_add(b, ": ", hd->value[0] ? 2 : 1);
		rc |= buf_adds(b, hd->value);
		rc |= buf_add(b, "\r\n", 2);
	}
	if (has_body) {
		snprintf(num, sizeof(num), "%zu", req->body_len);
		rc |= buf_adds(b, "Content-Length: ");
		rc |= buf_adds(b, num);
		rc |= buf_add(b, "\r\n", 2);
	}
	rc |= buf_add(b, "\r\n", 2);
	if (req->body_len > 0 && req->body_len <= INLINE_BODY_MAX)
		rc |= buf_add(b, req->body, req->body_len);
	else if (req->body_len > 0) {
		x->rbody = req->body;
		x->rbody_len = req->body_len;
	}
	return rc;
}

struct http_xfer *http_start(struct http *h, const struct http_request *req, http_done_cb cb,
			     void *arg)
{
	const char *method = req->method ? req->method : "GET";
	bool has_body = req->body_len > 0 || strcmp(method, "PUT") == 0 ||
			strcmp(method, "POST") == 0;
	size_t max = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	const char *auth = NULL, *target = NULL;
	size_t auth_len = 0;
	struct http_xfer *x;
	bool tls = false, bad_url;

	if (h->dying || !cb || !req->url || req->timeout_ms <= 0 ||
	    (req->body_len && !req->body) || !method_ok(method))
		return NULL;
	x = xcalloc(1, sizeof(*x));
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->started = loop_now(h->l);
	buf_init(&x->out, 0);
	http_parser_init(&x->rp, max, strcmp(method, "HEAD") == 0);
	bad_url = split_url(req->url, &tls, &auth, &auth_len, &target) < 0 ||
		  !(x->o = origin_get(h, tls, auth, auth_len));
	if (bad_url) {
		/* Reported from the loop, like curl's refusal of a scheme. */
		x->failed_early = true;
		x->fail_code = strstr(req->url, "://") && strncasecmp(req->url, "http://", 7) != 0 &&
					       strncasecmp(req->url, "https://", 8) != 0
				       ? CURLE_UNSUPPORTED_PROTOCOL
				       : CURLE_URL_MALFORMAT;
		x->fail_msg = xasprintf("%s: %.200s", curl_easy_strerror(x->fail_code), req->url);
	} else if (build_request(x, req, method, target, has_body) < 0) {
		xfer_free(x);
		return NULL;
	}
	x->timer = loop_timer_new(h->l, on_xfer_timeout, x);
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
	h->active++;
	if (x->failed_early) {
		struct http_xfer **pp = &h->failed;

		while (*pp)
			pp = &(*pp)->wnext;
		*pp = x;
	} else {
		loop_timer_arm(x->timer, req->timeout_ms);
		wait_push(x->o, x, false);
	}
	kick(h);
	return x;
}

void http_cancel(struct http_xfer *x)
{
	struct http *h;
	struct http_xfer **pp;

	if (!x || x->in_callback)
		return;
	h = x->h;
	if (x->failed_early)
		for (pp = &h->failed; *pp; pp = &(*pp)->wnext)
			if (*pp == x) {
				*pp = x->wnext;
				break;
			}
	if (x->o)
		wait_remove(x->o, x);
	if (x->c)
		conn_drop_xfer(x->c); /* mid-exchange: the connection cannot be reused */
	xfer_unlink(h, x);
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

static void destroy(struct http *h)
{
	while (h->xfers)
		http_cancel(h->xfers);
	while (h->conns)
		conn_close(h->conns);
	while (h->origins) {
		struct origin *o = h->origins;

		h->origins = o->next;
		origin_free(o);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	loop_timer_free(h->timer);
	loop_timer_free(h->kick);
	if (h->ssl_ctx)
		SSL_CTX_free(h->ssl_ctx);
	free(h->ssl_ctx_msg);
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
		/* Inside a callback: the engine's frames still use h. Nothing
		 * else is reported; everything goes when they unwind. */
		while (h->xfers)
			http_cancel(h->xfers);
		h->failed = NULL;
		h->dying = true;
		loop_timer_cancel(h->kick);
		return;
	}
	destroy(h);
}

struct http *http_new(struct loop *l, const struct http_options *opt)
{
	struct http *h = xcalloc(1, sizeof(*h));

	h->l = l;
	h->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (opt && opt->connect_timeout_ms > 0)
		h->connect_timeout_ms = opt->connect_timeout_ms;
	if (opt && opt->ca_file)
		h->ca_file = xstrdup(opt->ca_file);
	h->no_proxy = opt && opt->no_proxy;
	h->max_host_connections = opt ? opt->max_host_connections : 0;
	h->max_total_connections = opt ? opt->max_total_connections : 0;
	h->timer = loop_timer_new(l, on_curl_timer, h);
	h->kick = loop_timer_new(l, on_kick, h);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	h->global_init = true;
	if (!(h->multi = curl_multi_init()))
		goto fail;
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, (void *)h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, (void *)h) != CURLM_OK)
		goto fail;
	return h;
fail:
	destroy(h);
	return NULL;
}
