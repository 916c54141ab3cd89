/* http.h - the HTTP engine: libcurl's multi interface driven by the event loop
 * (socket and timer callbacks), many transfers on one thread, connections
 * reused, a timeout on every transfer and a cap on every response body. */
#ifndef S3S_HTTP_H
#define S3S_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "util.h"

struct http;
struct http_xfer;

struct http_options {
	const char *ca_file;     /* NULL: system bundle. TLS verification is always on. */
	long connect_timeout_ms; /* default 5000 */
	long max_host_connections; /* 0: unlimited */
	long max_total_connections; /* 0: unlimited */
};

struct http_header {
	const char *name;  /* e.g. "Content-Type" */
	const char *value;
};

struct http_request {
	const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
	const char *url;    /* complete, already encoded */
	const struct http_header *headers;
	size_t nheaders;
	const void *body; /* borrowed: must stay valid until the callback ran */
	size_t body_len;
	long timeout_ms;     /* whole transfer; required (> 0) */
	size_t max_response; /* cap on the response body; 0 means 1 MiB */
};

struct http_response {
	long status;         /* HTTP status, 0 when no response arrived */
	int curl_code;       /* CURLcode, 0 (CURLE_OK) on a complete exchange */
	const char *error;   /* human-readable transport error, "" when none */
	struct buf body;     /* capped at max_response; larger bodies fail with CURLE_WRITE_ERROR */
	int64_t elapsed_ms;
	/* Response headers, names lower-cased, values trimmed. */
	struct http_header *headers;
	size_t nheaders;
};

const char *http_response_header(const struct http_response *r, const char *lower_name);

/* Called exactly once per started transfer unless it was cancelled. The
 * response is only valid during the call; the engine frees the transfer after. */
typedef void (*http_done_cb)(struct http_response *resp, void *arg);

struct http *http_new(struct loop *l, const struct http_options *opt);
void http_free(struct http *h); /* cancels every transfer without callbacks; NULL is fine */

/* Start a transfer. Headers and url are copied; body is borrowed. Returns NULL
 * only if curl refused the request outright (the callback is then not called). */
struct http_xfer *http_start(struct http *h, const struct http_request *req, http_done_cb cb,
			     void *arg);
/* Abort a transfer; its callback will not be called. Safe inside any callback. */
void http_cancel(struct http_xfer *x);
/* Number of transfers in flight. */
unsigned http_active(const struct http *h);

#endif
