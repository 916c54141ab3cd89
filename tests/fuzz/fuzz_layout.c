/* fuzz_layout.c - libFuzzer target for the key encoder and key builders
 * with arbitrary identifiers, prefixes and times (fuzz_message.c covers
 * them behind msg_decode; here nothing is pre-validated). The input is
 * 8 bytes of time, then NUL-separated batch, task, status, message id and
 * prefix. Checks: the encoding uses only A-Z a-z 0-9 . _ - and %XX, is
 * never "." or "..", and decodes back; a key is at most 1,024 bytes, starts
 * with the prefix and BATCHS/ or DEAD_LETTER/, and has exactly the layout's
 * segments (each non-empty, never "." or ".."), or is refused whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "layout.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fl_require_segment(const char *s, size_t n)
{
	size_t i;

	REQUIRE(n > 0);
	REQUIRE(!(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.'));
	for (i = 0; i < n; i++)
		REQUIRE((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7F);
}

static void fl_require_encoding(const char *id, size_t n)
{
	struct buf e, d;
	size_t i;

	buf_init(&e, 0);
	buf_init(&d, 0);
	REQUIRE(layout_encode_id(&e, id, n) == 0);
	REQUIRE(e.data != NULL);
	for (i = 0; i < e.len; i++) {
		char c = e.data[i];

		if (c == '%') {
			REQUIRE(i + 2 < e.len);
			REQUIRE(strchr("0123456789ABCDEF", e.data[i + 1]) && e.data[i + 1]);
			REQUIRE(strchr("0123456789ABCDEF", e.data[i + 2]) && e.data[i + 2]);
			i += 2;
			continue;
		}
		REQUIRE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == '-');
	}
	REQUIRE(strcmp(buf_str(&e), ".") != 0 && strcmp(buf_str(&e), "..") != 0);
	REQUIRE(layout_decode_id(&d, e.data, e.len) == 0);
	REQUIRE(d.len == n && (n == 0 || memcmp(d.data, id, n) == 0));
	/* decoding arbitrary text never crashes */
	buf_reset(&d);
	(void)layout_decode_id(&d, id, n);
	buf_free(&e);
	buf_free(&d);
}

/* key = {prefix}/{rest}, rest split in exactly nseg segments */
static void fl_require_key(const struct buf *key, const char *prefix, const char *first,
			   size_t nseg)
{
	const char *p = buf_str(key), *end = p + key->len, *s;
	size_t plen, got = 0;

	REQUIRE(key->len > 0 && key->len <= LAYOUT_MAX_KEY);
	while (*prefix == '/')
		prefix++;
	plen = strlen(prefix);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen) {
		REQUIRE(key->len > plen && memcmp(p, prefix, plen) == 0 && p[plen] == '/');
		p += plen + 1;
	}
	REQUIRE(strncmp(p, first, strlen(first)) == 0);
	for (s = p; s <= end; got++) {
		const char *e = memchr(s, '/', (size_t)(end - s));
		size_t n = e ? (size_t)(e - s) : (size_t)(end - s);

		fl_require_segment(s, n);
		s += n + 1;
	}
	REQUIRE(got == nseg);
	REQUIRE(key->len > 5 && memcmp(end - 5, ".json", 5) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[5] = {"", "", "", "", ""};
	size_t fl[5] = {0}, nf = 0, at = 8, i;
	struct status_msg m = {0};
	struct buf key;
	int64_t t = 0;
	char *own[5] = {0};

	if (size < 8)
		return 0;
	memcpy(&t, data, 8); /* any int64: the formatters clamp to years 0000..9999 */
	while (at <= size && nf < 5) {
		const char *s = (const char *)data + at;
		const char *z = memchr(s, '\0', size - at);
		size_t n = z ? (size_t)(z - s) : size - at;

		own[nf] = malloc(n + 1);
		REQUIRE(own[nf] != NULL);
		memcpy(own[nf], s, n);
		own[nf][n] = '\0';
		f[nf] = own[nf];
		fl[nf++] = n;
		at += n + 1;
	}
	for (i = 0; i < 4; i++)
		fl_require_encoding(f[i], fl[i]);

	buf_init(&key, 0);
	m.batch_id = (char *)f[0];
	m.task_id = (char *)f[1];
	m.status = (char *)f[2];
	m.event_time_ms = t;
	m.command = fl[1] ? CMD_ADD_TASK_STATUS : CMD_ADD_BATCH_STATUS;
	if (layout_record_key(&key, f[4], &m, f[3]) == 0)
		fl_require_key(&key, f[4], "BATCHS/", m.command == CMD_ADD_TASK_STATUS ? 6 : 5);
	else
		REQUIRE(key.len == 0);
	m.command = CMD_GET_STATUS;
	REQUIRE(layout_record_key(&key, f[4], &m, f[3]) == -1 && key.len == 0);
	if (layout_dead_letter_key(&key, f[4], t, f[3]) == 0)
		fl_require_key(&key, f[4], "DEAD_LETTER/", 5);
	else
		REQUIRE(key.len == 0);
	if (layout_summary_key(&key, f[4], f[0]) == 0) {
		REQUIRE(key.len <= LAYOUT_MAX_KEY);
		REQUIRE(key.len > 13 && memcmp(key.data + key.len - 13, "/summary.json", 13) == 0);
	}
	buf_free(&key);
	for (i = 0; i < nf; i++)
		free(own[i]);
	return 0;
}
