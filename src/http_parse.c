/* http_parse.c - the incremental HTTP/1.1 response parser (see http_parse.h). */
#include "http_parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_parser_init(struct http_parser *r, size_t max_body, bool head_request)
{
	memset(r, 0, sizeof(*r));
	r->head_request = head_request;
	buf_init(&r->body, max_body);
	buf_init(&r->hdrbuf, HTTP_MAX_RESPONSE_HEADER_BYTES);
	buf_init(&r->head, HTTP_MAX_RESPONSE_HEADER_BYTES);
	buf_init(&r->line, 1024);
}

void http_parser_reset(struct http_parser *r)
{
	size_t max = r->body.max;
	bool head = r->head_request;

	http_parser_free(r);
	http_parser_init(r, max, head);
}

void http_parser_free(struct http_parser *r)
{
	buf_free(&r->body);
	buf_free(&r->hdrbuf);
	buf_free(&r->head);
	buf_free(&r->line);
	free(r->fail_msg);
	r->fail_msg = NULL;
}

static void set_fail(struct http_parser *r, int code, char *msg)
{
	if (r->fail_code == 0) {
		r->fail_code = code;
		r->fail_msg = msg;
	} else {
		free(msg);
	}
}

int http_parser_eof(struct http_parser *r)
{
	if (r->ps != HP_BODY_CLOSE)
		return 0;
	r->keep_alive = false;
	r->ps = HP_DONE;
	return 1;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next element of the comma-separated list at *p, white space around it
 * left out: its start (*len bytes), or NULL at the end of the list. */
static const char *list_next(const char **p, size_t *len)
{
	const char *s = *p, *e;

	while (*s == ',' || *s == ' ' || *s == '\t')
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	for (e = s; *e && *e != ','; e++)
		;
	*p = e;
	while (e[-1] == ' ' || e[-1] == '\t') /* s itself is neither */
		e--;
	*len = (size_t)(e - s);
	return s;
}

/* token (case-insensitive, parameters after ';' allowed) is an element of list */
static bool token_in_list(const char *list, const char *token)
{
	size_t n = strlen(token), len;
	const char *e;

	while ((e = list_next(&list, &len)))
		if (len >= n && strncasecmp(e, token, n) == 0 &&
		    (len == n || e[n] == ' ' || e[n] == '\t' || e[n] == ';'))
			return true;
	return false;
}

/* The value of the first header named lower_name from index *from on, or
 * NULL; *from moves past it. */
static const char *header_next(const struct http_parser *r, const char *lower_name,
			       size_t *from)
{
	size_t i;

	for (i = *from; i < r->nhdr; i++)
		if (strcmp(r->hdrbuf.data + r->hdr_off[i], lower_name) == 0) {
			*from = i + 1;
			return r->hdrbuf.data + r->hdr_off[i] + strlen(lower_name) + 1;
		}
	*from = r->nhdr;
	return NULL;
}

const char *http_parser_header(const struct http_parser *r, const char *lower_name)
{
	size_t from = 0;

	return header_next(r, lower_name, &from);
}

/* token in any of the (comma-separated) values of every header lower_name */
static bool header_has_token(const struct http_parser *r, const char *lower_name,
			     const char *token)
{
	size_t from = 0;
	const char *v;

	while ((v = header_next(r, lower_name, &from)))
		if (token_in_list(v, token))
			return true;
	return false;
}

/* The last coding of a Transfer-Encoding list (all such headers joined) is
 * chunked, as a whole token. */
static bool te_ends_chunked(const struct http_parser *r)
{
	size_t from = 0, len, last_len = 0;
	const char *v, *e, *last = NULL;

	while ((v = header_next(r, "transfer-encoding", &from)))
		while ((e = list_next(&v, &len))) {
			last = e;
			last_len = len;
		}
	return last && last_len == 7 && strncasecmp(last, "chunked", 7) == 0;
}

static int hdr_add(struct http_parser *r, const char *p, size_t n)
{
	struct buf *b = &r->hdrbuf;
	const char *colon = memchr(p, ':', n), *value;
	size_t name_len, off, i;

	if (p[0] == ' ' || p[0] == '\t') { /* obs-fold: continues the last value */
		while (n > 0 && is_ows(*p)) {
			p++;
			n--;
		}
		if (r->nhdr == 0 || n == 0)
			return 0;
		b->len--;
		return buf_addc(b, ' ') == 0 && buf_add(b, p, n) == 0 && buf_addc(b, '\0') == 0
			       ? 0
			       : -1;
	}
	if (!colon)
		return 0; /* not a header line: ignored */
	name_len = (size_t)(colon - p);
	while (name_len > 0 && is_ows(p[name_len - 1]))
		name_len--;
	value = colon + 1;
	while (value < p + n && is_ows(*value))
		value++;
	if (r->nhdr == HTTP_MAX_RESPONSE_HEADERS)
		return -1;
	off = b->len;
	if (buf_add(b, p, name_len) < 0 || buf_addc(b, '\0') < 0 ||
	    buf_add(b, value, (size_t)(p + n - value)) < 0 || buf_addc(b, '\0') < 0)
		return -1;
	for (i = off; i < off + name_len; i++)
		b->data[i] = (char)tolower((unsigned char)b->data[i]);
	r->hdr_off[r->nhdr++] = (uint16_t)off; /* off < hdrbuf.max = 64 KiB */
	return 0;
}

static void fail_headers(struct http_parser *r)
{
	set_fail(r, CURLE_WRITE_ERROR,
		 xasprintf("response headers exceed %d headers or %d bytes",
			   HTTP_MAX_RESPONSE_HEADERS, HTTP_MAX_RESPONSE_HEADER_BYTES));
}

static int bad_reply(struct http_parser *r, const char *what)
{
	set_fail(r, CURLE_WEIRD_SERVER_REPLY, xasprintf("Weird server reply: %s", what));
	return -1;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;
	int d, digits = 0;

	for (; *s; s++, digits++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (digits == 0)
		return -1;
	*out = v;
	return (int)digits;
}

/* The header block in r->head is complete (ends with an empty line): parse
 * it. Returns 1 for an interim (1xx) response, 0, or -1 with fail_code. */
static int parse_head(struct http_parser *r)
{
	char *p = r->head.data, *end = p + r->head.len, *eol;
	const char *te, *cl;
	bool http10;
	uint64_t len;

	buf_reset(&r->hdrbuf);
	r->nhdr = 0;
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol || (size_t)(eol - p) < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' || !isdigit((unsigned char)p[9]) ||
	    !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
	    (eol - p > 12 && p[12] != ' ' && p[12] != '\r'))
		return bad_reply(r, "no HTTP/1.x status line");
	http10 = p[7] == '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return bad_reply(r, "status code below 100");
	for (p = eol + 1; p < end; p = eol + 1) {
		size_t n;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		n = (size_t)(eol - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			break; /* the empty line ending the block */
		while (n > 0 && is_ows(p[n - 1]))
			n--;
		if (n == 0)
			return bad_reply(r, "header line of white space only");
		if (hdr_add(r, p, n) < 0) {
			fail_headers(r);
			return -1;
		}
	}
	if (r->status >= 100 && r->status < 200 && r->status != 101) {
		if (++r->ninterim > HTTP_MAX_INTERIM)
			return bad_reply(r, "too many interim (1xx) responses");
		return 1;
	}
	r->keep_alive = http10 ? header_has_token(r, "connection", "keep-alive")
			       : !header_has_token(r, "connection", "close");
	if (r->status == 101)
		return bad_reply(r, "unexpected protocol switch");
	if (r->head_request || r->status == 204 || r->status == 304) {
		r->ps = HP_DONE;
		return 0;
	}
	te = http_parser_header(r, "transfer-encoding");
	cl = http_parser_header(r, "content-length");
	if (te) {
		/* chunked must be the last coding; anything else ends at close.
		 * With a Content-Length too, the framing is suspect (RFC 9112
		 * 6.3): this connection carries nothing more. */
		if (te_ends_chunked(r)) {
			r->ps = HP_CHUNK_SIZE;
		} else {
			r->ps = HP_BODY_CLOSE;
			r->keep_alive = false;
		}
		if (cl)
			r->keep_alive = false;
		return 0;
	}
	if (cl) {
		size_t from = 0;
		const char *other;
		int digits = parse_u64(cl, 10, &len);

		if (digits < 0 || cl[digits] != '\0')
			return bad_reply(r, "bad Content-Length");
		header_next(r, "content-length", &from);
		while ((other = header_next(r, "content-length", &from)))
			if (strcmp(other, cl) != 0)
				return bad_reply(r, "conflicting Content-Length headers");
		if (len > r->body.max) {
			set_fail(r, CURLE_WRITE_ERROR,
				 xasprintf("response body exceeds %zu bytes", r->body.max));
			return -1;
		}
		r->remain = len;
		r->ps = len ? HP_BODY_LEN : HP_DONE;
		return 0;
	}
	r->ps = HP_BODY_CLOSE;
	r->keep_alive = false;
	return 0;
}

static int body_add(struct http_parser *r, const char *p, size_t n)
{
	if (buf_add(&r->body, p, n) == 0)
		return 0;
	set_fail(r, CURLE_WRITE_ERROR, xasprintf("response body exceeds %zu bytes", r->body.max));
	return -1;
}

/* Take one line (up to '\n') into r->line. Returns bytes used; *complete
 * when the line ended. -1 when the line is too long. */
static long take_line(struct http_parser *r, const char *p, size_t n, bool *complete)
{
	const char *nl = memchr(p, '\n', n);
	size_t used = nl ? (size_t)(nl - p) + 1 : n;

	*complete = nl != NULL;
	if (buf_add(&r->line, p, used) < 0)
		return -1;
	return (long)used;
}

/* Feed received bytes. Returns 1 when the response is complete (*used tells
 * how much was consumed), 0 for more, -1 on error (fail_code set). */
int http_parser_feed(struct http_parser *r, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n && r->ps != HP_DONE) {
		switch (r->ps) {
		case HP_HEAD: {
			size_t start = r->head.len, k, take = n - i;
			const char *hit = NULL;

			/* body bytes may follow in the same read: take what fits, and
			 * fail only when the block does not end within the limit */
			if (take > r->head.max - r->head.len)
				take = r->head.max - r->head.len;
			if (take == 0 || buf_add(&r->head, p + i, take) < 0) {
				fail_headers(r);
				return -1;
			}
			/* the empty line: "\n\r\n" or "\n\n" */
			for (k = r->head_scan; k < r->head.len; k++) {
				if (r->head.data[k] != '\n' || k == 0)
					continue;
				if (r->head.data[k - 1] == '\n' ||
				    (k >= 2 && r->head.data[k - 1] == '\r' &&
				     r->head.data[k - 2] == '\n')) {
					hit = r->head.data + k;
					break;
				}
			}
			if (!hit) {
				r->head_scan = r->head.len;
				i += take;
				break;
			}
			k = (size_t)(hit - r->head.data) + 1; /* header block length */
			i += k - start;
			r->head.len = k;
			switch (parse_head(r)) {
			case -1:
				return -1;
			case 1: /* interim: the final response follows */
				buf_reset(&r->head);
				r->head_scan = 0;
				r->nhdr = 0;
				buf_reset(&r->hdrbuf);
				break;
			default:
				break;
			}
			break;
		}
		case HP_BODY_LEN:
		case HP_CHUNK_DATA: {
			size_t take = n - i < r->remain ? n - i : (size_t)r->remain;

			if (body_add(r, p + i, take) < 0)
				return -1;
			i += take;
			r->remain -= take;
			if (r->remain == 0)
				r->ps = r->ps == HP_BODY_LEN ? HP_DONE : HP_CHUNK_CRLF;
			break;
		}
		case HP_BODY_CLOSE:
			if (body_add(r, p + i, n - i) < 0)
				return -1;
			i = n;
			break;
		case HP_CHUNK_SIZE:
		case HP_CHUNK_CRLF:
		case HP_TRAILER: {
			bool complete;
			long u = take_line(r, p + i, n - i, &complete);

			if (u < 0)
				return r->ps == HP_TRAILER ? (fail_headers(r), -1)
							  : bad_reply(r, "chunk line too long");
			i += (size_t)u;
			if (r->ps == HP_TRAILER &&
			    (r->trailer_bytes += (size_t)u) > HTTP_MAX_RESPONSE_HEADER_BYTES) {
				fail_headers(r);
				return -1;
			}
			if (!complete)
				break;
			if (r->ps == HP_CHUNK_CRLF) {
				if (strcmp(buf_str(&r->line), "\r\n") != 0 &&
				    strcmp(buf_str(&r->line), "\n") != 0)
					return bad_reply(r, "chunk not followed by CRLF");
				r->ps = HP_CHUNK_SIZE;
			} else if (r->ps == HP_CHUNK_SIZE) {
				int digits = parse_u64(buf_str(&r->line), 16, &r->remain);
				char after;

				if (digits < 0 || digits > 16)
					return bad_reply(r, "bad chunk size");
				after = r->line.data[digits];
				if (after != '\r' && after != '\n' && after != ';' && after != ' ' &&
				    after != '\t')
					return bad_reply(r, "bad chunk size");
				if (r->remain > r->body.max - r->body.len) {
					set_fail(r, CURLE_WRITE_ERROR,
						 xasprintf("response body exceeds %zu bytes",
							   r->body.max));
					return -1;
				}
				r->ps = r->remain ? HP_CHUNK_DATA : HP_TRAILER;
			} else if (strcmp(buf_str(&r->line), "\r\n") == 0 ||
				   strcmp(buf_str(&r->line), "\n") == 0) {
				r->ps = HP_DONE;
			}
			buf_reset(&r->line);
			break;
		}
		case HP_DONE:
			break;
		}
	}
	*used = i;
	return r->ps == HP_DONE ? 1 : 0;
}
