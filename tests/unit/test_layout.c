/* test_layout.c - SPEC section 2: identifier encoding and its inverse, exact
 * record/dead-letter/summary keys, the key length limit, exact bodies. */
#include "layout.h"

#include "check.h"
#include "json.h"

#define S(lit) lit, sizeof(lit) - 1
#define T10 1796292000000LL /* 2026-12-03T10:00:00.000Z */
#define MID "6f0e5a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
#define QUEUE "https://sqs.eu-west-1.amazonaws.com/123456789012/status"

static void test_encode_table(void)
{
	static const struct {
		const char *id;
		size_t len;
		const char *enc;
	} cases[] = {
		{S("b1"), "b1"},
		{S("AZaz09._-"), "AZaz09._-"},
		{S("a/b"), "a%2Fb"},
		{S("/"), "%2F"},
		{S("."), "%2E"},
		{S(".."), "%2E%2E"},
		{S("..."), "..."},
		{S(".a"), ".a"},
		{S("a."), "a."},
		{S("../x"), "..%2Fx"},
		{S("a b"), "a%20b"},
		{S("%"), "%25"},
		{S("%2F"), "%252F"},
		{S("~+*!'()=&?#:@,;$\"\\"), "%7E%2B%2A%21%27%28%29%3D%26%3F%23%3A%40%2C%3B%24%22%5C"},
		{S("\xC3\xA9t\xC3\xA9"), "%C3%A9t%C3%A9"},
		{S("\xF0\x9F\x98\x80"), "%F0%9F%98%80"},
		{S("a\0b"), "a%00b"},
		{S("\x7F\xFF"), "%7F%FF"},
		{S(""), ""},
	};
	size_t i;
	struct buf b, d;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_init(&b, 0);
		buf_init(&d, 0);
		CHECK_INT(layout_encode_id(&b, cases[i].id, cases[i].len), 0);
		CHECK_STR(buf_str(&b), cases[i].enc);
		CHECK_INT(layout_decode_id(&d, b.data, b.len), 0);
		CHECK_INT(d.len, cases[i].len);
		CHECK(memcmp(buf_str(&d), cases[i].id, cases[i].len) == 0);
		buf_free(&b);
		buf_free(&d);
	}
}

static void test_encode_appends_and_limits(void)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, "x/");
	CHECK_INT(layout_encode_id(&b, S("a b")), 0);
	CHECK_STR(buf_str(&b), "x/a%20b");
	buf_free(&b);
	/* out full: -1 and out unchanged */
	buf_init(&b, 6);
	buf_adds(&b, "x/");
	CHECK_INT(layout_encode_id(&b, S("a b")), -1);
	CHECK_STR(buf_str(&b), "x/");
	buf_free(&b);
}

static void test_decode(void)
{
	static const struct {
		const char *seg;
		const char *want; /* NULL: malformed */
	} cases[] = {
		{"a%2fb", "a/b"}, /* lower-case hex accepted */
		{"%2e%2E", ".."},
		{"plain", "plain"},
		{"a b", "a b"}, /* other bytes pass through */
		{"%", NULL},
		{"%2", NULL},
		{"a%2", NULL},
		{"%G0", NULL},
		{"%0G", NULL},
		{"%%41", NULL},
	};
	size_t i;
	struct buf d;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_init(&d, 0);
		buf_adds(&d, "pre:");
		CHECK_INT(layout_decode_id(&d, cases[i].seg, strlen(cases[i].seg)),
			  cases[i].want ? 0 : -1);
		if (cases[i].want) {
			CHECK(strncmp(buf_str(&d), "pre:", 4) == 0);
			CHECK_STR(buf_str(&d) + 4, cases[i].want);
		} else {
			CHECK_STR(buf_str(&d), "pre:");
		}
		buf_free(&d);
	}
}

/* every byte value survives encode/decode, and the encoding only ever uses
 * the safe set plus '%' (so a key segment never contains '/') */
static void test_round_trip_all_bytes(void)
{
	char all[256];
	struct buf b, d;
	size_t i;
	unsigned seed = 12345;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	buf_init(&b, 0);
	buf_init(&d, 0);
	CHECK_INT(layout_encode_id(&b, all, sizeof(all)), 0);
	CHECK(strspn(b.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%") ==
	      b.len);
	CHECK_INT(layout_decode_id(&d, b.data, b.len), 0);
	CHECK_INT(d.len, 256);
	CHECK(memcmp(d.data, all, 256) == 0);
	/* pseudo-random strings */
	for (i = 0; i < 2000; i++) {
		char s[16];
		size_t n = i % 16, k;

		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			s[k] = (char)(seed >> 16);
		}
		buf_reset(&b);
		buf_reset(&d);
		CHECK_INT(layout_encode_id(&b, s, n), 0);
		CHECK(!memchr(buf_str(&b), '/', b.len));
		CHECK_INT(layout_decode_id(&d, buf_str(&b), b.len), 0);
		CHECK(d.len == n && memcmp(buf_str(&d), s, n) == 0);
	}
	buf_free(&b);
	buf_free(&d);
}

static struct status_msg sample(enum msg_command cmd, const char *batch, const char *task,
				const char *status)
{
	struct status_msg m = {0};

	m.command = cmd;
	m.batch_id = (char *)batch;
	m.task_id = (char *)task;
	m.status = (char *)status;
	m.event_time_ms = T10 + 123;
	return m;
}

static void test_keys(void)
{
	static const struct {
		const char *prefix;
		enum msg_command cmd;
		const char *batch, *task, *status, *mid;
		const char *want; /* NULL: refused */
	} cases[] = {
		{"FTD_CONTRACT_LOADER", CMD_ADD_BATCH_STATUS, "b1", NULL, "running", MID,
		 "FTD_CONTRACT_LOADER/BATCHS/b1/status/running/20261203T100000.123Z_" MID ".json"},
		{"FTD_CONTRACT_LOADER", CMD_ADD_TASK_STATUS, "b1", "t1", "completed", MID,
		 "FTD_CONTRACT_LOADER/BATCHS/b1/tasks/t1/completed/20261203T100000.123Z_" MID ".json"},
		{NULL, CMD_ADD_BATCH_STATUS, "b1", NULL, "failed", "m",
		 "FTD_CONTRACT_LOADER/BATCHS/b1/status/failed/20261203T100000.123Z_m.json"},
		{"", CMD_ADD_BATCH_STATUS, "b1", NULL, "pending", "m",
		 "BATCHS/b1/status/pending/20261203T100000.123Z_m.json"},
		{"/env/prod/", CMD_ADD_BATCH_STATUS, "b1", NULL, "pending", "m",
		 "env/prod/BATCHS/b1/status/pending/20261203T100000.123Z_m.json"},
		{"///", CMD_ADD_BATCH_STATUS, "b1", NULL, "pending", "m",
		 "BATCHS/b1/status/pending/20261203T100000.123Z_m.json"},
		{"P", CMD_ADD_TASK_STATUS, "2026/12/03", "..", "success", "m",
		 "P/BATCHS/2026%2F12%2F03/tasks/%2E%2E/success/20261203T100000.123Z_m.json"},
		{"P", CMD_ADD_TASK_STATUS, ".", "a b", "running", "m",
		 "P/BATCHS/%2E/tasks/a%20b/running/20261203T100000.123Z_m.json"},
		{"P", CMD_ADD_BATCH_STATUS, "\xC3\xA9t\xC3\xA9 100%", NULL, "running", "m/../x",
		 "P/BATCHS/%C3%A9t%C3%A9%20100%25/status/running/20261203T100000.123Z_m%2F..%2Fx.json"},
		{"P", CMD_ADD_BATCH_STATUS, "summary.json", NULL, "running", "m",
		 "P/BATCHS/summary.json/status/running/20261203T100000.123Z_m.json"},
		{"P", CMD_GET_STATUS, "b1", NULL, NULL, "m", NULL},
		{"P", CMD_ADD_BATCH_STATUS, "b1", NULL, "running", "", NULL},
		{"P", CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL},
		{"P", CMD_ADD_TASK_STATUS, "b1", NULL, "running", "m", NULL},
	};
	size_t i;
	struct buf k;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct status_msg m = sample(cases[i].cmd, cases[i].batch, cases[i].task,
					     cases[i].status);

		buf_init(&k, 0);
		buf_adds(&k, "junk"); /* replaced, not appended to */
		CHECK_INT(layout_record_key(&k, cases[i].prefix, &m, cases[i].mid),
			  cases[i].want ? 0 : -1);
		CHECK_STR(buf_str(&k), cases[i].want ? cases[i].want : "");
		buf_free(&k);
	}
}

static void test_dead_letter_and_summary_keys(void)
{
	struct buf k;

	buf_init(&k, 0);
	CHECK_INT(layout_dead_letter_key(&k, "FTD_CONTRACT_LOADER", T10 + 123, MID), 0);
	CHECK_STR(buf_str(&k),
		  "FTD_CONTRACT_LOADER/DEAD_LETTER/2026/12/03/20261203T100000.123Z_" MID ".json");
	CHECK_INT(layout_dead_letter_key(&k, NULL, 0, "a/b"), 0);
	CHECK_STR(buf_str(&k),
		  "FTD_CONTRACT_LOADER/DEAD_LETTER/1970/01/01/19700101T000000.000Z_a%2Fb.json");
	/* 2024-02-29T23:59:59.999Z */
	CHECK_INT(layout_dead_letter_key(&k, "", 1709251199999LL, "m"), 0);
	CHECK_STR(buf_str(&k), "DEAD_LETTER/2024/02/29/20240229T235959.999Z_m.json");
	CHECK_INT(layout_dead_letter_key(&k, "p", T10, ""), -1);
	CHECK_STR(buf_str(&k), "");

	CHECK_INT(layout_summary_key(&k, "FTD_CONTRACT_LOADER", "b1"), 0);
	CHECK_STR(buf_str(&k), "FTD_CONTRACT_LOADER/BATCHS/b1/summary.json");
	CHECK_INT(layout_summary_key(&k, "x/", "a b/.."), 0);
	CHECK_STR(buf_str(&k), "x/BATCHS/a%20b%2F../summary.json");
	CHECK_INT(layout_summary_key(&k, "x", ".."), 0);
	CHECK_STR(buf_str(&k), "x/BATCHS/%2E%2E/summary.json");
	CHECK_INT(layout_summary_key(&k, "x", ""), -1);
	CHECK_INT(layout_summary_key(&k, "x", NULL), -1);
	buf_free(&k);
}

/* stamps sort chronologically as text */
static void test_stamp_order(void)
{
	static const int64_t times[] = {0, 999, 1000, 59999, 3600000, T10 - 1, T10, T10 + 1,
					253402300799999LL};
	struct buf a, b;
	size_t i;

	buf_init(&a, 0);
	buf_init(&b, 0);
	for (i = 1; i < ARRAY_SIZE(times); i++) {
		struct status_msg m = sample(CMD_ADD_BATCH_STATUS, "b", NULL, "running");

		m.event_time_ms = times[i - 1];
		CHECK_INT(layout_record_key(&a, "p", &m, "z"), 0);
		m.event_time_ms = times[i];
		CHECK_INT(layout_record_key(&b, "p", &m, "a"), 0);
		CHECK(strcmp(buf_str(&a), buf_str(&b)) < 0);
	}
	buf_free(&a);
	buf_free(&b);
}

static void test_key_length_limit(void)
{
	struct status_msg m = sample(CMD_ADD_BATCH_STATUS, "b1", NULL, "running");
	const char *tail = "/BATCHS/b1/status/running/20261203T100000.123Z_m.json";
	size_t fixed = strlen(tail);
	char prefix[LAYOUT_MAX_KEY + 2];
	char big[257];
	struct buf k;

	buf_init(&k, 0);
	/* exactly 1024 bytes is accepted */
	memset(prefix, 'p', sizeof(prefix));
	prefix[LAYOUT_MAX_KEY - fixed] = '\0';
	CHECK_INT(layout_record_key(&k, prefix, &m, "m"), 0);
	CHECK_INT(k.len, LAYOUT_MAX_KEY);
	/* 1025 is refused, and nothing is left in out */
	prefix[LAYOUT_MAX_KEY - fixed] = 'p';
	prefix[LAYOUT_MAX_KEY - fixed + 1] = '\0';
	CHECK_INT(layout_record_key(&k, prefix, &m, "m"), -1);
	CHECK_INT(k.len, 0);
	CHECK_STR(buf_str(&k), "");
	/* maximal identifiers that all need escaping exceed the limit */
	memset(big, '/', 256);
	big[256] = '\0';
	m = sample(CMD_ADD_TASK_STATUS, big, big, "running");
	CHECK_INT(layout_record_key(&k, "FTD_CONTRACT_LOADER", &m, MID), -1);
	/* one of them alone fits: 768 + fixed parts */
	m = sample(CMD_ADD_TASK_STATUS, big, "t", "running");
	CHECK_INT(layout_record_key(&k, "FTD_CONTRACT_LOADER", &m, MID), 0);
	CHECK(k.len <= LAYOUT_MAX_KEY);
	CHECK_INT(layout_summary_key(&k, "FTD_CONTRACT_LOADER", big), 0);
	CHECK_INT(k.len, strlen("FTD_CONTRACT_LOADER/BATCHS//summary.json") + 768);
	memset(prefix, 'p', sizeof(prefix));
	prefix[LAYOUT_MAX_KEY] = '\0';
	CHECK_INT(layout_summary_key(&k, prefix, "b"), -1);
	CHECK_INT(layout_dead_letter_key(&k, prefix, T10, "m"), -1);
	CHECK_INT(k.len, 0);
	buf_free(&k);
}

static void check_one_json_line(const struct buf *b)
{
	CHECK(b->len > 0 && b->data[b->len - 1] == '\n');
	CHECK(memchr(b->data, '\n', b->len) == b->data + b->len - 1);
	CHECK(!memchr(b->data, '\r', b->len));
	CHECK_INT(json_validate(b->data, b->len - 1, NULL, NULL), JSON_OK);
}

static void test_record_body(void)
{
	struct record_meta meta = {MID, 1, QUEUE, T10 + 456};
	struct status_msg m = sample(CMD_ADD_TASK_STATUS, "b1", "t1", "completed");
	struct buf b;
	char payload[] = "{\"k\":[1,2.50,1e400,123456789012345678901234567890],\"s\":\"\\u00e9\\n\"}";

	buf_init(&b, 0);
	m.account = "acme";
	m.payload = payload;
	m.payload_len = strlen(payload);
	CHECK_INT(layout_record_body(&b, &m, &meta, false), 0);
	CHECK_STR(buf_str(&b),
		  "{\"account\":\"acme\",\"batch_id\":\"b1\",\"task_id\":\"t1\",\"status\":\"completed\","
		  "\"event_time\":\"2026-12-03T10:00:00.123Z\",\"recorded_at\":\"2026-12-03T10:00:00.456Z\","
		  "\"message_id\":\"" MID "\",\"receive_count\":1,\"queue\":\"" QUEUE "\","
		  "\"payload\":{\"k\":[1,2.50,1e400,123456789012345678901234567890],\"s\":\"\\u00e9\\n\"}}\n");
	check_one_json_line(&b);

	/* payload_only: the payload alone */
	CHECK_INT(layout_record_body(&b, &m, &meta, true), 0);
	CHECK_STR(buf_str(&b), "{\"k\":[1,2.50,1e400,123456789012345678901234567890],\"s\":\"\\u00e9\\n\"}\n");
	check_one_json_line(&b);

	/* batch event, no account, no payload, escapes in ids */
	m = sample(CMD_ADD_BATCH_STATUS, "q\"b\\s/\xC3\xA9", NULL, "running");
	meta.receive_count = 5;
	meta.queue = NULL;
	CHECK_INT(layout_record_body(&b, &m, &meta, false), 0);
	CHECK_STR(buf_str(&b),
		  "{\"account\":null,\"batch_id\":\"q\\\"b\\\\s/\xC3\xA9\",\"task_id\":null,"
		  "\"status\":\"running\",\"event_time\":\"2026-12-03T10:00:00.123Z\","
		  "\"recorded_at\":\"2026-12-03T10:00:00.456Z\",\"message_id\":\"" MID "\","
		  "\"receive_count\":5,\"queue\":null,\"payload\":null}\n");
	check_one_json_line(&b);
	CHECK_INT(layout_record_body(&b, &m, &meta, true), 0);
	CHECK_STR(buf_str(&b), "null\n");

	/* a multi-line payload is kept byte for byte but CR/LF become spaces */
	m.payload = "{\r\n  \"a\": \"x\\ny\",\n  \"b\": [1,\n2]\n}";
	m.payload_len = strlen(m.payload);
	CHECK_INT(layout_record_body(&b, &m, &meta, true), 0);
	CHECK_STR(buf_str(&b), "{    \"a\": \"x\\ny\",   \"b\": [1, 2] }\n");
	check_one_json_line(&b);
	CHECK_INT(layout_record_body(&b, &m, &meta, false), 0);
	check_one_json_line(&b);
	CHECK(strstr(buf_str(&b), ",\"payload\":{    \"a\": \"x\\ny\",   \"b\": [1, 2] }}\n") != NULL);

	/* get-status writes no record */
	m = sample(CMD_GET_STATUS, "b1", NULL, NULL);
	CHECK_INT(layout_record_body(&b, &m, &meta, false), -1);
	CHECK_INT(layout_record_body(&b, &m, &meta, true), -1);
	CHECK_INT(b.len, 0);

	/* a bounded buffer that is too small: -1, empty */
	buf_free(&b);
	buf_init(&b, 20);
	m = sample(CMD_ADD_BATCH_STATUS, "b1", NULL, "running");
	CHECK_INT(layout_record_body(&b, &m, &meta, false), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

/* decode a real body, then key and body are exactly as SPEC section 2 shows */
static void test_decode_then_layout(void)
{
	static const char body[] =
		"{\"command\":\"add-task-status\",\"batch-id\":\"batch 42\",\"task_id\":\"t/1\","
		"\"status\":\"Completed\",\"account\":\"acme\",\"event_time\":\"2026-12-03T11:00:00.123+01:00\","
		"\"payload\": {\"rows\": 123456789012345678901234567890, \"ratio\": 1e400}}";
	struct record_meta meta = {MID, 2, QUEUE, T10 + 456};
	struct status_msg m;
	struct buf r, k, b;

	buf_init(&r, 0);
	buf_init(&k, 0);
	buf_init(&b, 0);
	CHECK_INT(msg_decode(body, strlen(body), 0, NULL, &m, &r), MSG_OK);
	CHECK_INT(layout_record_key(&k, "FTD_CONTRACT_LOADER", &m, meta.message_id), 0);
	CHECK_STR(buf_str(&k), "FTD_CONTRACT_LOADER/BATCHS/batch%2042/tasks/t%2F1/completed/"
			       "20261203T100000.123Z_" MID ".json");
	CHECK_INT(layout_record_body(&b, &m, &meta, false), 0);
	CHECK_STR(buf_str(&b),
		  "{\"account\":\"acme\",\"batch_id\":\"batch 42\",\"task_id\":\"t/1\","
		  "\"status\":\"completed\",\"event_time\":\"2026-12-03T10:00:00.123Z\","
		  "\"recorded_at\":\"2026-12-03T10:00:00.456Z\",\"message_id\":\"" MID "\","
		  "\"receive_count\":2,\"queue\":\"" QUEUE "\","
		  "\"payload\":{\"rows\": 123456789012345678901234567890, \"ratio\": 1e400}}\n");
	check_one_json_line(&b);
	/* the key's segments decode back to the identifiers */
	{
		const char *seg = buf_str(&k) + strlen("FTD_CONTRACT_LOADER/BATCHS/");
		struct buf d;

		buf_init(&d, 0);
		CHECK_INT(layout_decode_id(&d, seg, (size_t)(strchr(seg, '/') - seg)), 0);
		CHECK_STR(buf_str(&d), m.batch_id);
		buf_free(&d);
	}
	status_msg_clear(&m);
	buf_free(&r);
	buf_free(&k);
	buf_free(&b);
}

static void test_dead_letter_body(void)
{
	struct record_meta meta = {MID, 5, QUEUE, T10 + 789};
	struct buf b;
	char *deep;
	size_t i;

	buf_init(&b, 0);
	/* a valid JSON body is embedded verbatim */
	CHECK_INT(layout_dead_letter_body(&b, S(" {\"command\":\"nope\",\"n\":1e400}\n"),
					  "UnknownCommand", "field command has an unknown value \"nope\"",
					  &meta),
		  0);
	CHECK_STR(buf_str(&b),
		  "{\"error\":\"UnknownCommand\",\"reason\":\"field command has an unknown value "
		  "\\\"nope\\\"\",\"message_id\":\"" MID "\",\"receive_count\":5,\"queue\":\"" QUEUE "\","
		  "\"dead_lettered_at\":\"2026-12-03T10:00:00.789Z\",\"body\":{\"command\":\"nope\","
		  "\"n\":1e400}}\n");
	check_one_json_line(&b);

	/* not JSON: a string, with invalid UTF-8 replaced and controls escaped */
	CHECK_INT(layout_dead_letter_body(&b, S("hello\n\xff\"x\"\tend\0!"), "InvalidJSON",
					  "body is not valid JSON: unexpected character at byte 0",
					  &meta),
		  0);
	CHECK_STR(buf_str(&b),
		  "{\"error\":\"InvalidJSON\",\"reason\":\"body is not valid JSON: unexpected character "
		  "at byte 0\",\"message_id\":\"" MID "\",\"receive_count\":5,\"queue\":\"" QUEUE "\","
		  "\"dead_lettered_at\":\"2026-12-03T10:00:00.789Z\",\"body_text\":\"hello\\u000a"
		  "\xEF\xBF\xBD\\\"x\\\"\\u0009end\\u0000!\"}\n");
	check_one_json_line(&b);

	/* JSON with a lone surrogate is not valid: kept as text */
	CHECK_INT(layout_dead_letter_body(&b, S("{\"a\":\"\\ud800\"}"), "InvalidJSON", "r", &meta), 0);
	CHECK(strstr(buf_str(&b), ",\"body_text\":\"{\\\"a\\\":\\\"\\\\ud800\\\"}\"}\n") != NULL);
	check_one_json_line(&b);

	/* multi-line JSON body stays one line */
	CHECK_INT(layout_dead_letter_body(&b, S("{\n\"a\":\r\n1\n}"), "MissingField", "missing field command",
					  &meta),
		  0);
	CHECK(strstr(buf_str(&b), ",\"body\":{ \"a\":  1 }}\n") != NULL);
	check_one_json_line(&b);

	/* empty body, NULL reason and meta strings */
	meta.message_id = NULL;
	meta.queue = NULL;
	CHECK_INT(layout_dead_letter_body(&b, NULL, 0, "S3Error", NULL, &meta), 0);
	CHECK_STR(buf_str(&b), "{\"error\":\"S3Error\",\"reason\":null,\"message_id\":null,"
			       "\"receive_count\":5,\"queue\":null,\"dead_lettered_at\":"
			       "\"2026-12-03T10:00:00.789Z\",\"body_text\":\"\"}\n");
	check_one_json_line(&b);

	/* a too-deep body (what TooLarge rejects) is kept as text */
	deep = xmalloc(100001);
	for (i = 0; i < 100000; i++)
		deep[i] = '[';
	CHECK_INT(layout_dead_letter_body(&b, deep, 100000, "TooLarge", "deep", &meta), 0);
	CHECK(strstr(buf_str(&b), "\"body_text\":\"[[[") != NULL);
	check_one_json_line(&b);
	free(deep);

	/* a reason with a newline is escaped, the body stays one line */
	CHECK_INT(layout_dead_letter_body(&b, S("{}"), "X", "two\nlines", &meta), 0);
	CHECK(strstr(buf_str(&b), "\"reason\":\"two\\u000alines\"") != NULL);
	check_one_json_line(&b);
	buf_free(&b);
}

int main(void)
{
	test_encode_table();
	test_encode_appends_and_limits();
	test_decode();
	test_round_trip_all_bytes();
	test_keys();
	test_dead_letter_and_summary_keys();
	test_stamp_order();
	test_key_length_limit();
	test_record_body();
	test_decode_then_layout();
	test_dead_letter_body();
	return check_done("test_layout");
}
