/* fuzz_creds_sts.c - libFuzzer target for the STS AssumeRoleWithWebIdentity
 * answer parser (creds_parse_sts, libxml2 through xml.h's safe options):
 * accepted answers give printable keys within their limits; error answers
 * give a printable one-line reason and code; nothing leaks or crashes on
 * hostile XML (DTDs, entities, depth, size).
 * Built and run by scripts/fuzz.sh; by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Itests/fuzz \
 *     tests/fuzz/fuzz_creds_sts.c src/creds_parse.c src/xml.c src/json.c src/util.c \
 *     $(pkg-config --cflags --libs libxml-2.0) -lssl -lcrypto -o fuzz_creds_sts
 *   ./fuzz_creds_sts -max_total_time=30 -dict=tests/fuzz/fuzz_creds_sts.dict \
 *     tests/fuzz/corpus/fuzz_creds_sts */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fcs_require_key(const char *s, size_t max)
{
	size_t n;

	REQUIRE(s != NULL);
	n = strlen(s);
	REQUIRE(n > 0 && n <= max);
	for (; *s; s++)
		REQUIRE((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
}

static void fcs_require_printable(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		REQUIRE(b->data[i] >= 0x20 && b->data[i] < 0x7f);
}

static void fcs_drop(struct aws_creds *c)
{
	secret_free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_creds c = {0};
	struct buf why, code;
	int rc;

	buf_init(&why, 0);
	buf_init(&code, 0);
	rc = creds_parse_sts((const char *)data, size, &c, &code, &why);
	if (rc == 0) {
		REQUIRE(why.len == 0 && code.len == 0);
		fcs_require_key(c.access_key_id, CREDS_MAX_KEY);
		fcs_require_key(c.secret_access_key, CREDS_MAX_KEY);
		fcs_require_key(c.session_token, CREDS_MAX_TOKEN);
	} else {
		REQUIRE(rc == -1);
		REQUIRE(why.len > 0);
		fcs_require_printable(&why);
		fcs_require_printable(&code);
		REQUIRE(code.len <= 67); /* 64 and "..." */
		REQUIRE(!c.access_key_id && !c.secret_access_key && !c.session_token);
		REQUIRE(c.expiration_ms == 0);
	}
	fcs_drop(&c);
	buf_free(&why);
	buf_free(&code);
	return 0;
}
