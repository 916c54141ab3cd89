/* fuzz_message.c - libFuzzer target: msg_decode on arbitrary bytes, then the
 * record key and body of anything accepted, and a dead letter of everything.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
 *   tests/fuzz/fuzz_message.c src/message.c src/json.c src/layout.c
 *   src/util.c src/log.c -lssl -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "layout.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* one line of valid JSON and "\n" */
static void fm_require_json_line(const struct buf *b)
{
	REQUIRE(b->len > 0 && b->data[b->len - 1] == '\n');
	REQUIRE(memchr(b->data, '\n', b->len) == b->data + b->len - 1);
	REQUIRE(!memchr(b->data, '\r', b->len));
	REQUIRE(json_validate(b->data, b->len - 1, NULL, NULL) == JSON_OK);
}

static void fm_require_id_round_trip(const char *id)
{
	struct buf e, d;

	if (!id)
		return;
	buf_init(&e, 0);
	buf_init(&d, 0);
	REQUIRE(layout_encode_id(&e, id, strlen(id)) == 0);
	REQUIRE(!memchr(buf_str(&e), '/', e.len));
	REQUIRE(strcmp(buf_str(&e), ".") != 0 && strcmp(buf_str(&e), "..") != 0);
	REQUIRE(layout_decode_id(&d, buf_str(&e), e.len) == 0);
	REQUIRE(d.len == strlen(id) && memcmp(buf_str(&d), id, d.len) == 0);
	buf_free(&e);
	buf_free(&d);
}

static void fm_require_ident(const char *id, size_t max)
{
	size_t n, i;

	if (!id)
		return;
	n = strlen(id);
	REQUIRE(n >= 1 && n <= max);
	REQUIRE(json_utf8_valid(id, n));
	for (i = 0; i < n; i++)
		REQUIRE((unsigned char)id[i] >= 0x20 && id[i] != 0x7F);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const accounts[] = {"acme", "beta"};
	struct msg_rules rules = {0};
	struct record_meta meta = {"m-1", 1, "https://sqs.example/q", 1796292000456LL};
	const char *body = (const char *)data;
	struct status_msg m;
	struct buf reason, key, rec;
	enum msg_error e;

	/* the low bits of the length pick a rule set, so both get exercised */
	if (size % 3 == 1) {
		rules.accounts = accounts;
		rules.naccounts = 2;
	} else if (size % 3 == 2) {
		rules.limits.max_depth = 3;
		rules.limits.max_fields = 4;
	}
	buf_init(&reason, 0);
	buf_init(&key, 0);
	buf_init(&rec, 0);
	e = msg_decode(body, size, 1796292000000LL, &rules, &m, &reason);
	if (e != MSG_OK) {
		REQUIRE(reason.len > 0 && reason.len < 512);
		REQUIRE(!memchr(reason.data, '\n', reason.len) && !memchr(reason.data, '\r', reason.len));
		REQUIRE(json_utf8_valid(reason.data, reason.len));
		/* Only a valid task token survives a rejection (for SendTaskFailure). */
		REQUIRE(!m.batch_id && !m.task_id && !m.status && !m.account && !m.payload);
		fm_require_ident(m.task_token, MSG_MAX_TOKEN);
		REQUIRE(strcmp(msg_error_code(e), "Unknown") != 0);
		REQUIRE(layout_dead_letter_body(&rec, body, size, msg_error_code(e), buf_str(&reason),
						&meta) == 0);
		fm_require_json_line(&rec);
		goto out;
	}
	fm_require_ident(m.batch_id, MSG_MAX_ID);
	fm_require_ident(m.task_id, MSG_MAX_ID);
	fm_require_ident(m.account, MSG_MAX_ID);
	fm_require_ident(m.task_token, MSG_MAX_TOKEN);
	REQUIRE(m.batch_id != NULL);
	REQUIRE((m.command == CMD_ADD_TASK_STATUS) == (m.task_id != NULL) ||
		m.command == CMD_GET_STATUS);
	REQUIRE((m.command == CMD_GET_STATUS) == (m.status == NULL));
	fm_require_id_round_trip(m.batch_id);
	fm_require_id_round_trip(m.task_id);
	if (m.payload)
		REQUIRE(json_validate(m.payload, m.payload_len, NULL, NULL) == JSON_OK);
	if (m.command == CMD_GET_STATUS) {
		REQUIRE(layout_record_key(&key, "FTD_CONTRACT_LOADER", &m, meta.message_id) == -1);
		REQUIRE(layout_record_body(&rec, &m, &meta, false) == -1);
		goto out;
	}
	if (layout_record_key(&key, "FTD_CONTRACT_LOADER", &m, meta.message_id) == 0) {
		REQUIRE(key.len <= LAYOUT_MAX_KEY);
		REQUIRE(strncmp(key.data, "FTD_CONTRACT_LOADER/BATCHS/", 27) == 0);
		REQUIRE(key.len > 5 && memcmp(key.data + key.len - 5, ".json", 5) == 0);
	} else {
		REQUIRE(key.len == 0);
	}
	REQUIRE(layout_summary_key(&key, "FTD_CONTRACT_LOADER", m.batch_id) == 0);
	REQUIRE(layout_record_body(&rec, &m, &meta, false) == 0);
	fm_require_json_line(&rec);
	REQUIRE(layout_record_body(&rec, &m, &meta, true) == 0);
	fm_require_json_line(&rec);
out:
	status_msg_clear(&m);
	buf_free(&reason);
	buf_free(&key);
	buf_free(&rec);
	return 0;
}
