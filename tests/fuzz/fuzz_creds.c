/* fuzz_creds.c - libFuzzer target for the credential documents a peer
 * serves: the instance-metadata / ECS container JSON (creds_parse_json) and
 * the STS AssumeRoleWithWebIdentity XML (creds_parse_sts). No crash; a
 * document either yields all three strings or nothing; the reason for a
 * refusal is one line that never holds the secret key or the token.
 * Built only when include/creds_parse.h exists. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if __has_include("creds_parse.h")
#include "creds_parse.h"

static void fc_require_refusal(const struct aws_creds *c, const struct buf *why)
{
	REQUIRE(!c->access_key_id && !c->secret_access_key && !c->session_token);
	REQUIRE(why->len > 0);
	REQUIRE(!memchr(why->data, '\n', why->len) && !memchr(why->data, '\r', why->len));
}

static void fc_require_ok(const struct aws_creds *c, bool token_required)
{
	REQUIRE(c->access_key_id && *c->access_key_id);
	REQUIRE(c->secret_access_key && *c->secret_access_key);
	REQUIRE(!token_required || (c->session_token && *c->session_token));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_creds c = {0};
	struct buf why, code;

	buf_init(&why, 0);
	buf_init(&code, 0);
	if (creds_parse_json((const char *)data, size, &c, &why) == 0)
		fc_require_ok(&c, true);
	else
		fc_require_refusal(&c, &why);
	aws_creds_clear(&c);
	buf_reset(&why);
	if (creds_parse_sts((const char *)data, size, &c, &code, &why) == 0)
		fc_require_ok(&c, true);
	else
		fc_require_refusal(&c, &why);
	aws_creds_clear(&c);
	buf_free(&why);
	buf_free(&code);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
#endif
