/* util.h - small helpers shared by every module: aborting allocators, a bounded
 * growable buffer, hex/SHA-256 helpers and UTC time formatting. */
#ifndef S3S_UTIL_H
#define S3S_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3S_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure aborts the process: the daemon runs under systemd with
 * Restart=on-failure and SQS redelivers whatever was in flight. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Exactly n bytes of s (which may hold NULs) and a terminating NUL. */
char *xstrndup(const char *s, size_t n);

char *xasprintf(const char *fmt, ...) S3S_PRINTF(1, 2);
/* The strings up to a NULL, concatenated (no printf on hot paths). */
char *xstrjoin(const char *first, ...) __attribute__((sentinel));

/* A growable byte buffer with a hard maximum (like curl's dynbuf "toobig").
 * data is always NUL-terminated once anything was appended. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 means SIZE_MAX */
	bool secret; /* wipe old copies when growing, and the bytes on free/reset */
};

void buf_init(struct buf *b, size_t max);
/* A buffer for secrets (signatures, tokens): no copy survives a grow or free. */
void buf_init_secret(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Each append returns 0, or -1 when the result would exceed b->max (b unchanged). */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
/* Room for n more bytes, so that appends of up to n bytes in all allocate
 * nothing; -1 when b->len + n would exceed b->max. */
int buf_reserve(struct buf *b, size_t n);
/* v in decimal ("-12"), without printf. */
int buf_add_i64(struct buf *b, int64_t v);
/* One byte; inline because it is called per byte in the signer's and the
 * writers' loops (the slow path grows the buffer through buf_add). */
static inline int buf_addc(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add(b, &c, 1);
}
int buf_addf(struct buf *b, const char *fmt, ...) S3S_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Always a valid C string ("" for an empty buffer). */
const char *buf_str(const struct buf *b);
/* Hand the bytes over to the caller (NUL-terminated, never NULL); b is reset. */
char *buf_steal(struct buf *b, size_t *len);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* SHA-256 helpers. */
#define SHA256_LEN 32
#define SHA256_HEX_LEN 64
void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1]);
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
		 uint8_t out[SHA256_LEN]);
/* Standard base64 (with padding) of n bytes into out (4*((n+2)/3)+1 bytes). */
void base64_encode(const uint8_t *in, size_t n, char *out);

/* Clocks in milliseconds. */
int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

/* UTC formats from Unix milliseconds (thread-safe, no gmtime).
 * iso:   2026-12-03T10:00:00.123Z  (25 bytes incl NUL)
 * stamp: 20261203T100000.123Z      (21 bytes incl NUL)
 * amz:   20261203T100000Z          (17 bytes incl NUL) */
#define TIME_ISO_LEN 25
#define TIME_STAMP_LEN 21
#define TIME_AMZ_LEN 17
void time_fmt_iso(int64_t ms, char out[TIME_ISO_LEN]);
void time_fmt_stamp(int64_t ms, char out[TIME_STAMP_LEN]);
void time_fmt_amz(int64_t ms, char out[TIME_AMZ_LEN]);
/* Civil date from Unix days (days since 1970-01-01) and back. */
void time_civil(int64_t days, int *y, int *m, int *d);
int64_t time_days(int y, int m, int d);
/* Parse RFC 3339 ("2026-12-03T10:00:00Z", fractions, +hh:mm offsets) to Unix ms.
 * Returns 0 on success, -1 if the text is not a valid RFC 3339 date-time. */
int time_parse_rfc3339(const char *s, size_t n, int64_t *ms);

/* Parse a whole decimal integer within [min, max]; -1 on any junk or overflow. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Constant-time-ish memory wipe for secrets (OPENSSL_cleanse). */
void secure_wipe(void *p, size_t n);
/* Free a secret string after wiping it; NULL is fine. */
void secret_free(char *s);

#endif
