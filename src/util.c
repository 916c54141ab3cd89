/* util.c - aborting allocators, bounded buffers, hex/SHA-256/base64 and UTC
 * time helpers used by every other module. */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(void)
{
	fputs("<2>s3statusd: out of memory, aborting\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrjoin(const char *first, ...)
{
	va_list ap;
	const char *p;
	size_t n = 0;
	char *out, *o;

	va_start(ap, first);
	for (p = first; p; p = va_arg(ap, const char *))
		n += strlen(p);
	va_end(ap);
	o = out = xmalloc(n + 1);
	va_start(ap, first);
	for (p = first; p; p = va_arg(ap, const char *)) {
		size_t k = strlen(p);

		memcpy(o, p, k);
		o += k;
	}
	va_end(ap);
	*o = '\0';
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b, NULL);
}

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX - 1;
	b->secret = false;
}

void buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = true;
}

void buf_free(struct buf *b)
{
	if (b->secret && b->data)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	if (b->secret && b->data)
		OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > b->max || b->len > b->max - extra)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->secret) {
		/* realloc could leave the old bytes behind in freed memory. */
		char *p = xmalloc(cap);

		if (b->data) {
			memcpy(p, b->data, b->len + 1);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
		b->data = p;
	} else {
		b->data = xrealloc(b->data, cap);
	}
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_reserve(struct buf *b, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	b->data[b->len] = '\0'; /* a fresh buffer reads as "" */
	return 0;
}

int buf_add_i64(struct buf *b, int64_t v)
{
	char digits[24], *p = digits + sizeof(digits);
	/* the magnitude as unsigned, so INT64_MIN has one too */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return buf_add(b, p, (size_t)(digits + sizeof(digits) - p));
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_steal(struct buf *b, size_t *len)
{
	/* A secret buffer's bytes become the caller's to wipe (secret_free). */
	char *p = b->data ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* OpenSSL 3's one-shot SHA256()/HMAC() look the algorithm up on every call,
 * which costs more than hashing a small body. The digest is fetched once and
 * one context reused (the daemon hashes on its one thread). A failure here
 * means a broken libcrypto: nothing can be signed, so stop. */
static EVP_MD_CTX *sha_ctx;
static EVP_MD *sha_md;

static void crypto_broken(void)
{
	fputs("<2>s3statusd: SHA-256 is not available from OpenSSL, aborting\n", stderr);
	abort();
}

static void sha256_parts(const void *a, size_t na, const void *b, size_t nb,
			 uint8_t out[SHA256_LEN])
{
	unsigned int len = 0;

	if (!sha_md && !(sha_md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		crypto_broken();
	if (!sha_ctx && !(sha_ctx = EVP_MD_CTX_new()))
		crypto_broken();
	if (!EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) || !EVP_DigestUpdate(sha_ctx, a, na) ||
	    (nb && !EVP_DigestUpdate(sha_ctx, b, nb)) || !EVP_DigestFinal_ex(sha_ctx, out, &len) ||
	    len != SHA256_LEN)
		crypto_broken();
}

void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	sha256_parts(p, n, NULL, 0, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
		 uint8_t out[SHA256_LEN])
{
	/* RFC 2104 with a 64-byte block. */
	uint8_t k[64] = {0}, pad[64], inner[SHA256_LEN];
	size_t i;

	if (keylen > sizeof(k))
		sha256(key, keylen, k);
	else
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	sha256_parts(pad, sizeof(pad), msg, n, inner);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_parts(pad, sizeof(pad), inner, sizeof(inner), out);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1])
{
	uint8_t md[SHA256_LEN];

	sha256(p, n, md);
	hex_encode(md, sizeof(md), out);
}

void base64_encode(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}


int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t time_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void time_civil(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

struct tparts {
	int y, mo, d, h, mi, s, ms;
};

/* The instants the formats can show: 0000-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z. */
#define TIME_MIN_MS (-62167219200000LL)
#define TIME_MAX_MS 253402300799999LL

/* Instants outside the four-digit years are clamped to the nearest one, so
 * every format has a fixed width and shows a real date (and no arithmetic
 * below can overflow, whatever a peer's timestamp says). */
static void split_ms(int64_t ms, struct tparts *t)
{
	int64_t days, rem;

	if (ms < TIME_MIN_MS)
		ms = TIME_MIN_MS;
	if (ms > TIME_MAX_MS)
		ms = TIME_MAX_MS;
	days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	rem = ms - days * 86400000;

	time_civil(days, &t->y, &t->mo, &t->d);
	t->h = (int)(rem / 3600000);
	t->mi = (int)(rem / 60000 % 60);
	t->s = (int)(rem / 1000 % 60);
	t->ms = (int)(rem % 1000);
}

/* Fixed-width fields written digit by digit: no printf on the hot path, and
 * the widths are exact (split_ms clamps the instant to years 0000..9999). */
static char *put_num(char *p, int v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* sep: the date and time separators ("-:" for ISO, "" for the compact forms). */
static void fmt_time(int64_t ms, char *out, bool iso, bool millis)
{
	struct tparts t;
	char *p = out;

	split_ms(ms, &t);
	p = put_num(p, t.y, 4);
	if (iso)
		*p++ = '-';
	p = put_num(p, t.mo, 2);
	if (iso)
		*p++ = '-';
	p = put_num(p, t.d, 2);
	*p++ = 'T';
	p = put_num(p, t.h, 2);
	if (iso)
		*p++ = ':';
	p = put_num(p, t.mi, 2);
	if (iso)
		*p++ = ':';
	p = put_num(p, t.s, 2);
	if (millis) {
		*p++ = '.';
		p = put_num(p, t.ms, 3);
	}
	*p++ = 'Z';
	*p = '\0';
}

void time_fmt_iso(int64_t ms, char out[TIME_ISO_LEN])
{
	fmt_time(ms, out, true, true);
}

void time_fmt_stamp(int64_t ms, char out[TIME_STAMP_LEN])
{
	fmt_time(ms, out, false, true);
}

void time_fmt_amz(int64_t ms, char out[TIME_AMZ_LEN])
{
	fmt_time(ms, out, false, false);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
	int v = 0;
	size_t i;

	if (at + count > n)
		return -1;
	for (i = 0; i < count; i++) {
		if (s[at + i] < '0' || s[at + i] > '9')
			return -1;
		v = v * 10 + (s[at + i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

int time_parse_rfc3339(const char *s, size_t n, int64_t *ms)
{
	struct tparts t = {0};
	size_t i = 19;
	int oh = 0, om = 0, sign = 0, frac_digits = 0;

	if (n < 20 || digits(s, n, 0, 4, &t.y) || s[4] != '-' || digits(s, n, 5, 2, &t.mo) ||
	    s[7] != '-' || digits(s, n, 8, 2, &t.d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s, n, 11, 2, &t.h) || s[13] != ':' || digits(s, n, 14, 2, &t.mi) ||
	    s[16] != ':' || digits(s, n, 17, 2, &t.s))
		return -1;
	if (t.mo < 1 || t.mo > 12 || t.d < 1 || t.d > days_in_month(t.y, t.mo) || t.h > 23 ||
	    t.mi > 59 || t.s > 60)
		return -1;
	if (t.s == 60) /* leap second: clamp to :59 of the same minute */
		t.s = 59;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (frac_digits < 3)
				t.ms = t.ms * 10 + (s[i] - '0');
			frac_digits++;
			i++;
		}
		if (frac_digits == 0 || frac_digits > 9)
			return -1;
		for (; frac_digits < 3; frac_digits++)
			t.ms *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
		    digits(s, n, i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	*ms = (time_days(t.y, t.mo, t.d) * 86400 + t.h * 3600 + t.mi * 60 + t.s) * 1000 + t.ms -
	      (int64_t)sign * (oh * 3600 + om * 60) * 1000;
	return 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void secret_free(char *s)
{
	if (!s)
		return;
	secure_wipe(s, strlen(s));
	free(s);
}
