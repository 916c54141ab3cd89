/* fuzz_creds_json.c - libFuzzer target for the credentials document of
 * instance metadata and the ECS endpoint (creds_parse_json): accepted
 * documents give three printable keys within their limits; refused ones
 * leave nothing behind and say why in one line; the same bytes always give
 * the same answer.
 * Built and run by scripts/fuzz.sh; by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Itests/fuzz \
 *     tests/fuzz/fuzz_creds_json.c src/creds_parse.c src/xml.c src/json.c src/util.c \
 *     $(pkg-config --cflags --libs libxml-2.0) -lssl -lcrypto -o fuzz_creds_json
 *   ./fuzz_creds_json -max_total_time=30 tests/fuzz/corpus/fuzz_creds_json */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fcj_require_key(const char *s, size_t max)
{
	size_t n;

	REQUIRE(s != NULL);
	n = strlen(s);
	REQUIRE(n > 0 && n <= max);
	for (; *s; s++)
		REQUIRE((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
}

static void fcj_require_empty(const struct aws_creds *c)
{
	REQUIRE(!c->access_key_id && !c->secret_access_key && !c->session_token);
	REQUIRE(c->expiration_ms == 0 && !c->source);
}

static void fcj_drop(struct aws_creds *c)
{
	secret_free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct aws_creds a = {0}, b = {0};
	struct buf why_a, why_b;
	int ra, rb;

	buf_init(&why_a, 0);
	buf_init(&why_b, 0);
	ra = creds_parse_json(p, size, &a, &why_a);
	rb = creds_parse_json(p, size, &b, &why_b);
	REQUIRE(ra == rb);
	REQUIRE(strcmp(buf_str(&why_a), buf_str(&why_b)) == 0);
	if (ra == 0) {
		REQUIRE(why_a.len == 0);
		fcj_require_key(a.access_key_id, CREDS_MAX_KEY);
		fcj_require_key(a.secret_access_key, CREDS_MAX_KEY);
		fcj_require_key(a.session_token, CREDS_MAX_TOKEN);
		REQUIRE(strcmp(a.access_key_id, b.access_key_id) == 0);
		REQUIRE(strcmp(a.session_token, b.session_token) == 0);
		REQUIRE(a.expiration_ms == b.expiration_ms);
		/* The key id appears in the document (unescaped ids may not, so only
		 * when it has no backslash at all). */
		if (!memchr(p, '\\', size))
			REQUIRE(memmem(p, size, a.access_key_id, strlen(a.access_key_id)) != NULL);
	} else {
		REQUIRE(ra == -1);
		REQUIRE(why_a.len > 0 && !memchr(why_a.data, '\n', why_a.len));
		fcj_require_empty(&a);
	}
	fcj_drop(&a);
	fcj_drop(&b);
	buf_free(&why_a);
	buf_free(&why_b);
	return 0;
}
