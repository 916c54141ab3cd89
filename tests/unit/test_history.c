/* test_history.c - record keys read back: every key layout_record_key writes
 * parses into the same event (ids, status, millisecond time, message id),
 * other keys are refused, listing prefixes match the layout, and events
 * sort chronologically. */
#include "history.h"

#include "check.h"
#include "layout.h"

#define T10 1796292000123LL /* 2026-12-03T10:00:00.123Z */

static void round_trip(const char *prefix, const char *batch, const char *task,
		       const char *status, int64_t t, const char *mid)
{
	struct status_msg m = {
		.command = task ? CMD_ADD_TASK_STATUS : CMD_ADD_BATCH_STATUS,
		.batch_id = (char *)batch, .task_id = (char *)task, .status = (char *)status,
		.event_time_ms = t,
	};
	struct history_event e;
	struct buf key, pre;

	buf_init(&key, 0);
	buf_init(&pre, 0);
	CHECK_INT(layout_record_key(&key, prefix, &m, mid), 0);
	CHECK_INT(history_parse_key(prefix, batch, buf_str(&key), &e), 0);
	CHECK_STR(e.key, buf_str(&key));
	if (task)
		CHECK_STR(e.task_id, task);
	else
		CHECK(e.task_id == NULL);
	CHECK_STR(e.status, status);
	CHECK_INT(e.event_time_ms, t);
	CHECK_STR(e.message_id, mid);
	history_event_clear(&e);
	/* It lies under the listing prefixes of its scope. */
	CHECK_INT(history_prefix(&pre, prefix, batch, task,
				 task ? HISTORY_TASK : HISTORY_BATCH), 0);
	CHECK(strncmp(buf_str(&key), buf_str(&pre), pre.len) == 0);
	CHECK_INT(history_prefix(&pre, prefix, batch, NULL, HISTORY_ALL), 0);
	CHECK(strncmp(buf_str(&key), buf_str(&pre), pre.len) == 0);
	/* Another batch does not claim it. */
	CHECK_INT(history_parse_key(prefix, "other", buf_str(&key), &e), -1);
	buf_free(&key);
	buf_free(&pre);
}

static void test_round_trips(void)
{
	round_trip(NULL, "nightly-2026-12-03", NULL, "running", T10, "6f0e5a3c-1b2d");
	round_trip(NULL, "nightly-2026-12-03", "load/warehouse", "failed", T10 + 1, "m1");
	round_trip("", "b", "t", "completed", 0, "m");
	round_trip("a/b/", "b c", "..", "success", -86400000LL, "id%with%percent");
	round_trip("p", ".", "\xC3\xA9t\xC3\xA9 \"x\"", "queued", 253402300799999LL, "m_1.json");
	round_trip("p", "b", "tasks", "status", T10, "status");
}

static void test_refused_keys(void)
{
	static const char *const bad[] = {
		"FTD_CONTRACT_LOADER/BATCHS/b/summary.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/20261203T100000.123Z_m.jsonx",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/20261203T100000.123Z_.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/20261203T100000.123Zxm.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/20261303T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/2026120T3100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status//20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/run%ZZ/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/run%00/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/status/running/x/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/tasks/t/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/tasks//running/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b/other/running/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/BATCHS/b2/status/running/20261203T100000.123Z_m.json",
		"OTHER/BATCHS/b/status/running/20261203T100000.123Z_m.json",
		"FTD_CONTRACT_LOADER/DEAD_LETTER/2026/12/03/20261203T100000.123Z_m.json",
		"",
	};
	struct history_event e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT(history_parse_key(NULL, "b", bad[i], &e), -1);
		CHECK(e.key == NULL && e.status == NULL && e.task_id == NULL);
	}
}

static void test_prefixes_and_stamps(void)
{
	struct buf b;
	int64_t ms;

	buf_init(&b, 0);
	CHECK_INT(history_prefix(&b, NULL, "b/1", NULL, HISTORY_ALL), 0);
	CHECK_STR(buf_str(&b), "FTD_CONTRACT_LOADER/BATCHS/b%2F1/");
	CHECK_INT(history_prefix(&b, "", "b", NULL, HISTORY_BATCH), 0);
	CHECK_STR(buf_str(&b), "BATCHS/b/status/");
	CHECK_INT(history_prefix(&b, "/x/y/", "b", "t 1", HISTORY_TASK), 0);
	CHECK_STR(buf_str(&b), "x/y/BATCHS/b/tasks/t%201/");
	CHECK_INT(history_prefix(&b, NULL, "b", NULL, HISTORY_TASK), -1);
	CHECK_INT(history_prefix(&b, NULL, "", NULL, HISTORY_ALL), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);

	CHECK_INT(history_parse_stamp("20261203T100000.123Z", 20, &ms), 0);
	CHECK_INT(ms, T10);
	CHECK_INT(history_parse_stamp("20261203T100000.123", 19, &ms), -1);
	CHECK_INT(history_parse_stamp("20261203T250000.123Z", 20, &ms), -1);
	CHECK_INT(history_parse_stamp("2026-1203T10000.123Z", 20, &ms), -1);
}

static void test_sort(void)
{
	struct history_event v[] = {
		{.task_id = "t", .status = "completed", .event_time_ms = 5, .message_id = "a"},
		{.task_id = NULL, .status = "running", .event_time_ms = 5, .message_id = "b"},
		{.task_id = "t", .status = "pending", .event_time_ms = 1, .message_id = "c"},
		{.task_id = "a", .status = "running", .event_time_ms = 5, .message_id = "b"},
	};

	history_sort(v, ARRAY_SIZE(v));
	CHECK_STR(v[0].message_id, "c");
	CHECK(v[1].task_id == NULL); /* a batch event before a task's on a full tie */
	CHECK_STR(v[2].task_id, "a");
	CHECK_STR(v[3].status, "completed");
}

int main(void)
{
	test_round_trips();
	test_refused_keys();
	test_prefixes_and_stamps();
	test_sort();
	return check_done("test_history");
}
