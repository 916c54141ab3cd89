/* sigv4.h - AWS Signature Version 4 with OpenSSL, as separate testable stages:
 * canonical request, string to sign, signing key, signature. The signing time
 * is always a parameter. */
#ifndef S3S_SIGV4_H
#define S3S_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Upper bound of the canonical request and the Authorization value that
 * sigv4_sign() builds; a larger request fails with -1. */
#define SIGV4_MAX_CANONICAL ((size_t)1024 * 1024)

struct sigv4_kv {
	const char *name;
	const char *value;
};

/* The request as it will go on the wire. */
struct sigv4_request {
	const char *method;
	/* The path in its decoded form ("/my bucket/a+b.json", "/ሴ"): the signer
	 * URI-encodes it (and, outside S3, normalises it and encodes it twice),
	 * which matches a wire path made by sigv4_uri_encode(path, keep_slash).
	 * It must start with '/'; NULL or "" means "/". See raw_path. */
	const char *path;
	/* Decoded query parameters, any order; values may be "" (NULL means ""). */
	const struct sigv4_kv *query;
	size_t nquery;
	/* Headers to sign, any case/order; duplicates are joined with ','. Must
	 * contain "host". x-amz-date and x-amz-security-token are added by
	 * sigv4_sign(), not expected here (a header of the same name is replaced;
	 * "authorization" is never signed). */
	const struct sigv4_kv *headers;
	size_t nheaders;
	/* Lower-case hex SHA-256 of the body ("UNSIGNED-PAYLOAD" allowed for S3).
	 * NULL means an empty body. */
	const char *payload_hash;
	/* When set, path is exactly the path of the request line as sent (already
	 * percent-encoded, or raw bytes as in the AWS test suite's "/ሴ"): S3 signs
	 * it as is, other services normalise it and encode it once more (what
	 * botocore does with a URL). Default false: path is decoded, as above. */
	bool raw_path;
};

struct sigv4_params {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL or "" means none */
	const char *region;
	const char *service; /* "sqs", "s3", "states", "sts" ... */
	int64_t time_ms;     /* signing time, Unix milliseconds UTC */
	/* S3 rules: path encoded once, never normalised. Set for service "s3". */
	bool s3_rules;
};

/* RFC 3986 encoding of every byte outside A-Z a-z 0-9 - . _ ~ (upper-case hex);
 * '/' kept when keep_slash. Appends to out. Returns -1 if out's maximum is
 * exceeded. */
int sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

/* Stage 1: canonical request. Also returns the signed-headers list
 * ("host;x-amz-date"). extra headers (x-amz-date, token) are passed here so
 * the stage can be tested alone. Appends to out and signed_headers. Returns
 * -1 if a maximum is exceeded or the request is invalid (no method, no host
 * header, a header name that is not an HTTP token, a relative path). */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *p,
			    const struct sigv4_kv *extra, size_t nextra, struct buf *out,
			    struct buf *signed_headers);
/* The extra headers sigv4_sign() signs: {"x-amz-date", amz_date} and, when
 * p->session_token is non-empty, {"x-amz-security-token", token}. The values
 * point into amz_date and p. Returns how many were filled (1 or 2). */
size_t sigv4_extra_headers(const struct sigv4_params *p, const char *amz_date,
			   struct sigv4_kv extra[2]);
/* Stage 2: string to sign, from the canonical request. Appends to out.
 * Returns -1 if out's maximum is exceeded or region/service are not plain
 * names (A-Z a-z 0-9 . _ -). */
int sigv4_string_to_sign(const struct sigv4_params *p, const char *canonical_request,
			 size_t len, struct buf *out);
/* Stage 3: signing key (HMAC chain over date, region, service, "aws4_request"). */
void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		       const char *service, uint8_t key[32]);
/* Stage 4: hex signature of the string to sign. */
void sigv4_signature(const uint8_t key[32], const char *string_to_sign, size_t len,
		     char hex[SHA256_HEX_LEN + 1]);

/* A cache of one signing key: recomputed only when date, region, service or
 * secret change (once a day per service in practice). It keeps a SHA-256 of
 * the secret, never the secret. Zero-initialised means empty. Not locked:
 * one cache per thread. */
struct sigv4_key_cache {
	char date8[9];
	char region[64];
	char service[32];
	uint8_t secret_hash[SHA256_LEN];
	uint8_t key[32];
	bool valid;
};
void sigv4_key_cache_wipe(struct sigv4_key_cache *c);
/* The signing key for these inputs, from the cache when it matches, else
 * computed (and stored unless region/service are too long to keep).
 * Returns 1 on a cache hit, 0 when the key was computed. */
int sigv4_key_cache_get(struct sigv4_key_cache *c, const char *secret_key, const char *date8,
			const char *region, const char *service, uint8_t key[32]);

/* The headers to add to the request. */
struct sigv4_result {
	char amz_date[TIME_AMZ_LEN]; /* x-amz-date value */
	char *authorization;         /* Authorization value, owned (sigv4_result_free) */
	/* x-amz-security-token value or NULL: points at params->session_token
	 * (not a copy), so it is valid as long as the credentials are. */
	const char *security_token;
};
/* Wipes and frees authorization; safe on a zeroed or already freed result. */
void sigv4_result_free(struct sigv4_result *r);

/* All stages. cache may be NULL. out is overwritten (free an earlier result
 * first). Returns 0, or -1 (request too large or invalid, see
 * sigv4_canonical_request; missing keys); out then holds nothing to free. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_key_cache *cache, struct sigv4_result *out);

#endif
