/* imds.h - the EC2 instance metadata client, IMDSv2 only: a session token from
 * PUT /latest/api/token before any GET (never a token-less GET), a new token
 * on 401, short timeouts with a couple of retries; asynchronous on the loop. */
#ifndef S3S_IMDS_H
#define S3S_IMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "creds.h"
#include "http.h"
#include "loop.h"
#include "util.h"

#define IMDS_DEFAULT_ENDPOINT	   "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL_S	   21600 /* what the SDKs ask for: 6 hours */
#define IMDS_TIMEOUT_MS		   2000	 /* one exchange, connection included */
#define IMDS_CONNECT_TIMEOUT_MS	   1000	 /* for the engine the caller hands in */
#define IMDS_ATTEMPTS		   3	 /* first try and two retries */
#define IMDS_MAX_TOKEN		   4096

struct imds_options {
	struct loop *loop;
	struct http *http;     /* best with connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS */
	const char *endpoint;  /* base URL without trailing '/'; NULL: IMDS_DEFAULT_ENDPOINT */
	long timeout_ms;       /* per exchange; 0: IMDS_TIMEOUT_MS */
	int attempts;	       /* per request and per token fetch; 0: IMDS_ATTEMPTS */
	int64_t token_ttl_s;   /* 0: IMDS_TOKEN_TTL_S */
	int64_t retry_base_ms; /* first retry delay (doubles, with jitter); 0: 100 */
};

struct imds;
struct imds_req;

struct imds *imds_new(const struct imds_options *opt);
/* Drops every request without calling back and wipes the token. NULL is
 * fine; safe inside an imds callback. Call it before http_free(). */
void imds_free(struct imds *m);
const char *imds_endpoint(const struct imds *m);

/* error is NULL on success (HTTP 200, body set), else one line such as
 * "GET /latest/meta-data/placement/region: HTTP 404" or "cannot reach
 * http://169.254.169.254: Connection timed out after 1001 milliseconds".
 * status is the last HTTP status (0: none). body is wiped after the call. */
struct imds_answer {
	const char *error;
	long status;
	const char *body;
	size_t len;
};
typedef void (*imds_cb)(const struct imds_answer *a, void *arg);

/* GET path (starting with '/') with the session token, fetching a token
 * first when there is none or it is about to expire. The callback runs once,
 * never synchronously, unless the request is cancelled. Never NULL. */
struct imds_req *imds_get(struct imds *m, const char *path, size_t max_response, imds_cb cb,
			  void *arg);
/* No callback will run; safe inside callbacks. NULL is fine. */
void imds_cancel(struct imds_req *r);

/* GET /latest/meta-data/placement/region, checked to look like a region
 * ("eu-west-1"). The callback receives the region or NULL and one line. */
typedef void (*imds_region_cb)(const char *region, const char *err, void *arg);
struct imds_req *imds_region(struct imds *m, imds_region_cb cb, void *arg);

/* AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool imds_disabled(const struct creds_env *env);
/* The endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the profile's
 * ec2_metadata_service_endpoint, else by AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE
 * (or the profile's ec2_metadata_service_endpoint_mode): IPv4 (default) or
 * IPv6. A new string without a trailing '/', or NULL with one line in why
 * when the setting is not an http(s) URL or the mode is unknown. */
char *imds_endpoint_from_env(const struct creds_env *env, struct buf *why);

#endif
