/* fuzz_json.c - libFuzzer target for the strict JSON scanner: validation is
 * consistent with iteration and unescaping, and the writer's output always
 * validates and unescapes back to its input.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
 *   tests/fuzz/fuzz_json.c src/json.c src/util.c src/log.c -lssl -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Members of a valid object: every value is itself a valid document, every
 * key and string value unescapes to valid UTF-8. */
static void fj_check_object(const char *p, size_t n)
{
	struct json_iter it;
	struct json_member m;
	struct buf s;
	size_t count = 0;

	buf_init(&s, 0);
	REQUIRE(json_iter_init(&it, p, n) == 0);
	while (json_iter_next(&it, &m) == 1) {
		count++;
		REQUIRE(json_utf8_valid(m.key, m.key_len));
		REQUIRE(m.value_len > 0);
		REQUIRE(json_validate(m.value, m.value_len, &(struct json_limits){.max_depth = 1 << 20},
				      NULL) == JSON_OK);
		REQUIRE(json_type_of(m.value, m.value_len) == m.type);
		if (m.type == JSON_STRING) {
			buf_reset(&s);
			REQUIRE(json_unescape(&s, m.value, m.value_len) == 0);
			REQUIRE(json_utf8_valid(buf_str(&s), s.len));
		}
	}
	json_iter_free(&it);
	buf_free(&s);
	(void)count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct json_limits tight = {.max_depth = 4, .max_members = 3};
	struct json_limits loose = {.max_depth = 1 << 20};
	struct json_error err;
	enum json_status st, st_tight;
	struct buf w, u;
	const char *v;
	size_t vn;

	st = json_validate(p, size, &loose, &err);
	REQUIRE(err.status == st);
	REQUIRE(st == JSON_OK || st == JSON_ERR_SYNTAX);
	REQUIRE(st == JSON_OK || err.offset <= size);
	st_tight = json_validate(p, size, &tight, NULL);
	/* tighter limits never accept what the loose scan refused */
	REQUIRE(st == JSON_OK || st_tight != JSON_OK);
	if (st == JSON_OK) {
		v = p;
		vn = size;
		json_trim(&v, &vn);
		REQUIRE(vn > 0);
		if (json_type_of(v, vn) == JSON_OBJECT)
			fj_check_object(v, vn);
		if (json_type_of(v, vn) == JSON_STRING) {
			buf_init(&u, 0);
			REQUIRE(json_unescape(&u, v, vn) == 0);
			REQUIRE(json_utf8_valid(buf_str(&u), u.len));
			buf_free(&u);
		}
	}

	/* the writer: always valid JSON; identity through unescape on valid UTF-8 */
	buf_init(&w, 0);
	buf_init(&u, 0);
	REQUIRE(json_write_string(&w, p, size) == 0);
	REQUIRE(json_validate(w.data, w.len, NULL, NULL) == JSON_OK);
	REQUIRE(json_unescape(&u, w.data, w.len) == 0);
	REQUIRE(json_utf8_valid(buf_str(&u), u.len));
	if (json_utf8_valid(p, size))
		REQUIRE(u.len == size && memcmp(buf_str(&u), p, size) == 0);
	buf_free(&w);
	buf_free(&u);
	return 0;
}
