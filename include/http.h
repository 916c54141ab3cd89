/* http.h - the HTTP engine: many transfers on one thread, driven by the event
 * loop. libcurl's multi interface resolves names, connects and tunnels
 * through proxies; the engine then runs TLS (OpenSSL) and HTTP/1.1 on the
 * connection itself, keeps it alive for reuse, puts a timeout on every
 * transfer and a cap on every response. Errors are reported as CURLcodes. */
#ifndef S3S_HTTP_H
#define S3S_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "util.h"

/* Every transfer: HTTP/1.1 over http or https only, no redirects, no
 * "Expect: 100-continue", TLS 1.2+ with peer and host verification always on,
 * keep-alive connections per origin (one request at a time each; a request
 * that meets a connection the server had closed is sent once more on a fresh
 * one), the Host header exactly as the URL's authority (what the signer
 * signed), the URL path sent as is (no "/../" squashing). TLS writes may
 * raise SIGPIPE: the process must ignore it. Proxies: http_proxy for http
 * URLs, https_proxy (or all_proxy) for https, no_proxy honoured, always
 * through a CONNECT tunnel. */

struct http;
struct http_xfer;

#define HTTP_DEFAULT_MAX_RESPONSE (1024 * 1024)
/* Response headers beyond these limits fail the transfer with CURLE_WRITE_ERROR. */
#define HTTP_MAX_RESPONSE_HEADERS 100
#define HTTP_MAX_RESPONSE_HEADER_BYTES (64 * 1024)

struct http_options {
	const char *ca_file;     /* NULL: system bundle. TLS verification is always on. */
	long connect_timeout_ms; /* default 5000 */
	long max_host_connections; /* 0: unlimited; transfers beyond it queue for a connection */
	/* Never use an http_proxy/https_proxy from the environment: for the
	 * link-local metadata endpoints, whose answers carry credentials. */
	bool no_proxy;
	/* 0: unlimited. At the cap, an idle connection to another origin is
	 * closed to make room, or the transfer waits for a connection. */
	long max_total_connections;
};

struct http_header {
	const char *name;  /* e.g. "Content-Type" */
	const char *value;
};

struct http_request {
	const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE"; NULL means GET */
	const char *url;    /* complete, already encoded */
	/* Sent as given, after Host and User-Agent. An empty value sends an
	 * empty header. No Content-Type unless given here. Host, Content-Length
	 * and Transfer-Encoding are the engine's (http_start refuses them). */
	const struct http_header *headers;
	size_t nheaders;
	const void *body; /* borrowed: must stay valid until the callback ran */
	size_t body_len;  /* PUT and POST always send a body (Content-Length: 0 if empty) */
	long timeout_ms;     /* whole transfer; required (> 0) */
	size_t max_response; /* cap on the response body; 0 means HTTP_DEFAULT_MAX_RESPONSE */
};

struct http_response {
	long status;         /* HTTP status, 0 when no response arrived */
	int curl_code;       /* CURLcode, 0 (CURLE_OK) on a complete exchange */
	/* "" when curl_code is 0; else what failed: curl's message for a
	 * connection, the TLS verification error, "Empty reply from server",
	 * "response body exceeds N bytes", "response headers exceed ...". */
	const char *error;
	/* Capped at max_response; larger bodies fail with CURLE_WRITE_ERROR.
	 * The callback may take the bytes with buf_steal(&resp->body, &len). */
	struct buf body;
	int64_t elapsed_ms;
	/* Headers of the final response only (interim 1xx responses are dropped),
	 * names lower-cased, values trimmed, in arrival order. */
	struct http_header *headers;
	size_t nheaders;
};

/* First header named name (compared case-insensitively), or NULL. */
const char *http_response_header(const struct http_response *r, const char *lower_name);

/* Called exactly once per started transfer unless it was cancelled. The
 * response is only valid during the call; the engine frees the transfer after
 * the callback returns. The callback may start transfers, cancel others and
 * call http_free(); http_active() no longer counts the finished transfer. */
typedef void (*http_done_cb)(struct http_response *resp, void *arg);

/* Returns NULL if curl could not be initialised. */
struct http *http_new(struct loop *l, const struct http_options *opt);
/* Cancels every transfer without callbacks; NULL is fine. Safe inside a
 * completion callback (the engine is then released when it unwinds).
 * Call it before loop_free(). */
void http_free(struct http *h);

/* Start a transfer. Headers and url are copied; body is borrowed. Returns NULL
 * only if curl refused the request outright (bad options, timeout_ms <= 0, the
 * engine is being freed); the callback is then not called. Never calls back
 * synchronously: completion is reported from the loop. */
struct http_xfer *http_start(struct http *h, const struct http_request *req, http_done_cb cb,
			     void *arg);
/* Abort a transfer; its callback will not be called. Safe inside any loop or
 * completion callback. Cancelling the transfer whose own callback is running
 * is a no-op (it is freed when that callback returns). NULL is fine. */
void http_cancel(struct http_xfer *x);
/* Number of transfers in flight. */
unsigned http_active(const struct http *h);

#endif
