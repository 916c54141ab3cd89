/* sigv4.h - AWS Signature Version 4 with OpenSSL, as separate testable stages:
 * canonical request, string to sign, signing key, signature. The signing time
 * is always a parameter. */
#ifndef S3S_SIGV4_H
#define S3S_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct sigv4_kv {
	const char *name;
	const char *value;
};

/* The request as it will go on the wire. */
struct sigv4_request {
	const char *method;
	/* The path in its decoded form ("/my bucket/a+b.json", "/ሴ"): the signer
	 * URI-encodes it (and, outside S3, normalises it and encodes it twice). */
	const char *path;
	/* Decoded query parameters, any order; values may be "". */
	const struct sigv4_kv *query;
	size_t nquery;
	/* Headers to sign, any case/order; duplicates are joined with ','. Must
	 * contain "host". x-amz-date and x-amz-security-token are added by
	 * sigv4_sign(), not expected here. */
	const struct sigv4_kv *headers;
	size_t nheaders;
	/* Lower-case hex SHA-256 of the body ("UNSIGNED-PAYLOAD" allowed for S3). */
	const char *payload_hash;
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
 * '/' kept when keep_slash. Returns -1 if out's maximum is exceeded. */
int sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

/* Stage 1: canonical request. Also returns the signed-headers list
 * ("host;x-amz-date"). extra headers (x-amz-date, token) are passed here so
 * the stage can be tested alone. */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *p,
			    const struct sigv4_kv *extra, size_t nextra, struct buf *out,
			    struct buf *signed_headers);
/* Stage 2: string to sign, from the canonical request. */
int sigv4_string_to_sign(const struct sigv4_params *p, const char *canonical_request,
			 size_t len, struct buf *out);
/* Stage 3: signing key (HMAC chain over date, region, service, "aws4_request"). */
void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		       const char *service, uint8_t key[32]);
/* Stage 4: hex signature of the string to sign. */
void sigv4_signature(const uint8_t key[32], const char *string_to_sign, size_t len,
		     char hex[SHA256_HEX_LEN + 1]);

/* A cache of one signing key: recomputed only when date, region, service or
 * secret change (once a day per service in practice). */
struct sigv4_key_cache {
	char date8[9];
	char region[64];
	char service[32];
	uint8_t secret_hash[SHA256_LEN];
	uint8_t key[32];
	bool valid;
};
void sigv4_key_cache_wipe(struct sigv4_key_cache *c);

/* The headers to add to the request. Strings are owned by the struct. */
struct sigv4_result {
	char amz_date[TIME_AMZ_LEN]; /* x-amz-date value */
	char *authorization;         /* Authorization value */
	/* x-amz-security-token value or NULL, copied from params */
	const char *security_token;
};
void sigv4_result_free(struct sigv4_result *r);

/* All stages. cache may be NULL. Returns 0 or -1 (request too large). */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_key_cache *cache, struct sigv4_result *out);

#endif
