/* fuzz_sigv4.c - libFuzzer target for the SigV4 canonicaliser and signer
 * with arbitrary method, path, query and headers. The input is lines:
 * byte 0 picks the rules (S3 or not, raw path, a session token, a host
 * header), then "METHOD\nPATH\nQUERY\nHEADER..." where QUERY is
 * "a=b&c=d" and each HEADER "name:value". Checks: no crash; a canonical
 * request has its six parts; the URI and query are percent-encoded (and
 * for non-S3 normalised: no empty, "." or ".." segment); header lines
 * sorted, unique, lower-case and matching SignedHeaders; sigv4_sign agrees
 * with the stages, with and without the key cache. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FS_MAX_ITEMS 32

static bool fs_unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool fs_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* s[0..n) only unreserved bytes, %XX escapes and the bytes in also. */
static void fs_require_encoded(const char *s, size_t n, const char *also)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			REQUIRE(i + 2 < n);
			REQUIRE(fs_upper_hex(s[i + 1]) && fs_upper_hex(s[i + 2]));
			i += 2;
			continue;
		}
		REQUIRE(fs_unreserved(s[i]) || strchr(also, s[i]));
	}
}

/* Next line of in[*at..n) (without '\n'), as a new NUL-terminated string. */
static char *fs_line(const char *in, size_t n, size_t *at)
{
	const char *nl;
	size_t len;
	char *s;

	if (*at > n)
		return NULL;
	nl = memchr(in + *at, '\n', n - *at);
	len = nl ? (size_t)(nl - (in + *at)) : n - *at;
	s = malloc(len + 1);
	REQUIRE(s != NULL);
	memcpy(s, in + *at, len);
	s[len] = '\0';
	*at += len + 1;
	return s;
}

/* Split s in place at the first sep: s becomes the name, the result the value. */
static char *fs_split(char *s, char sep)
{
	char *v = strchr(s, sep);

	if (!v)
		return NULL;
	*v = '\0';
	return v + 1;
}

static void fs_check_canonical(const struct sigv4_request *req, const struct sigv4_params *p,
			       const char *c, size_t n, const char *sh)
{
	const char *line[FS_MAX_ITEMS * 2 + 8];
	size_t len[FS_MAX_ITEMS * 2 + 8], nl = 0, i, start = 0, nh;
	const char *s, *prev = NULL;
	size_t prev_len = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || c[i] == '\n') {
			REQUIRE(nl < sizeof(line) / sizeof(line[0]));
			line[nl] = c + start;
			len[nl++] = i - start;
			start = i + 1;
		}
	}
	/* method, uri, query, headers..., "", signed headers, payload hash */
	REQUIRE(nl >= 7);
	nh = nl - 6;
	REQUIRE(len[0] == strlen(req->method) && memcmp(line[0], req->method, len[0]) == 0);
	REQUIRE(len[1] >= 1 && line[1][0] == '/');
	if (!(p->s3_rules && req->raw_path)) {
		fs_require_encoded(line[1], len[1], "/");
		if (!p->s3_rules) {
			/* normalised: no empty (but a trailing), "." or ".." segment */
			for (s = line[1] + 1; s < line[1] + len[1];) {
				const char *e = memchr(s, '/', (size_t)(line[1] + len[1] - s));
				size_t sl = e ? (size_t)(e - s) : (size_t)(line[1] + len[1] - s);

				REQUIRE(sl > 0 || !e);
				REQUIRE(!(sl == 1 && s[0] == '.') &&
					!(sl == 2 && s[0] == '.' && s[1] == '.'));
				s += sl + 1;
			}
		}
	}
	fs_require_encoded(line[2], len[2], "=&");
	REQUIRE(len[nl - 3] == 0);
	REQUIRE(len[nl - 2] == strlen(sh) && memcmp(line[nl - 2], sh, len[nl - 2]) == 0);
	/* header lines: "name:value", names ascending, joined as SignedHeaders */
	s = sh;
	for (i = 3; i < 3 + nh; i++) {
		const char *colon = memchr(line[i], ':', len[i]);
		size_t k, name_len;

		REQUIRE(colon != NULL);
		name_len = (size_t)(colon - line[i]);
		REQUIRE(name_len > 0);
		for (k = 0; k < name_len; k++)
			REQUIRE(!(line[i][k] >= 'A' && line[i][k] <= 'Z'));
		if (prev) {
			int cmp = memcmp(prev, line[i], prev_len < name_len ? prev_len : name_len);
			REQUIRE(cmp < 0 || (cmp == 0 && prev_len < name_len));
		}
		REQUIRE(strncmp(s, line[i], name_len) == 0 &&
			(s[name_len] == ';' || s[name_len] == '\0'));
		s += name_len + (s[name_len] == ';');
		prev = line[i];
		prev_len = name_len;
	}
	REQUIRE(*s == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct sigv4_kv query[FS_MAX_ITEMS], headers[FS_MAX_ITEMS + 1], extra[2];
	char *items[FS_MAX_ITEMS * 2 + 3] = {0};
	size_t nitems = 0, nq = 0, nh = 0, at = 1, i, nextra;
	struct sigv4_request req = {0};
	struct sigv4_params p = {
		.access_key = "AKIDEXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.region = "us-east-1",
		.time_ms = 1796292000123LL,
	};
	struct sigv4_key_cache cache = {0};
	struct sigv4_result r1 = {0}, r2 = {0}, r3 = {0};
	struct buf c, sh, sts;
	char *method, *path, *qs, *s, *v, amz[TIME_AMZ_LEN];
	uint8_t flags;
	int rc;

	if (size < 1)
		return 0;
	flags = data[0];
	p.s3_rules = flags & 1;
	p.service = p.s3_rules ? "s3" : "sqs";
	p.session_token = flags & 4 ? "FwoGZXIvYXdzEXAMPLETOKEN//+=" : NULL;
	req.raw_path = flags & 2;
	method = items[nitems++] = fs_line(in, size, &at);
	path = items[nitems++] = fs_line(in, size, &at);
	qs = items[nitems++] = fs_line(in, size, &at);
	if (!method || !path || !qs)
		goto out;
	/* query: a=b&c=d (a pair without '=' has an empty value) */
	for (s = qs; *s && nq < FS_MAX_ITEMS;) {
		char *amp = strchr(s, '&');

		if (amp)
			*amp = '\0';
		v = fs_split(s, '=');
		query[nq++] = (struct sigv4_kv){s, v ? v : ""};
		if (!amp)
			break;
		s = amp + 1;
	}
	if (!(flags & 8))
		headers[nh++] = (struct sigv4_kv){"Host", "example.amazonaws.com"};
	while (at <= size && nh < FS_MAX_ITEMS + 1 && nitems < sizeof(items) / sizeof(items[0])) {
		s = items[nitems++] = fs_line(in, size, &at);
		v = fs_split(s, ':');
		headers[nh++] = (struct sigv4_kv){s, v ? v : ""};
	}
	req.method = method;
	req.path = path;
	req.query = query;
	req.nquery = nq;
	req.headers = headers;
	req.nheaders = nh;
	req.payload_hash = flags & 16 ? "UNSIGNED-PAYLOAD" : NULL;

	buf_init(&c, SIGV4_MAX_CANONICAL);
	buf_init(&sh, SIGV4_MAX_CANONICAL);
	buf_init(&sts, SIGV4_MAX_CANONICAL);
	time_fmt_amz(p.time_ms, amz);
	nextra = sigv4_extra_headers(&p, amz, extra);
	rc = sigv4_canonical_request(&req, &p, extra, nextra, &c, &sh);
	if (rc == 0 && !strchr(method, '\n'))
		fs_check_canonical(&req, &p, buf_str(&c), c.len, buf_str(&sh));
	if (rc == 0)
		REQUIRE(sigv4_string_to_sign(&p, buf_str(&c), c.len, &sts) == 0);

	/* sigv4_sign agrees with the stages, and the cache changes nothing */
	REQUIRE((sigv4_sign(&req, &p, NULL, &r1) == 0) == (rc == 0));
	REQUIRE((sigv4_sign(&req, &p, &cache, &r2) == 0) == (rc == 0));
	REQUIRE((sigv4_sign(&req, &p, &cache, &r3) == 0) == (rc == 0));
	if (rc == 0) {
		const char *sig = strstr(r1.authorization, "Signature=");

		REQUIRE(strcmp(r1.authorization, r2.authorization) == 0);
		REQUIRE(strcmp(r1.authorization, r3.authorization) == 0);
		REQUIRE(strncmp(r1.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0);
		REQUIRE(sig && strlen(sig) == 10 + 64);
		REQUIRE(!strchr(r1.authorization, '\n') && !strchr(r1.authorization, '\r'));
		REQUIRE((r1.security_token != NULL) == (p.session_token != NULL));
	} else {
		REQUIRE(!r1.authorization && !r2.authorization && !r3.authorization);
	}
	sigv4_result_free(&r1);
	sigv4_result_free(&r2);
	sigv4_result_free(&r3);
	sigv4_key_cache_wipe(&cache);
	buf_free(&c);
	buf_free(&sh);
	buf_free(&sts);
out:
	for (i = 0; i < nitems; i++)
		free(items[i]);
	return 0;
}
