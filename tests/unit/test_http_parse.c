/* test_http_parse.c - the HTTP/1.1 response parser: framing by
 * Content-Length, chunked coding and close; interim responses; keep-alive
 * rules; limits; malformed answers. Every case is also fed one byte at a
 * time, which must give the same result as one piece. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "check.h"
#include "http_parse.h"

struct outcome {
	int rc;
	size_t used;
	long status;
	bool keep_alive;
	char body[256];
	size_t body_len;
	int fail_code;
	char msg[160];
};

static void parse(const char *in, size_t n, size_t step, bool head, size_t max_body, bool eof,
		  struct outcome *o)
{
	struct http_parser r;
	size_t off = 0, used;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	http_parser_init(&r, max_body, head);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		used = 0; /* only set when the response is complete */
		rc = http_parser_feed(&r, in + off, k, &used);
		if (rc != 0) {
			off += used;
			break;
		}
		off += k;
	}
	if (rc == 0 && eof)
		rc = http_parser_eof(&r);
	o->rc = rc;
	o->used = off;
	o->status = r.ps != HP_HEAD ? r.status : 0;
	o->keep_alive = r.keep_alive;
	o->body_len = r.body.len;
	if (r.body.len < sizeof(o->body))
		memcpy(o->body, r.body.data ? r.body.data : "", r.body.len);
	o->fail_code = r.fail_code;
	snprintf(o->msg, sizeof(o->msg), "%s", r.fail_msg ? r.fail_msg : "");
	if (rc == 1 && strcmp(o->msg, "") == 0) {
		const char *e = http_parser_header(&r, "etag");

		if (e)
			snprintf(o->msg, sizeof(o->msg), "etag=%s", e);
	}
	http_parser_free(&r);
}

/* Parses in one piece and byte by byte; both must agree. */
static void both(const char *in, bool head, size_t max_body, bool eof, struct outcome *o)
{
	struct outcome one;

	parse(in, strlen(in), strlen(in) ? strlen(in) : 1, head, max_body, eof, o);
	parse(in, strlen(in), 1, head, max_body, eof, &one);
	CHECK_INT(one.rc, o->rc);
	if (o->rc == 1)
		CHECK_INT(one.used, o->used);
	CHECK_INT(one.status, o->status);
	CHECK_INT(one.body_len, o->body_len);
	CHECK(memcmp(one.body, o->body, sizeof(one.body)) == 0);
	CHECK_STR(one.msg, o->msg);
}

static void test_content_length(void)
{
	struct outcome o;
	const char *in = "HTTP/1.1 200 OK\r\nETag:  \"e1\" \r\nContent-Length: 5\r\n\r\nhelloNEXT";

	both(in, false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_INT(o.status, 200);
	CHECK_STR(o.body, "hello");
	CHECK_INT(o.used, strlen(in) - 4); /* the extra bytes are not consumed */
	CHECK(o.keep_alive);
	CHECK_STR(o.msg, "etag=\"e1\"");

	both("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, 1024, false, &o);
	CHECK_INT(o.rc, 0); /* needs more */
	both("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, 1024, true, &o);
	CHECK_INT(o.rc, 0); /* a close does not end a counted body */
	both("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_INT(o.body_len, 0);
}

static void test_chunked(void)
{
	struct outcome o;

	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_STR(o.body, "hello, world");
	CHECK(o.keep_alive);
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_STR(o.body, "0123456789");
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_INT(o.fail_code, CURLE_WEIRD_SERVER_REPLY);
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", false, 1024,
	     false, &o);
	CHECK_INT(o.rc, -1); /* no CRLF after the data */
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", false,
	     1024, false, &o);
	CHECK_INT(o.rc, -1); /* 17 hex digits */
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n", false, 1024, false,
	     &o);
	CHECK_INT(o.rc, -1); /* a chunk over the body cap */
	CHECK_INT(o.fail_code, CURLE_WRITE_ERROR);
	CHECK_STR(o.msg, "response body exceeds 1024 bytes");
}

static void test_close_delimited_and_keep_alive(void)
{
	struct outcome o;

	both("HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 1024, true, &o);
	CHECK_INT(o.rc, 1);
	CHECK_STR(o.body, "until the end");
	CHECK(!o.keep_alive);
	both("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 0\r\n\r\n", false,
	     1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK(!o.keep_alive);
	both("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, 1024, false, &o);
	CHECK(!o.keep_alive);
	both("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, 1024,
	     false, &o);
	CHECK(o.keep_alive);
}

static void test_no_body(void)
{
	struct outcome o;

	both("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", true, 1024, false, &o);
	CHECK_INT(o.rc, 1); /* HEAD */
	CHECK_INT(o.body_len, 0);
	both("HTTP/1.1 204 No Content\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	both("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
}

static void test_interim_and_bare_lf(void)
{
	struct outcome o;

	both("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 412 Precondition Failed\n"
	     "ETag: \"z\"\nContent-Length: 2\n\nno",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_INT(o.status, 412);
	CHECK_STR(o.body, "no");
	CHECK_STR(o.msg, "etag=\"z\"");
}

static void test_malformed_and_limits(void)
{
	struct outcome o;
	char *many;
	size_t i, off = 0;

	both("SSH-2.0-OpenSSH\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_INT(o.fail_code, CURLE_WEIRD_SERVER_REPLY);
	both("HTTP/1.1 2x0 OK\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	both("HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	both("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, 1024,
	     false, &o);
	CHECK_INT(o.rc, -1);
	both("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_INT(o.fail_code, CURLE_WRITE_ERROR);
	CHECK_STR(o.msg, "response body exceeds 1024 bytes");
	both("HTTP/1.1 101 Switching Protocols\r\n\r\n", false, 1024, false, &o);
	CHECK_INT(o.rc, -1);

	many = malloc(64 * 1024);
	off += (size_t)sprintf(many + off, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < HTTP_MAX_RESPONSE_HEADERS + 1; i++)
		off += (size_t)sprintf(many + off, "X-H%zu: v\r\n", i);
	sprintf(many + off, "\r\n");
	both(many, false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_INT(o.fail_code, CURLE_WRITE_ERROR);
	CHECK(strncmp(o.msg, "response headers exceed", 23) == 0);
	/* a header block that never ends stops at the byte limit */
	memset(many, 'a', 64 * 1024 - 1);
	memcpy(many, "HTTP/1.1 200 OK\r\nX: ", 20);
	many[64 * 1024 - 1] = '\0';
	both(many, false, 1024, false, &o);
	CHECK_INT(o.rc, 0);
	parse(many, strlen(many), 4096, false, 1024, false, &o);
	CHECK_INT(o.rc, 0);
	{
		struct http_parser r;
		size_t used;

		http_parser_init(&r, 1024, false);
		CHECK_INT(http_parser_feed(&r, many, strlen(many), &used), 0);
		CHECK_INT(http_parser_feed(&r, "aa", 2, &used), -1);
		CHECK_INT(r.fail_code, CURLE_WRITE_ERROR);
		http_parser_free(&r);
	}
	free(many);
}

/* Framing a hostile or broken server could make ambiguous: refused, or the
 * connection not reused. */
static void test_ambiguous_framing(void)
{
	struct outcome o;
	struct buf b;
	int i;

	both("HTTP/1.1 200 OK\r\nX-A: 1\r\n \t\r\nContent-Length: 2\r\n\r\nok", false, 1024, false,
	     &o);
	CHECK_INT(o.rc, -1); /* a white space line would hide the headers after it */
	CHECK_INT(o.fail_code, CURLE_WEIRD_SERVER_REPLY);
	both("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk", false, 1024,
	     false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.msg, "Weird server reply: conflicting Content-Length headers");
	both("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false, 1024,
	     false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_STR(o.body, "ok");
	both("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n"
	     "Content-Length: 0\r\n\r\n",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK(!o.keep_alive); /* every Connection header counts */
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false,
	     1024, true, &o);
	CHECK_INT(o.rc, 1); /* not chunked: the body runs to the close */
	CHECK_STR(o.body, "2\r\nok\r\n0\r\n\r\n");
	CHECK(!o.keep_alive);
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2\r\nok\r\n0\r\n\r\n",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1); /* the last coding of all the headers */
	CHECK_STR(o.body, "ok");
	CHECK(o.keep_alive);
	both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
	     "2\r\nok\r\n0\r\n\r\n",
	     false, 1024, false, &o);
	CHECK_INT(o.rc, 1); /* chunked wins, and the connection is not reused */
	CHECK_STR(o.body, "ok");
	CHECK(!o.keep_alive);

	/* interim responses: HTTP_MAX_INTERIM, then an error */
	buf_init(&b, 0);
	for (i = 0; i < HTTP_MAX_INTERIM; i++)
		buf_adds(&b, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	both(buf_str(&b), false, 1024, false, &o);
	CHECK_INT(o.rc, 1);
	buf_reset(&b);
	for (i = 0; i <= HTTP_MAX_INTERIM; i++)
		buf_adds(&b, "HTTP/1.1 103 Early Hints\r\n\r\n");
	buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	both(buf_str(&b), false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_STR(o.msg, "Weird server reply: too many interim (1xx) responses");

	/* trailers count against a limit too */
	buf_reset(&b);
	buf_adds(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	for (i = 0; i < 4000; i++)
		buf_adds(&b, "X-Trailer: 0123456789\r\n");
	buf_adds(&b, "\r\n");
	both(buf_str(&b), false, 1024, false, &o);
	CHECK_INT(o.rc, -1);
	CHECK_INT(o.fail_code, CURLE_WRITE_ERROR);

	/* a header block near the limit with body bytes in the same read */
	buf_reset(&b);
	buf_adds(&b, "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\nX-Big: ");
	for (i = 0; i < 63000; i++)
		buf_addc(&b, 'v');
	buf_adds(&b, "\r\n\r\n");
	for (i = 0; i < 4000; i++)
		buf_addc(&b, 'b');
	parse(b.data, b.len, b.len, false, 8192, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_INT(o.body_len, 4000);
	parse(b.data, b.len, 16384, false, 8192, false, &o);
	CHECK_INT(o.rc, 1);
	CHECK_INT(o.body_len, 4000);
	buf_free(&b);
}

int main(void)
{
	test_content_length();
	test_chunked();
	test_close_delimited_and_keep_alive();
	test_no_body();
	test_interim_and_bare_lf();
	test_malformed_and_limits();
	test_ambiguous_framing();
	return check_done("test_http_parse");
}
