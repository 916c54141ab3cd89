/* test_status_query.c - the get-status answer object: a batch with its
 * counts, one task, nothing recorded, a batch with tasks but no batch event.
 * (The S3 side is exercised by tests/e2e/test_cli.py through s3status get.) */
#include "status_query.h"

#include "check.h"

#define T0 1796292000000LL /* 2026-12-03T10:00:00.000Z */

int main(void)
{
	struct summary s;
	struct summary_event e;
	struct status_answer a = {.ok = true};
	struct buf out;

	buf_init(&out, 0);
	summary_init(&s, "b1");
	e = (struct summary_event){NULL, "running", T0, "m1"};
	summary_merge(&s, &e);
	e = (struct summary_event){"t/1", "failed", T0 + 1, "m2"};
	summary_merge(&s, &e);

	a = (struct status_answer){.ok = true, .found = true, .from_summary = true,
				   .summary = &s, .state = &s.batch};
	CHECK_INT(status_answer_json(&out, "b1", NULL, &a), 0);
	CHECK_STR(buf_str(&out),
		  "{\"batch_id\":\"b1\",\"task_id\":null,\"found\":true,\"status\":\"running\","
		  "\"event_time\":\"2026-12-03T10:00:00.000Z\",\"message_id\":\"m1\","
		  "\"source\":\"summary\",\"task_count\":1,\"counts\":{\"pending\":0,\"running\":0,"
		  "\"success\":0,\"failed\":1,\"completed\":0}}");

	a.state = &summary_find(&s, "t/1")->st;
	a.from_summary = false;
	CHECK_INT(status_answer_json(&out, "b1", "t/1", &a), 0);
	CHECK_STR(buf_str(&out),
		  "{\"batch_id\":\"b1\",\"task_id\":\"t/1\",\"found\":true,\"status\":\"failed\","
		  "\"event_time\":\"2026-12-03T10:00:00.001Z\",\"message_id\":\"m2\","
		  "\"source\":\"history\"}");

	a = (struct status_answer){.ok = true, .found = false, .summary = &s, .state = NULL};
	CHECK_INT(status_answer_json(&out, "b1", "nope", &a), 0);
	CHECK_STR(buf_str(&out), "{\"batch_id\":\"b1\",\"task_id\":\"nope\",\"found\":false,"
				 "\"status\":null,\"event_time\":null,\"message_id\":null,"
				 "\"source\":\"history\"}");
	summary_clear(&s);

	/* Tasks but no batch event: found, status null, counts given. */
	summary_init(&s, "b2");
	e = (struct summary_event){"t", "pending", T0, "m"};
	summary_merge(&s, &e);
	a = (struct status_answer){.ok = true, .found = true, .summary = &s, .state = &s.batch};
	CHECK_INT(status_answer_json(&out, "b2", NULL, &a), 0);
	CHECK(strstr(buf_str(&out), "\"found\":true,\"status\":null,\"event_time\":null") != NULL);
	CHECK(strstr(buf_str(&out), "\"task_count\":1,\"counts\":{\"pending\":1,") != NULL);
	summary_clear(&s);

	/* A full buffer: -1 and empty. */
	buf_free(&out);
	buf_init(&out, 16);
	CHECK_INT(status_answer_json(&out, "b-long-enough-to-overflow", NULL, &a), -1);
	CHECK_INT(out.len, 0);
	buf_free(&out);
	return check_done("test_status_query");
}
