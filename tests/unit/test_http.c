/* test_http.c - the HTTP engine against a tiny keep-alive HTTP/1.1 server
 * running in threads of this process: reuse, bodies, headers, timeouts, caps,
 * failures, and cancelling, starting and freeing from callbacks. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "http.h"
#include "loop.h"
#include "util.h"

/* ======================= the test server ======================= */

#define MAX_CONN_THREADS 256
#define BIG_LEN (2 * 1024 * 1024)

static struct {
	int lfd;
	int port;
	int stop[2]; /* one byte written at shutdown wakes every thread */
	pthread_t listener;
	pthread_t conns[MAX_CONN_THREADS];
	int nconns; /* written by the listener only, read after joining it */
	atomic_int accepted;
} srv;

static bool wait_fd(int fd, short events)
{
	struct pollfd p[2] = {{fd, events, 0}, {srv.stop[0], POLLIN, 0}};

	for (;;) {
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0 && !p[1].revents;
	}
}

static bool send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n;

		if (!wait_fd(fd, POLLOUT))
			return false;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

static bool read_more(int fd, struct buf *in)
{
	char tmp[65536];
	ssize_t n;

	if (!wait_fd(fd, POLLIN))
		return false;
	n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	return n > 0 && buf_add(in, tmp, (size_t)n) == 0;
}

/* Value of a request header (case-insensitive name) into out, "-" if absent. */
static void req_header(const char *hdrs, size_t len, const char *name, char *out, size_t outsz)
{
	const char *p = memchr(hdrs, '\n', len), *end = hdrs + len;
	size_t nlen = strlen(name);

	snprintf(out, outsz, "-");
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			size_t vlen;
			while (v < eol && *v == ' ')
				v++;
			vlen = (size_t)(eol - v);
			if (vlen > 0 && v[vlen - 1] == '\r')
				vlen--;
			snprintf(out, outsz, "%.*s", (int)vlen, v);
			return;
		}
		p = eol;
	}
}

/* Answer one request; false closes the connection. */
static bool serve(int fd, const char *method, const char *path, const char *hdrs, size_t hlen,
		  const char *body, size_t blen)
{
	char head[1024], ctype[128], expect[128], clen[32];
	struct buf b;
	bool ok;
	int i;

	if (strcmp(path, "/ok") == 0)
		return send_str(fd, "HTTP/1.1 200 OK\r\nETag:   \"abc123\"  \r\nX-Custom: Value\r\n"
				    "Content-Length: 5\r\n\r\n") &&
		       (strcmp(method, "HEAD") == 0 || send_str(fd, "hello"));
	if (strcmp(path, "/slow") == 0) {
		struct pollfd p = {srv.stop[0], POLLIN, 0};
		if (poll(&p, 1, 2000) != 0)
			return false;
		return send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
	}
	if (strcmp(path, "/big") == 0) {
		static char chunk[65536];
		memset(chunk, 'x', sizeof(chunk));
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_LEN);
		if (!send_str(fd, head))
			return false;
		for (i = 0; i < BIG_LEN / (int)sizeof(chunk); i++)
			if (!send_all(fd, chunk, sizeof(chunk)))
				return false;
		return true;
	}
	if (strcmp(path, "/close") == 0)
		return false;
	if (strcmp(path, "/closing") == 0) { /* answers, then closes as it said */
		send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
		return false;
	}
	if (strcmp(path, "/interims") == 0) { /* more 1xx answers than anyone needs */
		for (i = 0; i < 40; i++)
			if (!send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
				return false;
		return send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	}
	if (strcmp(path, "/trailers") == 0) { /* a trailer section that goes on */
		if (!send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"))
			return false;
		for (i = 0; i < 40000; i++)
			if (!send_str(fd, "X-Trailer: 0123456789\r\n"))
				return false;
		return send_str(fd, "\r\n");
	}
	if (strcmp(path, "/echo") == 0) {
		req_header(hdrs, hlen, "content-type", ctype, sizeof(ctype));
		req_header(hdrs, hlen, "expect", expect, sizeof(expect));
		req_header(hdrs, hlen, "content-length", clen, sizeof(clen));
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nX-Method: %s\r\nX-Content-Type: %s\r\nX-Expect: %s\r\n"
			 "X-Content-Length: %s\r\nContent-Length: %zu\r\n\r\n",
			 method, ctype, expect, clen, blen);
		return send_str(fd, head) && send_all(fd, body, blen);
	}
	if (strcmp(path, "/continue") == 0)
		return send_str(fd, "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
				    "HTTP/1.1 200 OK\r\nX-Final:  yes \r\nContent-Length: 4\r\n\r\ndone");
	if (strcmp(path, "/many") == 0) {
		buf_init(&b, 0);
		buf_adds(&b, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 20; i++)
			buf_addf(&b, "X-H%d: %d\r\n", i, i);
		buf_adds(&b, "Content-Length: 0\r\n\r\n");
		ok = send_all(fd, b.data, b.len);
		buf_free(&b);
		return ok;
	}
	return send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct buf in;

	buf_init(&in, 16 * 1024 * 1024);
	for (;;) {
		char method[16], path[256], clen[32], *q;
		const char *end;
		size_t hlen, need;
		int64_t blen;

		while (!(end = in.data ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL))
			if (!read_more(fd, &in))
				goto out;
		hlen = (size_t)(end - in.data) + 4;
		if (sscanf(in.data, "%15s %255s", method, path) != 2)
			goto out;
		if ((q = strchr(path, '?')))
			*q = '\0';
		if (strcmp(path, "/early") == 0) {
			/* refuses the body before reading it, and closes (the unread
			 * body makes that a reset) */
			send_str(fd, "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n"
				     "Content-Length: 8\r\n\r\ntoo big!");
			goto out;
		}
		req_header(in.data, hlen, "content-length", clen, sizeof(clen));
		if (strcmp(clen, "-") == 0)
			blen = 0;
		else if (parse_i64(clen, 0, BIG_LEN * 4, &blen) < 0)
			goto out;
		need = hlen + (size_t)blen;
		while (in.len < need)
			if (!read_more(fd, &in))
				goto out;
		if (!serve(fd, method, path, in.data, hlen, in.data + hlen, (size_t)blen))
			goto out;
		memmove(in.data, in.data + need, in.len - need);
		in.len -= need;
	}
out:
	close(fd);
	buf_free(&in);
	return NULL;
}

static void *listener_main(void *arg)
{
	(void)arg;
	while (wait_fd(srv.lfd, POLLIN)) {
		int fd = accept4(srv.lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		atomic_fetch_add(&srv.accepted, 1);
		if (srv.nconns == MAX_CONN_THREADS ||
		    pthread_create(&srv.conns[srv.nconns], NULL, conn_main, (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		srv.nconns++;
	}
	return NULL;
}

static int listen_any(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("listen_any");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void server_start(void)
{
	srv.lfd = listen_any(&srv.port);
	if (listen(srv.lfd, 128) < 0 || pipe2(srv.stop, O_CLOEXEC) < 0 ||
	    pthread_create(&srv.listener, NULL, listener_main, NULL) != 0) {
		perror("server_start");
		exit(2);
	}
}

static void server_stop(void)
{
	int i;

	if (write(srv.stop[1], "x", 1) != 1)
		perror("server_stop");
	pthread_join(srv.listener, NULL);
	for (i = 0; i < srv.nconns; i++)
		pthread_join(srv.conns[i], NULL);
	close(srv.lfd);
	close(srv.stop[0]);
	close(srv.stop[1]);
}

/* ======================= the client side ======================= */

static struct loop *L;
static int pending;
static bool watchdog_fired;

static void on_watchdog(struct loop *l, void *arg)
{
	(void)arg;
	watchdog_fired = true;
	loop_stop(l);
}

static void run(int64_t max_ms)
{
	struct loop_timer *wd = loop_timer_new(L, on_watchdog, NULL);

	watchdog_fired = false;
	loop_timer_arm(wd, max_ms);
	CHECK_INT(loop_run(L), 0);
	CHECK(!watchdog_fired);
	loop_timer_free(wd);
}

struct result {
	int done;
	long status;
	int code;
	char *error;
	char *body;
	size_t body_len;
	int64_t elapsed_ms;
	char *hdr[8]; /* values of the names below, NULL when absent */
	bool names_lower;
	size_t nheaders;
};

static const char *const wanted[8] = {"etag",	  "ETag",	    "x-custom",	  "X-Method",
				      "x-content-type", "x-expect", "x-interim", "x-final"};
enum { H_ETAG, H_ETAG_MIXED, H_CUSTOM, H_METHOD, H_CTYPE, H_EXPECT, H_INTERIM, H_FINAL };

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void result_free(struct result *r)
{
	size_t i;

	free(r->error);
	free(r->body);
	for (i = 0; i < ARRAY_SIZE(r->hdr); i++)
		free(r->hdr[i]);
	memset(r, 0, sizeof(*r));
}

static void capture(struct http_response *resp, struct result *r)
{
	size_t i, j;

	r->done++;
	r->status = resp->status;
	r->code = resp->curl_code;
	r->error = xstrdup(resp->error);
	r->body = buf_steal(&resp->body, &r->body_len);
	r->elapsed_ms = resp->elapsed_ms;
	for (i = 0; i < ARRAY_SIZE(wanted); i++)
		r->hdr[i] = dup_or_null(http_response_header(resp, wanted[i]));
	r->names_lower = true;
	for (i = 0; i < resp->nheaders; i++)
		for (j = 0; resp->headers[i].name[j]; j++)
			if (resp->headers[i].name[j] >= 'A' && resp->headers[i].name[j] <= 'Z')
				r->names_lower = false;
	r->nheaders = resp->nheaders;
}

static void on_done(struct http_response *resp, void *arg)
{
	capture(resp, arg);
	if (--pending == 0)
		loop_stop(L);
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

static struct http_xfer *start(struct http *h, const char *method, const char *path,
			       const void *body, size_t body_len, struct result *r)
{
	char *u = url(path);
	struct http_request req = {.method = method, .url = u, .body = body,
				   .body_len = body_len, .timeout_ms = 5000};
	struct http_xfer *x = http_start(h, &req, on_done, r);

	free(u);
	if (x)
		pending++;
	return x;
}

static struct http *new_engine(long max_host)
{
	struct http_options opt = {.max_host_connections = max_host};
	struct http *h = http_new(L, &opt);

	if (!h) {
		fprintf(stderr, "http_new failed\n");
		exit(2);
	}
	return h;
}

/* GET and HEAD: status, body, headers looked up case-insensitively. */
static void test_get(void)
{
	struct http *h = new_engine(0);
	struct result r = {0}, hr = {0};

	CHECK(start(h, "GET", "/ok", NULL, 0, &r) != NULL);
	CHECK(start(h, "HEAD", "/ok", NULL, 0, &hr) != NULL);
	CHECK_INT(http_active(h), 2);
	run(5000);
	CHECK_INT(http_active(h), 0);
	CHECK_INT(r.done, 1);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.code, CURLE_OK);
	CHECK_STR(r.error, "");
	CHECK_STR(r.body, "hello");
	CHECK_STR(r.hdr[H_ETAG], "\"abc123\""); /* trimmed */
	CHECK_STR(r.hdr[H_ETAG_MIXED], "\"abc123\"");
	CHECK_STR(r.hdr[H_CUSTOM], "Value");
	CHECK(r.hdr[H_METHOD] == NULL);
	CHECK(r.names_lower);
	CHECK_INT(r.nheaders, 3);

	CHECK_INT(hr.done, 1);
	CHECK_INT(hr.status, 200);
	CHECK_INT(hr.body_len, 0);
	CHECK_STR(hr.hdr[H_ETAG], "\"abc123\"");
	result_free(&r);
	result_free(&hr);
	http_free(h);
}

/* 50 transfers in flight on one thread share a handful of connections. */
static void test_concurrent_reuse(void)
{
	struct http *h = new_engine(4);
	struct result r[50];
	int i, ok = 0, before = atomic_load(&srv.accepted), conns;
	char path[32];

	memset(r, 0, sizeof(r));
	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/ok?i=%d", i);
		CHECK(start(h, "GET", path, NULL, 0, &r[i]) != NULL);
	}
	CHECK_INT(http_active(h), 50);
	run(10000);
	for (i = 0; i < 50; i++) {
		ok += r[i].done == 1 && r[i].status == 200 && r[i].code == 0 && r[i].body &&
		      strcmp(r[i].body, "hello") == 0;
		result_free(&r[i]);
	}
	CHECK_INT(ok, 50);
	conns = atomic_load(&srv.accepted) - before;
	printf("test_http: 50 GETs used %d connections\n", conns);
	CHECK(conns >= 1 && conns <= 4);

	/* A second wave reuses the cached connections. */
	before = atomic_load(&srv.accepted);
	for (i = 0; i < 10; i++)
		CHECK(start(h, "GET", "/ok", NULL, 0, &r[i]) != NULL);
	run(10000);
	for (i = 0; i < 10; i++) {
		CHECK_INT(r[i].status, 200);
		result_free(&r[i]);
	}
	CHECK_INT(atomic_load(&srv.accepted) - before, 0);
	http_free(h);
}

/* Bodies go up from memory, without Expect: 100-continue or curl's default
 * Content-Type; methods come through. */
static void test_echo(void)
{
	struct http *h = new_engine(0);
	static const struct http_header hdrs[] = {{"Content-Type", "text/plain"},
						  {"X-Amz-Meta-Empty", ""}};
	char *u = url("/echo");
	struct http_request req = {.method = "PUT", .url = u, .headers = hdrs, .nheaders = 2,
				   .body = "hello, world", .body_len = 12, .timeout_ms = 5000};
	struct result put = {0}, post = {0}, big = {0}, del = {0}, empty = {0};
	char *bigbody = xmalloc(BIG_LEN);

	memset(bigbody, 'b', BIG_LEN);
	CHECK(http_start(h, &req, on_done, &put) != NULL);
	pending++;
	CHECK(start(h, "POST", "/echo", "a=b", 3, &post) != NULL);
	CHECK(start(h, "DELETE", "/echo", NULL, 0, &del) != NULL);
	CHECK(start(h, "PUT", "/echo", NULL, 0, &empty) != NULL);
	req.headers = NULL;
	req.nheaders = 0;
	req.body = bigbody;
	req.body_len = BIG_LEN;
	req.max_response = 2 * BIG_LEN;
	CHECK(http_start(h, &req, on_done, &big) != NULL);
	pending++;
	run(10000);

	CHECK_INT(put.status, 200);
	CHECK_STR(put.body, "hello, world");
	CHECK_STR(put.hdr[H_METHOD], "PUT");
	CHECK_STR(put.hdr[H_CTYPE], "text/plain");
	CHECK_STR(put.hdr[H_EXPECT], "-");

	CHECK_INT(post.status, 200);
	CHECK_STR(post.body, "a=b");
	CHECK_STR(post.hdr[H_METHOD], "POST");
	CHECK_STR(post.hdr[H_CTYPE], "-"); /* no application/x-www-form-urlencoded */

	CHECK_INT(del.status, 200);
	CHECK_STR(del.hdr[H_METHOD], "DELETE");
	CHECK_INT(del.body_len, 0);

	CHECK_INT(empty.status, 200);
	CHECK_STR(empty.hdr[H_METHOD], "PUT");
	CHECK_INT(empty.body_len, 0);

	CHECK_INT(big.code, CURLE_OK);
	CHECK_INT(big.status, 200);
	CHECK_INT(big.body_len, BIG_LEN);
	CHECK(big.body && memcmp(big.body, bigbody, BIG_LEN) == 0);
	CHECK_STR(big.hdr[H_EXPECT], "-");
	CHECK(big.elapsed_ms < 1000); /* no 1 s wait for a 100 Continue */

	result_free(&put);
	result_free(&post);
	result_free(&big);
	result_free(&del);
	result_free(&empty);
	free(bigbody);
	free(u);
	http_free(h);
}

/* Headers of an interim 100 response are dropped. */
static void test_interim(void)
{
	struct http *h = new_engine(0);
	struct result r = {0};

	CHECK(start(h, "GET", "/continue", NULL, 0, &r) != NULL);
	run(5000);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "done");
	CHECK(r.hdr[H_INTERIM] == NULL);
	CHECK_STR(r.hdr[H_FINAL], "yes");
	result_free(&r);
	http_free(h);
}

/* Timeouts, caps and transport failures. */
static void test_failures(void)
{
	struct http *h = new_engine(0);
	struct result slow = {0}, big = {0}, bigok = {0}, many = {0}, closed = {0}, refused = {0};
	char *u = url("/slow");
	struct http_request req = {.url = u, .timeout_ms = 300};
	int dead_port, dead_fd = listen_any(&dead_port);

	close(dead_fd); /* bound, never listened, closed: connecting is refused */
	CHECK(http_start(h, &req, on_done, &slow) != NULL);
	pending++;
	CHECK(start(h, "GET", "/big", NULL, 0, &big) != NULL);
	free(u);
	u = url("/big");
	req.url = u;
	req.timeout_ms = 5000;
	req.max_response = 3 * 1024 * 1024;
	CHECK(http_start(h, &req, on_done, &bigok) != NULL);
	pending++;
	CHECK(start(h, "GET", "/many", NULL, 0, &many) != NULL);
	CHECK(start(h, "GET", "/close", NULL, 0, &closed) != NULL);
	free(u);
	u = xasprintf("http://127.0.0.1:%d/ok", dead_port);
	req.url = u;
	CHECK(http_start(h, &req, on_done, &refused) != NULL);
	pending++;
	run(10000);

	CHECK_INT(slow.code, CURLE_OPERATION_TIMEDOUT);
	CHECK_INT(slow.status, 0);
	CHECK(slow.elapsed_ms >= 250 && slow.elapsed_ms < 1500);
	CHECK(slow.error && strstr(slow.error, "Timeout") != NULL);

	CHECK_INT(big.code, CURLE_WRITE_ERROR);
	CHECK_STR(big.error, "response body exceeds 1048576 bytes");
	CHECK_INT(bigok.code, CURLE_OK);
	CHECK_INT(bigok.body_len, BIG_LEN);

	CHECK_INT(many.code, CURLE_WRITE_ERROR);
	CHECK(many.error && strncmp(many.error, "response headers exceed", 23) == 0);

	CHECK_INT(closed.code, CURLE_GOT_NOTHING);
	CHECK_INT(closed.status, 0);
	CHECK(closed.error && closed.error[0]);

	CHECK_INT(refused.code, CURLE_COULDNT_CONNECT);
	CHECK_INT(refused.status, 0);
	CHECK(refused.error && strstr(refused.error, "onnect") != NULL);
	printf("test_http: refused -> \"%s\"\n", refused.error ? refused.error : "");

	result_free(&slow);
	result_free(&big);
	result_free(&bigok);
	result_free(&many);
	result_free(&closed);
	result_free(&refused);
	free(u);
	http_free(h);
}

/* Transfers queued at the engine's connection cap start as soon as a
 * connection closes (Connection: close) or goes idle on another origin. */
static void test_cap_wakeups(void)
{
	struct http_options opt = {.max_total_connections = 1};
	struct http *h = http_new(L, &opt);
	struct result a = {0}, b = {0}, c = {0}, d = {0};
	char *u = xasprintf("http://localhost:%d/ok", srv.port);
	struct http_request req = {.url = u, .timeout_ms = 5000};

	CHECK(h != NULL);
	CHECK(start(h, "GET", "/closing", NULL, 0, &a) != NULL);
	CHECK(start(h, "GET", "/ok", NULL, 0, &b) != NULL); /* waits for a's connection to close */
	run(8000);
	CHECK_INT(a.code, CURLE_OK);
	CHECK_STR(a.body, "ok");
	CHECK_INT(b.code, CURLE_OK);
	CHECK_STR(b.body, "hello");
	CHECK(b.elapsed_ms < 2000);

	CHECK(start(h, "GET", "/ok", NULL, 0, &c) != NULL);
	CHECK(http_start(h, &req, on_done, &d) != NULL); /* another origin: waits for the cap */
	pending++;
	run(8000);
	CHECK_INT(c.code, CURLE_OK);
	CHECK_INT(d.code, CURLE_OK);
	CHECK_STR(d.body, "hello");
	CHECK(d.elapsed_ms < 2000);
	result_free(&a);
	result_free(&b);
	result_free(&c);
	result_free(&d);
	free(u);
	http_free(h);
}

/* Answers a hostile or hasty server gives: endless interim responses and
 * trailers are cut off; an early refusal of a large upload is the result,
 * not a failed write. */
static void test_hostile_answers(void)
{
	struct http *h = new_engine(0);
	struct result interims = {0}, trailers = {0}, early = {0};
	size_t big = 8 * 1024 * 1024;
	char *body = xmalloc(big);

	memset(body, 'b', big);
	CHECK(start(h, "GET", "/interims", NULL, 0, &interims) != NULL);
	CHECK(start(h, "GET", "/trailers", NULL, 0, &trailers) != NULL);
	CHECK(start(h, "PUT", "/early", body, big, &early) != NULL);
	run(8000);
	CHECK_INT(interims.code, CURLE_WEIRD_SERVER_REPLY);
	CHECK(interims.error && strstr(interims.error, "interim") != NULL);
	CHECK_INT(trailers.code, CURLE_WRITE_ERROR);
	CHECK(trailers.error && strncmp(trailers.error, "response headers exceed", 23) == 0);
	CHECK_INT(early.code, CURLE_OK);
	CHECK_INT(early.status, 413);
	CHECK_STR(early.body, "too big!");
	printf("test_http: early refusal -> %d %ld \"%s\"\n", early.code, early.status,
	       early.error ? early.error : "");
	result_free(&interims);
	result_free(&trailers);
	result_free(&early);
	free(body);
	http_free(h);
}

/* Requests curl would refuse, or the engine rejects, give NULL. */
static void test_rejected(void)
{
	struct http *h = new_engine(0);
	static const struct http_header bad[] = {{"X-Evil", "a\r\nX-Injected: 1"}};
	char *u = url("/ok");
	struct http_request req = {.url = u, .timeout_ms = 0};
	struct result r = {0};

	CHECK(http_start(h, &req, on_done, &r) == NULL); /* no timeout */
	req.timeout_ms = 1000;
	req.headers = bad;
	req.nheaders = 1;
	CHECK(http_start(h, &req, on_done, &r) == NULL); /* header injection */
	req.headers = NULL;
	req.nheaders = 0;
	req.url = "ftp://127.0.0.1/x";
	CHECK(http_start(h, &req, on_done, &r) != NULL); /* refused by curl when it runs */
	pending = 1;
	run(5000);
	CHECK_INT(r.code, CURLE_UNSUPPORTED_PROTOCOL);
	CHECK_INT(http_active(h), 0);
	http_cancel(NULL);
	result_free(&r);
	free(u);
	http_free(h);
	http_free(NULL);
}

/* ---- callbacks that cancel, start and free ---- */

struct chain {
	struct http *h;
	struct http_xfer *victim;
	struct http_xfer *self;
	struct result first;
	struct result second;
	int victim_calls;
	unsigned active_in_cb;
};

static void on_victim(struct http_response *resp, void *arg)
{
	struct chain *c = arg;

	(void)resp;
	c->victim_calls++;
}

static void on_second(struct http_response *resp, void *arg)
{
	struct chain *c = arg;

	capture(resp, &c->second);
	loop_stop(L);
}

static void on_first_cancels(struct http_response *resp, void *arg)
{
	struct chain *c = arg;

	capture(resp, &c->first);
	http_cancel(c->self); /* its own callback is running: a no-op */
	http_cancel(c->victim);
	c->active_in_cb = http_active(c->h);
	loop_stop(L);
}

static void on_settle(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void settle(int64_t ms)
{
	struct loop_timer *t = loop_timer_new(L, on_settle, NULL);

	loop_timer_arm(t, ms);
	CHECK_INT(loop_run(L), 0);
	loop_timer_free(t);
}

static void test_cancel_from_callback(void)
{
	struct chain c = {0};
	char *ok = url("/ok"), *slow = url("/slow");
	struct http_request r_ok = {.url = ok, .timeout_ms = 5000};
	struct http_request r_slow = {.url = slow, .timeout_ms = 5000};

	c.h = new_engine(0);
	c.victim = http_start(c.h, &r_slow, on_victim, &c);
	c.self = http_start(c.h, &r_ok, on_first_cancels, &c);
	CHECK(c.victim && c.self);
	run(5000);
	CHECK_INT(c.first.status, 200);
	CHECK_INT(c.active_in_cb, 0);
	settle(100);
	CHECK_INT(c.victim_calls, 0);
	CHECK_INT(http_active(c.h), 0);
	result_free(&c.first);
	http_free(c.h);
	free(ok);
	free(slow);
}

static void on_first_starts(struct http_response *resp, void *arg)
{
	struct chain *c = arg;
	char *u = url("/echo");
	struct http_request req = {.method = "POST", .url = u, .body = "chained",
				   .body_len = 7, .timeout_ms = 5000};

	capture(resp, &c->first);
	CHECK(http_start(c->h, &req, on_second, c) != NULL);
	c->active_in_cb = http_active(c->h);
	free(u);
}

static void test_start_from_callback(void)
{
	struct chain c = {0};
	char *ok = url("/ok");
	struct http_request r_ok = {.url = ok, .timeout_ms = 5000};

	c.h = new_engine(0);
	CHECK(http_start(c.h, &r_ok, on_first_starts, &c) != NULL);
	run(5000);
	CHECK_INT(c.first.status, 200);
	CHECK_INT(c.active_in_cb, 1);
	CHECK_INT(c.second.status, 200);
	CHECK_STR(c.second.body, "chained");
	CHECK_INT(http_active(c.h), 0);
	result_free(&c.first);
	result_free(&c.second);
	http_free(c.h);
	free(ok);
}

static void on_first_frees(struct http_response *resp, void *arg)
{
	struct chain *c = arg;

	capture(resp, &c->first);
	http_free(c->h); /* the victim goes too, without its callback */
	c->h = NULL;
	loop_stop(L);
}

static void test_free_from_callback(void)
{
	struct chain c = {0};
	char *ok = url("/ok"), *slow = url("/slow");
	struct http_request r_ok = {.url = ok, .timeout_ms = 5000};
	struct http_request r_slow = {.url = slow, .timeout_ms = 5000};

	c.h = new_engine(0);
	c.victim = http_start(c.h, &r_slow, on_victim, &c);
	CHECK(http_start(c.h, &r_ok, on_first_frees, &c) != NULL);
	run(5000);
	CHECK_INT(c.first.status, 200);
	CHECK(c.h == NULL);
	settle(100); /* the loop still works, nothing of the engine is left in it */
	CHECK_INT(c.victim_calls, 0);
	result_free(&c.first);
	free(ok);
	free(slow);
}

/* Two transfers that fail in the same curl call (unsupported protocol): the
 * second one's completion is already queued when the first callback cancels
 * it (or frees the engine). It must vanish without a callback. */
struct pair {
	struct http *h;
	struct http_xfer *x[2];
	int calls[2];
	bool free_engine;
};

static struct pair *cur_pair;

static void on_pair(struct http_response *resp, void *arg)
{
	struct pair *p = cur_pair;

	(void)resp;
	p->calls[(intptr_t)arg]++;
	if (p->free_engine) {
		http_free(p->h);
		p->h = NULL;
	} else {
		http_cancel(p->x[0]);
		http_cancel(p->x[1]);
	}
	loop_stop(L);
}

static void test_cancel_queued(void)
{
	struct pair p;
	struct http_request req = {.url = "ftp://127.0.0.1/x", .timeout_ms = 5000};
	int round, i;

	for (round = 0; round < 2; round++) {
		memset(&p, 0, sizeof(p));
		cur_pair = &p;
		p.free_engine = round == 1;
		p.h = new_engine(0);
		for (i = 0; i < 2; i++)
			CHECK((p.x[i] = http_start(p.h, &req, on_pair, (void *)(intptr_t)i)) != NULL);
		run(5000);
		settle(20);
		CHECK_INT(p.calls[0] + p.calls[1], 1);
		if (p.h)
			CHECK_INT(http_active(p.h), 0);
		http_free(p.h);
	}
}

/* Cancelling from a plain loop timer, then freeing with transfers in flight. */
static struct http_xfer *to_cancel;

static void on_cancel_timer(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	http_cancel(to_cancel);
}

static void test_cancel_and_free_in_flight(void)
{
	struct http *h = new_engine(0);
	struct loop_timer *t = loop_timer_new(L, on_cancel_timer, NULL);
	struct chain c = {0};
	char *slow = url("/slow");
	struct http_request r_slow = {.url = slow, .timeout_ms = 5000};

	to_cancel = http_start(h, &r_slow, on_victim, &c);
	CHECK(to_cancel != NULL);
	loop_timer_arm(t, 50);
	settle(200);
	CHECK_INT(http_active(h), 0);
	CHECK_INT(c.victim_calls, 0);

	CHECK(http_start(h, &r_slow, on_victim, &c) != NULL);
	settle(50);
	CHECK_INT(http_active(h), 1);
	http_free(h); /* with a transfer on the wire */
	settle(50);
	CHECK_INT(c.victim_calls, 0);
	loop_timer_free(t);
	free(slow);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* CURLOPT_NOSIGNAL: the process ignores SIGPIPE */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	setenv("no_proxy", "*", 1);

	server_start();
	L = loop_new();
	if (!L) {
		perror("loop_new");
		return 2;
	}
	test_get();
	test_concurrent_reuse();
	test_echo();
	test_interim();
	test_failures();
	test_rejected();
	test_cap_wakeups();
	test_hostile_answers();
	test_cancel_from_callback();
	test_start_from_callback();
	test_free_from_callback();
	test_cancel_queued();
	test_cancel_and_free_in_flight();
	loop_free(L);
	server_stop();
	return check_done("test_http");
}
