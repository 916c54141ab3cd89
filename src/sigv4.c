/* sigv4.c - AWS Signature Version 4: canonical request, string to sign,
 * signing key (with a one-entry cache) and signature, using OpenSSL HMAC. */
#include "sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char hexdig[] = "0123456789ABCDEF";

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append s encoded `times` times: 0 as is, 1 RFC 3986 ("%XX"), 2 encoded
 * again (the '%' itself becomes "%25", so "%25XX"); '/' kept when keep_slash. */
static int encode_n(struct buf *out, const char *s, size_t n, bool keep_slash, int times)
{
	/* "%XX", or "%25XX" when encoding twice */
	char esc[5] = {'%', '2', '5'};
	size_t i, start = 0, k = times == 2 ? 3 : 1;
	unsigned char c;

	if (times == 0)
		return buf_add(out, s, n);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/'))
			continue;
		esc[k] = hexdig[c >> 4];
		esc[k + 1] = hexdig[c & 15];
		if (buf_add(out, s + start, i - start) < 0 || buf_add(out, esc, k + 2) < 0)
			return -1;
		start = i + 1;
	}
	return buf_add(out, s + start, n - start);
}

int sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	return encode_n(out, s, n, keep_slash, 1);
}

/* Drop everything after the last '/' at or after from (a ".." segment). */
static void cut_last_segment(struct buf *out, size_t from)
{
	size_t i = out->len;

	while (i > from && out->data[i - 1] != '/')
		i--;
	if (i > from)
		i--; /* the '/' itself */
	out->len = i;
	if (out->data)
		out->data[i] = '\0';
}

/* Non-S3 path: drop empty and "." segments, let ".." remove the previous
 * one, keep a trailing '/' (botocore's remove_dot_segments), then encode
 * each segment `times` times. path starts with '/'. */
static int add_normalised_path(struct buf *out, const char *path, size_t n, int times)
{
	size_t start = out->len, i = 0, seg, len;

	while (i < n) {
		seg = i;
		while (i < n && path[i] != '/')
			i++;
		len = i - seg;
		if (i < n)
			i++;
		if (len == 0 || (len == 1 && path[seg] == '.'))
			continue;
		if (len == 2 && path[seg] == '.' && path[seg + 1] == '.') {
			cut_last_segment(out, start);
			continue;
		}
		if (buf_addc(out, '/') < 0 || encode_n(out, path + seg, len, false, times) < 0)
			return -1;
	}
	if (out->len == start || path[n - 1] == '/')
		return buf_addc(out, '/');
	return 0;
}

static int add_canonical_uri(struct buf *out, const struct sigv4_request *req, bool s3)
{
	const char *path = req->path ? req->path : "";
	size_t n = strlen(path);
	int times;

	if (n == 0)
		return buf_addc(out, '/');
	if (path[0] != '/')
		return -1;
	/* The wire form is encoded once; S3 signs the wire form, others encode
	 * it once more. */
	times = (s3 ? 0 : 1) + (req->raw_path ? 0 : 1);
	if (s3)
		return encode_n(out, path, n, true, times);
	return add_normalised_path(out, path, n, times);
}

struct pair {
	const char *name;
	const char *value;
	size_t idx;
};

static int cmp_query(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Each name and value encoded, sorted by encoded name then encoded value. */
static int add_canonical_query(struct buf *out, const struct sigv4_request *req)
{
	struct buf enc;
	struct pair *pairs = NULL;
	size_t *off = NULL, i;
	const char *v;
	int rc = -1;

	buf_init(&enc, out->max);
	if (req->nquery == 0)
		return 0;
	if (!req->query)
		goto fail;
	pairs = xcalloc(req->nquery, sizeof(*pairs));
	off = xcalloc(req->nquery * 2, sizeof(*off));
	for (i = 0; i < req->nquery; i++) {
		if (!req->query[i].name)
			goto fail;
		v = req->query[i].value ? req->query[i].value : "";
		off[2 * i] = enc.len;
		if (sigv4_uri_encode(&enc, req->query[i].name, strlen(req->query[i].name), false) <
			    0 ||
		    buf_addc(&enc, '\0') < 0)
			goto fail;
		off[2 * i + 1] = enc.len;
		if (sigv4_uri_encode(&enc, v, strlen(v), false) < 0 || buf_addc(&enc, '\0') < 0)
			goto fail;
	}
	/* enc no longer moves: take pointers into it. */
	for (i = 0; i < req->nquery; i++) {
		pairs[i].name = enc.data + off[2 * i];
		pairs[i].value = enc.data + off[2 * i + 1];
	}
	qsort(pairs, req->nquery, sizeof(*pairs), cmp_query);
	for (i = 0; i < req->nquery; i++) {
		if ((i > 0 && buf_addc(out, '&') < 0) || buf_adds(out, pairs[i].name) < 0 ||
		    buf_addc(out, '=') < 0 || buf_adds(out, pairs[i].value) < 0)
			goto fail;
	}
	rc = 0;
fail:
	free(pairs);
	free(off);
	buf_free(&enc);
	return rc;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Lower-cased copy of a header name into names, NUL-terminated; -1 if it is
 * not an HTTP token. */
static int add_lower_name(struct buf *names, const char *name, size_t *off)
{
	size_t i, n = name ? strlen(name) : 0;
	char *p;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)name[i]))
			return -1;
	*off = names->len;
	if (buf_add(names, name, n + 1) < 0) /* with the NUL */
		return -1;
	for (p = names->data + *off; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

/* Value with leading/trailing white space removed and inner runs turned
 * into one space (the spec's Trimall); runs of other bytes appended whole. */
static int add_trimmed(struct buf *out, const char *v)
{
	size_t run;

	while (v && *v) {
		while (is_space(*v))
			v++;
		for (run = 0; v[run] && !is_space(v[run]); run++)
			;
		if (run == 0)
			break;
		if (buf_add(out, v, run) < 0)
			return -1;
		v += run;
		while (is_space(*v))
			v++;
		if (*v && buf_addc(out, ' ') < 0)
			return -1;
	}
	return 0;
}

static int cmp_header(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool overridden(const char *lname, const struct sigv4_kv *extra, size_t nextra)
{
	size_t i;

	if (strcmp(lname, "authorization") == 0)
		return true;
	for (i = 0; i < nextra; i++)
		if (extra[i].name && strcasecmp(lname, extra[i].name) == 0)
			return true;
	return false;
}

/* "name:v1,v2\n" per distinct lower-case name, sorted; names joined by ';'
 * into signed_headers. Request headers named like an extra one are replaced. */
static int add_canonical_headers(struct buf *out, struct buf *signed_headers,
				 const struct sigv4_request *req, const struct sigv4_kv *extra,
				 size_t nextra)
{
	size_t total = req->nheaders + nextra, *off = NULL, i, n = 0, k;
	struct buf names;
	struct pair *h = NULL;
	const struct sigv4_kv *kv;
	bool host = false;
	int rc = -1;

	buf_init(&names, out->max);
	if ((req->nheaders && !req->headers) || (nextra && !extra))
		goto fail;
	h = xcalloc(total ? total : 1, sizeof(*h));
	off = xcalloc(total ? total : 1, sizeof(*off));
	for (i = 0; i < total; i++) {
		kv = i < req->nheaders ? &req->headers[i] : &extra[i - req->nheaders];
		k = names.len;
		if (add_lower_name(&names, kv->name, &off[n]) < 0)
			goto fail;
		if (i < req->nheaders && overridden(names.data + k, extra, nextra)) {
			names.len = k; /* drop it */
			names.data[k] = '\0';
			continue;
		}
		h[n].value = kv->value ? kv->value : "";
		h[n].idx = i;
		n++;
	}
	for (i = 0; i < n; i++) {
		h[i].name = names.data + off[i];
		host = host || strcmp(h[i].name, "host") == 0;
	}
	if (!host)
		goto fail;
	qsort(h, n, sizeof(*h), cmp_header);
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(h[i].name, h[i - 1].name) != 0) {
			if ((i > 0 && (buf_addc(out, '\n') < 0 || buf_addc(signed_headers, ';') < 0)) ||
			    buf_adds(out, h[i].name) < 0 || buf_addc(out, ':') < 0 ||
			    buf_adds(signed_headers, h[i].name) < 0)
				goto fail;
		} else if (buf_addc(out, ',') < 0) {
			goto fail;
		}
		if (add_trimmed(out, h[i].value) < 0)
			goto fail;
	}
	if (buf_addc(out, '\n') < 0)
		goto fail;
	rc = 0;
fail:
	free(h);
	free(off);
	buf_free(&names);
	return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_params *p,
			    const struct sigv4_kv *extra, size_t nextra, struct buf *out,
			    struct buf *signed_headers)
{
	const char *payload = req->payload_hash ? req->payload_hash : EMPTY_SHA256;
	size_t sh = signed_headers->len;

	if (!req->method || !*req->method)
		return -1;
	if (buf_adds(out, req->method) < 0 || buf_addc(out, '\n') < 0 ||
	    add_canonical_uri(out, req, p->s3_rules) < 0 || buf_addc(out, '\n') < 0 ||
	    add_canonical_query(out, req) < 0 || buf_addc(out, '\n') < 0 ||
	    add_canonical_headers(out, signed_headers, req, extra, nextra) < 0 ||
	    buf_addc(out, '\n') < 0 ||
	    buf_add(out, buf_str(signed_headers) + sh, signed_headers->len - sh) < 0 ||
	    buf_addc(out, '\n') < 0 || buf_adds(out, payload) < 0)
		return -1;
	return 0;
}

size_t sigv4_extra_headers(const struct sigv4_params *p, const char *amz_date,
			   struct sigv4_kv extra[2])
{
	extra[0] = (struct sigv4_kv){"x-amz-date", amz_date};
	if (!p->session_token || !*p->session_token)
		return 1;
	extra[1] = (struct sigv4_kv){"x-amz-security-token", p->session_token};
	return 2;
}

/* Region, service and access key go into the credential scope: plain names only. */
static bool scope_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_unreserved((unsigned char)*s) || *s == '~')
			return false;
	return true;
}

/* "20261203/eu-west-1/sqs/aws4_request", the credential scope. */
static int add_scope(struct buf *out, const char *date8, const struct sigv4_params *p)
{
	if (buf_add(out, date8, 8) < 0 || buf_addc(out, '/') < 0 || buf_adds(out, p->region) < 0 ||
	    buf_addc(out, '/') < 0 || buf_adds(out, p->service) < 0 ||
	    buf_adds(out, "/aws4_request") < 0)
		return -1;
	return 0;
}

int sigv4_string_to_sign(const struct sigv4_params *p, const char *canonical_request,
			 size_t len, struct buf *out)
{
	char amz[TIME_AMZ_LEN], hash[SHA256_HEX_LEN + 1];

	if (!scope_name_ok(p->region) || !scope_name_ok(p->service))
		return -1;
	time_fmt_amz(p->time_ms, amz);
	sha256_hex(canonical_request, len, hash);
	if (buf_adds(out, ALGORITHM "\n") < 0 || buf_add(out, amz, TIME_AMZ_LEN - 1) < 0 ||
	    buf_addc(out, '\n') < 0 || add_scope(out, amz, p) < 0 || buf_addc(out, '\n') < 0 ||
	    buf_add(out, hash, SHA256_HEX_LEN) < 0)
		return -1;
	return 0;
}

void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		       const char *service, uint8_t key[32])
{
	size_t n = strlen(secret_key);
	char *k0 = xmalloc(n + 4);
	uint8_t k[SHA256_LEN];

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret_key, n);
	hmac_sha256(k0, n + 4, date8, strlen(date8), k);
	hmac_sha256(k, sizeof(k), region, strlen(region), k);
	hmac_sha256(k, sizeof(k), service, strlen(service), k);
	hmac_sha256(k, sizeof(k), "aws4_request", 12, key);
	OPENSSL_cleanse(k0, n + 4);
	OPENSSL_cleanse(k, sizeof(k));
	free(k0);
}

void sigv4_signature(const uint8_t key[32], const char *string_to_sign, size_t len,
		     char hex[SHA256_HEX_LEN + 1])
{
	uint8_t mac[SHA256_LEN];

	hmac_sha256(key, 32, string_to_sign, len, mac);
	hex_encode(mac, sizeof(mac), hex);
}

void sigv4_key_cache_wipe(struct sigv4_key_cache *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}

static bool fits(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

int sigv4_key_cache_get(struct sigv4_key_cache *c, const char *secret_key, const char *date8,
			const char *region, const char *service, uint8_t key[32])
{
	uint8_t h[SHA256_LEN];
	bool hit;

	sha256(secret_key, strlen(secret_key), h);
	hit = c && c->valid && strcmp(c->date8, date8) == 0 && strcmp(c->region, region) == 0 &&
	      strcmp(c->service, service) == 0 && CRYPTO_memcmp(c->secret_hash, h, sizeof(h)) == 0;
	if (hit) {
		memcpy(key, c->key, 32);
		OPENSSL_cleanse(h, sizeof(h));
		return 1;
	}
	sigv4_signing_key(secret_key, date8, region, service, key);
	if (c) {
		sigv4_key_cache_wipe(c);
		if (fits(date8, sizeof(c->date8)) && fits(region, sizeof(c->region)) &&
		    fits(service, sizeof(c->service))) {
			memcpy(c->date8, date8, strlen(date8) + 1);
			memcpy(c->region, region, strlen(region) + 1);
			memcpy(c->service, service, strlen(service) + 1);
			memcpy(c->secret_hash, h, sizeof(h));
			memcpy(c->key, key, 32);
			c->valid = true;
		}
	}
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
}

void sigv4_result_free(struct sigv4_result *r)
{
	if (!r)
		return;
	if (r->authorization) {
		OPENSSL_cleanse(r->authorization, strlen(r->authorization));
		free(r->authorization);
	}
	r->authorization = NULL;
	r->security_token = NULL;
}

/* The Authorization value, in a secret buffer sized for it up front. */
static char *authorization(const struct sigv4_params *p, const char *date8,
			  const struct buf *signed_headers, const char *sig)
{
	struct buf auth;
	char *out = NULL;

	buf_init_secret(&auth, SIGV4_MAX_CANONICAL);
	if (buf_reserve(&auth, sizeof(ALGORITHM " Credential=") + strlen(p->access_key) + 9 +
				       strlen(p->region) + strlen(p->service) +
				       sizeof("//aws4_request, SignedHeaders=") +
				       signed_headers->len + sizeof(", Signature=") +
				       SHA256_HEX_LEN) < 0 ||
	    buf_adds(&auth, ALGORITHM " Credential=") < 0 || buf_adds(&auth, p->access_key) < 0 ||
	    buf_addc(&auth, '/') < 0 || add_scope(&auth, date8, p) < 0 ||
	    buf_adds(&auth, ", SignedHeaders=") < 0 ||
	    buf_add(&auth, buf_str(signed_headers), signed_headers->len) < 0 ||
	    buf_adds(&auth, ", Signature=") < 0 || buf_add(&auth, sig, SHA256_HEX_LEN) < 0)
		goto out;
	out = buf_steal(&auth, NULL);
out:
	buf_free(&auth);
	return out;
}

/* Room for a typical canonical request, so that it is built without regrowing
 * (which, for a secret buffer, copies and wipes). */
#define CANONICAL_RESERVE 2048

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_params *p,
	       struct sigv4_key_cache *cache, struct sigv4_result *out)
{
	struct buf creq, sts, signed_headers;
	struct sigv4_kv extra[2];
	char date8[9], sig[SHA256_HEX_LEN + 1];
	uint8_t key[32];
	size_t nextra = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* The canonical request holds the session token, if any: wipe it then. */
	if (p->session_token && *p->session_token)
		buf_init_secret(&creq, SIGV4_MAX_CANONICAL);
	else
		buf_init(&creq, SIGV4_MAX_CANONICAL);
	buf_init(&sts, SIGV4_MAX_CANONICAL);
	buf_init(&signed_headers, SIGV4_MAX_CANONICAL);
	if (!p->secret_key || !scope_name_ok(p->access_key) ||
	    buf_reserve(&creq, CANONICAL_RESERVE) < 0)
		goto fail;
	time_fmt_amz(p->time_ms, out->amz_date);
	memcpy(date8, out->amz_date, 8);
	date8[8] = '\0';
	nextra = sigv4_extra_headers(p, out->amz_date, extra);
	if (sigv4_canonical_request(req, p, extra, nextra, &creq, &signed_headers) < 0 ||
	    sigv4_string_to_sign(p, buf_str(&creq), creq.len, &sts) < 0)
		goto fail;
	sigv4_key_cache_get(cache, p->secret_key, date8, p->region, p->service, key);
	sigv4_signature(key, buf_str(&sts), sts.len, sig);
	OPENSSL_cleanse(key, sizeof(key));
	out->authorization = authorization(p, date8, &signed_headers, sig);
	if (!out->authorization)
		goto fail;
	out->security_token = nextra > 1 ? p->session_token : NULL;
	rc = 0;
fail:
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&signed_headers);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
