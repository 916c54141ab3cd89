/* http_parse.h - the HTTP/1.1 response parser of the HTTP engine, fed bytes
 * as they arrive: a status line, headers (names lower-cased, values trimmed,
 * obs-fold lines joined, interim 1xx responses dropped), then a body framed by
 * Content-Length, chunked coding or the end of the connection. Every part is
 * bounded: HTTP_MAX_INTERIM interim responses, HTTP_MAX_RESPONSE_HEADERS
 * headers, HTTP_MAX_RESPONSE_HEADER_BYTES of header block and as much again
 * of trailers, max_body bytes of body. Malformed or ambiguous framing (white
 * space lines, conflicting Content-Length) is an error; Transfer-Encoding
 * with Content-Length ends the connection after the response. */
#ifndef S3S_HTTP_PARSE_H
#define S3S_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "util.h"

#define HTTP_MAX_INTERIM 16

enum http_parse_state {
	HP_HEAD,       /* status line and headers */
	HP_BODY_LEN,   /* Content-Length bytes left in remain */
	HP_BODY_CLOSE, /* until the peer closes */
	HP_CHUNK_SIZE,
	HP_CHUNK_DATA,
	HP_CHUNK_CRLF,
	HP_TRAILER,
	HP_DONE,
};

struct http_parser {
	bool head_request; /* a HEAD answer has no body whatever it says */
	/* results */
	enum http_parse_state ps;
	long status;	   /* of the final response, once ps != HP_HEAD */
	bool keep_alive;   /* the connection may carry another request */
	struct buf body;
	struct buf hdrbuf; /* "name\0value\0" per header of the final response */
	uint16_t hdr_off[HTTP_MAX_RESPONSE_HEADERS]; /* hdrbuf is under 64 KiB */
	size_t nhdr;
	int fail_code; /* a CURLcode once feeding failed: WRITE_ERROR over a limit,
			  WEIRD_SERVER_REPLY for a malformed answer */
	char *fail_msg;
	/* private */
	struct buf head;
	size_t head_scan;
	uint64_t remain;
	struct buf line;
	unsigned ninterim;    /* 1xx responses dropped so far */
	size_t trailer_bytes; /* of the chunked trailer section */
};

void http_parser_init(struct http_parser *r, size_t max_body, bool head_request);
/* Back to the start, for the same request sent again. */
void http_parser_reset(struct http_parser *r);
void http_parser_free(struct http_parser *r);
/* Returns 1 when the response is complete (*used: bytes of data consumed;
 * the rest belongs to nobody), 0 when all of data was taken and more is
 * needed, -1 on error (fail_code set). *used is set only with 1. */
int http_parser_feed(struct http_parser *r, const char *data, size_t n, size_t *used);
/* The peer closed the connection: 1 if that ends the response (a body
 * delimited by the close), else 0. */
int http_parser_eof(struct http_parser *r);
/* The value of a header of the final response, or NULL. */
const char *http_parser_header(const struct http_parser *r, const char *lower_name);

#endif
