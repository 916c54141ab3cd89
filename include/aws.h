/* aws.h - one signed AWS call over the HTTP engine: endpoint parsing, SigV4
 * signing with cached keys, the common retry policy with timers, and error
 * bodies (JSON `__type`/`message`, S3 XML `Code`/`Message`) decoded into one
 * error space. SQS, S3 and Step Functions are thin layers on top. */
#ifndef S3S_AWS_H
#define S3S_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "http.h"
#include "loop.h"
#include "retry.h"
#include "sigv4.h"

struct aws_client;
struct aws_call;

/* A parsed endpoint: "https://sqs.us-east-1.amazonaws.com", "http://127.0.0.1:4566/base". */
struct aws_endpoint {
	char *scheme; /* "http" or "https" */
	char *host;   /* host[:port] as it goes in the Host header */
	char *path;   /* base path without trailing '/', "" when none */
};
int aws_endpoint_parse(const char *url, struct aws_endpoint *out);
void aws_endpoint_free(struct aws_endpoint *e);

struct aws_error {
	long http_status;
	int curl_code;
	enum err_class cls;
	char *code;       /* "SlowDown", "AccessDenied", "CURLE_28"... never NULL after a failure */
	char *message;    /* one line */
	char *request_id; /* may be NULL */
};
void aws_error_clear(struct aws_error *e);
/* Fill the unset code, message and request_id of err from an error answer's
 * body (JSON __type/message, or S3/STS XML Code/Message/RequestId), each
 * made one bounded printable line; left NULL when the body names none.
 * Exposed for the fuzz tests; decode_error() uses it for every answer. */
void aws_error_parse_body(const char *body, size_t len, const char *content_type,
			  struct aws_error *err);
/* "SlowDown (HTTP 503): Please reduce your request rate" */
char *aws_error_describe(const struct aws_error *e);

struct aws_client_options {
	struct loop *loop;
	struct http *http;
	struct creds_chain *creds;
	const char *region;
	struct retry *retry; /* shared quota; owned by the caller */
};

struct aws_client *aws_client_new(const struct aws_client_options *opt);
void aws_client_free(struct aws_client *c);

struct aws_request {
	const char *service; /* signing name: "sqs", "s3", "states" */
	const char *method;
	const struct aws_endpoint *endpoint;
	const char *host;    /* overrides endpoint->host (S3 virtual-hosted); NULL: endpoint's */
	const char *path;    /* decoded path after the endpoint's base path, starts with '/' */
	const struct sigv4_kv *query;
	size_t nquery;
	const struct sigv4_kv *headers; /* extra headers (content-type, x-amz-target...) */
	size_t nheaders;
	const void *body; /* borrowed until the callback */
	size_t body_len;
	const char *payload_hash; /* hex SHA-256 of body when the caller has it; NULL: computed */
	long timeout_ms;
	size_t max_response;
	int max_attempts; /* 0: the policy's default; 1: no retries */
};

struct aws_response {
	bool ok;                   /* 2xx and no error */
	long status;
	const struct http_response *http; /* the final attempt's response (NULL if none) */
	struct aws_error err;      /* filled when !ok */
	int attempts;
};

typedef void (*aws_done_cb)(struct aws_response *r, void *arg);

/* Start a call; strings in req are copied, body borrowed. The callback runs
 * exactly once unless the call is cancelled. Never NULL. */
struct aws_call *aws_call_start(struct aws_client *c, const struct aws_request *req,
				aws_done_cb cb, void *arg);
/* Cancel; the callback will not run. Safe from any callback. */
void aws_call_cancel(struct aws_call *call);

#endif
