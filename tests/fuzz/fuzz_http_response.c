/* fuzz_http_response.c - libFuzzer target for the HTTP/1.1 response parser
 * (src/http_parse.c). The first byte chooses HEAD or not and a split length;
 * the rest arrives in pieces of that length, as from a socket, then the peer
 * closes. No crash; the body never exceeds its cap; a complete response has
 * a status and consumed no more than it was given; headers are lower-cased
 * names with NUL-terminated values inside the header buffer; a failure says
 * what failed. The same bytes fed in one piece give the same outcome. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HR_MAX_BODY 4096

/* Feeds data in pieces of step bytes; returns 1 complete, 0 cut short, -1 error. */
static int hr_run(struct http_parser *r, const char *p, size_t n, size_t step, size_t *consumed)
{
	size_t off = 0, used;
	int rc = 0;

	*consumed = 0;
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		used = 0; /* set only when the response is complete */
		rc = http_parser_feed(r, p + off, k, &used);
		REQUIRE(used <= k);
		*consumed = off + used;
		if (rc != 0)
			return rc;
		REQUIRE(used == k);
		off += k;
	}
	return http_parser_eof(r);
}

static void hr_check(const struct http_parser *r, int rc)
{
	size_t i;

	REQUIRE(r->body.len <= HR_MAX_BODY);
	REQUIRE(r->nhdr <= HTTP_MAX_RESPONSE_HEADERS);
	if (rc < 0) {
		REQUIRE(r->fail_code != 0 && r->fail_msg && r->fail_msg[0]);
		return;
	}
	REQUIRE(r->fail_code == 0);
	if (rc == 1) {
		REQUIRE(r->ps == HP_DONE);
		REQUIRE(r->status >= 200 && r->status <= 999);
	}
	for (i = 0; i < r->nhdr; i++) {
		const char *name = r->hdrbuf.data + r->hdr_off[i], *c;

		REQUIRE(r->hdr_off[i] < r->hdrbuf.len);
		for (c = name; *c; c++)
			REQUIRE(!(*c >= 'A' && *c <= 'Z'));
		REQUIRE((size_t)(c - r->hdrbuf.data) + 1 < r->hdrbuf.len);
		REQUIRE(memchr(c + 1, '\0', r->hdrbuf.len - (size_t)(c + 1 - r->hdrbuf.data)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parser a, b;
	size_t step, used_a, used_b;
	int rc_a, rc_b;
	bool head;

	if (size < 1)
		return 0;
	head = data[0] & 1;
	step = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	http_parser_init(&a, HR_MAX_BODY, head);
	http_parser_init(&b, HR_MAX_BODY, head);
	rc_a = hr_run(&a, (const char *)data, size, step, &used_a);
	rc_b = hr_run(&b, (const char *)data, size, size ? size : 1, &used_b);
	hr_check(&a, rc_a);
	hr_check(&b, rc_b);
	REQUIRE(rc_a == rc_b);
	if (rc_a == 1) {
		REQUIRE(used_a == used_b && used_a <= size);
		REQUIRE(a.status == b.status && a.keep_alive == b.keep_alive);
		REQUIRE(a.body.len == b.body.len &&
			(a.body.len == 0 || memcmp(a.body.data, b.body.data, a.body.len) == 0));
		REQUIRE(a.nhdr == b.nhdr);
	}
	http_parser_free(&a);
	http_parser_free(&b);
	return 0;
}
