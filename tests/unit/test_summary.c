/* test_summary.c - the summary.json model: the event order (time, then
 * status rank, then message id), merges that are idempotent and independent
 * of order and grouping, the exact serialised form, parse/serialise round
 * trips, and the parser's refusals and bounds. */
#include "summary.h"

#include "check.h"

#define T0 1796292000000LL /* 2026-12-03T10:00:00.000Z */
#define UPDATED 1796295600123LL /* 2026-12-03T11:00:00.123Z */

static struct summary_event ev(const char *task, const char *status, int64_t t, const char *mid)
{
	return (struct summary_event){.task_id = task, .status = status, .event_time_ms = t,
				      .message_id = mid};
}

static char *ser(struct summary *s)
{
	struct buf b;

	buf_init(&b, 0);
	s->updated_at_ms = UPDATED;
	CHECK_INT(summary_serialise(s, &b), 0);
	return buf_steal(&b, NULL);
}

static void test_rank_and_order(void)
{
	struct summary_event a, b;

	CHECK_INT(summary_status_rank("pending"), 1);
	CHECK_INT(summary_status_rank("running"), 2);
	CHECK_INT(summary_status_rank("success"), 3);
	CHECK_INT(summary_status_rank("failed"), 4);
	CHECK_INT(summary_status_rank("completed"), 5);
	CHECK_INT(summary_status_rank("queued"), 0);
	CHECK_INT(summary_status_rank("Running"), 0);

	/* Later time wins whatever the status. */
	a = ev(NULL, "completed", T0, "m1");
	b = ev(NULL, "pending", T0 + 1, "m0");
	CHECK(summary_event_cmp(&a, &b) < 0);
	CHECK(summary_event_cmp(&b, &a) > 0);
	/* Ties: pending < running < success < failed < completed. */
	a = ev(NULL, "failed", T0, "z");
	b = ev(NULL, "completed", T0, "a");
	CHECK(summary_event_cmp(&a, &b) < 0);
	a = ev(NULL, "success", T0, "z");
	b = ev(NULL, "failed", T0, "a");
	CHECK(summary_event_cmp(&a, &b) < 0);
	a = ev(NULL, "running", T0, "z");
	b = ev(NULL, "success", T0, "a");
	CHECK(summary_event_cmp(&a, &b) < 0);
	/* Other statuses rank below pending, then by name. */
	a = ev(NULL, "queued", T0, "z");
	b = ev(NULL, "pending", T0, "a");
	CHECK(summary_event_cmp(&a, &b) < 0);
	a = ev(NULL, "archived", T0, "z");
	b = ev(NULL, "queued", T0, "a");
	CHECK(summary_event_cmp(&a, &b) < 0);
	/* Same time and status: the message id decides, so the order is total. */
	a = ev(NULL, "running", T0, "m1");
	b = ev(NULL, "running", T0, "m2");
	CHECK(summary_event_cmp(&a, &b) < 0);
	CHECK_INT(summary_event_cmp(&a, &a), 0);
	/* No status (no event yet) is before everything. */
	a = ev(NULL, NULL, 0, NULL);
	b = ev(NULL, "pending", -5000, "m");
	CHECK(summary_event_cmp(&a, &b) < 0);
}

static void test_merge_basics(void)
{
	struct summary s;
	struct summary_event e;
	const struct summary_task *t;

	summary_init(&s, "b1");
	e = ev(NULL, "running", T0, "m1");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED);
	CHECK_INT(summary_merge(&s, &e), SUMMARY_UNCHANGED); /* idempotent */
	e = ev(NULL, "pending", T0 - 1000, "m0");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_UNCHANGED); /* older: ignored */
	CHECK_STR(s.batch.status, "running");
	e = ev(NULL, "completed", T0, "m2");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED); /* tie: completed wins */
	CHECK_STR(s.batch.status, "completed");
	CHECK_STR(s.batch.message_id, "m2");

	e = ev("t2", "running", T0, "m3");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED);
	e = ev("t1", "success", T0 + 5, "m4");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED);
	e = ev("t1", "running", T0 + 1, "m5"); /* arrives late, older */
	CHECK_INT(summary_merge(&s, &e), SUMMARY_UNCHANGED);
	CHECK_INT(s.ntasks, 2);
	CHECK_STR(s.tasks[0].task_id, "t1"); /* sorted */
	t = summary_find(&s, "t1");
	CHECK(t && strcmp(t->st.status, "success") == 0 && t->st.event_time_ms == T0 + 5);
	CHECK(summary_find(&s, "t3") == NULL);
	CHECK_INT(summary_count(&s, "running"), 1);
	CHECK_INT(summary_count(&s, "success"), 1);
	CHECK_INT(summary_count(&s, "failed"), 0);
	/* A batch event never touches tasks and vice versa. */
	CHECK_STR(s.batch.status, "completed");

	/* Refused events. */
	e = ev("t1", "", T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_INVALID);
	e = ev("t1", NULL, T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_INVALID);
	e = ev("", "running", T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_INVALID);
	e = ev("t\n1", "running", T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_INVALID);
	summary_clear(&s);
}

static void test_serialise_exact(void)
{
	struct summary s;
	struct summary_event e[] = {
		ev(NULL, "running", T0, "m-b1"),
		ev("load/warehouse", "failed", T0 + 2000, "m-2"),
		ev("extract", "success", T0 + 1000, "m-1"),
		ev("\"quoted\" \xC3\xA9", "queued", T0 + 3000, NULL),
	};
	size_t i;
	char *out;

	summary_init(&s, "nightly");
	for (i = 0; i < ARRAY_SIZE(e); i++)
		CHECK_INT(summary_merge(&s, &e[i]), SUMMARY_CHANGED);
	out = ser(&s);
	CHECK_STR(out,
		  "{\"version\":1,\"batch_id\":\"nightly\",\"status\":\"running\","
		  "\"event_time\":\"2026-12-03T10:00:00.000Z\",\"message_id\":\"m-b1\","
		  "\"updated_at\":\"2026-12-03T11:00:00.123Z\",\"task_count\":3,"
		  "\"counts\":{\"pending\":0,\"running\":0,\"success\":1,\"failed\":1,\"completed\":0,"
		  "\"queued\":1},\"overflow\":false,\"tasks\":{"
		  "\"\\\"quoted\\\" \xC3\xA9\":{\"status\":\"queued\",\"event_time\":"
		  "\"2026-12-03T10:00:03.000Z\",\"message_id\":null},"
		  "\"extract\":{\"status\":\"success\",\"event_time\":\"2026-12-03T10:00:01.000Z\","
		  "\"message_id\":\"m-1\"},"
		  "\"load/warehouse\":{\"status\":\"failed\",\"event_time\":"
		  "\"2026-12-03T10:00:02.000Z\",\"message_id\":\"m-2\"}}}\n");
	free(out);
	summary_clear(&s);

	/* Nothing yet: batch fields null, no tasks. */
	summary_init(&s, "b");
	out = ser(&s);
	CHECK_STR(out, "{\"version\":1,\"batch_id\":\"b\",\"status\":null,\"event_time\":null,"
		       "\"message_id\":null,\"updated_at\":\"2026-12-03T11:00:00.123Z\","
		       "\"task_count\":0,\"counts\":{\"pending\":0,\"running\":0,\"success\":0,"
		       "\"failed\":0,\"completed\":0},\"overflow\":false,\"tasks\":{}}\n");
	free(out);
	summary_clear(&s);
}

/* A deterministic generator for the shuffles. */
static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NEV 160

static void make_events(struct summary_event *e, char names[][16], char mids[][16])
{
	static const char *const st[] = {"pending", "running", "success", "failed", "completed",
					 "queued"};
	size_t i;

	for (i = 0; i < NEV; i++) {
		snprintf(names[i], 16, "task-%02zu", i % 23);
		snprintf(mids[i], 16, "m%03zu", (i * 37) % 101); /* repeats: equal ids */
		/* Few distinct times: many ties between statuses and ids. */
		e[i] = ev(i % 9 == 0 ? NULL : names[i], st[rnd() % ARRAY_SIZE(st)],
			  T0 + (int64_t)(rnd() % 4) * 1000, mids[i]);
	}
}

static void test_order_independence(void)
{
	static struct summary_event e[NEV], perm[2 * NEV];
	static char names[NEV][16], mids[NEV][16];
	struct summary ref, s, a, b;
	char *want, *got;
	size_t i, j, k, round, split;
	struct summary_event t;
	bool same = true;

	make_events(e, names, mids);
	summary_init(&ref, "b");
	for (i = 0; i < NEV; i++)
		summary_merge(&ref, &e[i]);
	want = ser(&ref);
	for (round = 0; round < 300; round++) {
		/* A shuffle with every event once or twice (redeliveries). */
		for (i = 0, k = 0; i < NEV; i++) {
			perm[k++] = e[i];
			if (rnd() % 4 == 0)
				perm[k++] = e[i];
		}
		for (i = k - 1; i > 0; i--) {
			j = rnd() % (i + 1);
			t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		summary_init(&s, "b");
		for (i = 0; i < k; i++)
			summary_merge(&s, &perm[i]);
		got = ser(&s);
		same &= strcmp(got, want) == 0;
		free(got);
		summary_clear(&s);

		/* Two writers with half each, then one merges the other's result
		 * (what a conflicting write does): the same object again. */
		split = rnd() % k;
		summary_init(&a, "b");
		summary_init(&b, "b");
		for (i = 0; i < k; i++)
			summary_merge(i < split ? &a : &b, &perm[i]);
		t = ev(NULL, b.batch.status, b.batch.event_time_ms, b.batch.message_id);
		if (t.status)
			summary_merge(&a, &t);
		for (i = 0; i < b.ntasks; i++) {
			t = ev(b.tasks[i].task_id, b.tasks[i].st.status, b.tasks[i].st.event_time_ms,
			       b.tasks[i].st.message_id);
			summary_merge(&a, &t);
		}
		got = ser(&a);
		same &= strcmp(got, want) == 0;
		free(got);
		summary_clear(&a);
		summary_clear(&b);
	}
	CHECK(same);
	free(want);
	summary_clear(&ref);
}

static void test_round_trip(void)
{
	static struct summary_event e[NEV];
	static char names[NEV][16], mids[NEV][16];
	struct summary s, p;
	struct buf err;
	char *one, *two;
	size_t i;

	buf_init(&err, 0);
	make_events(e, names, mids);
	summary_init(&s, "b/\xE2\x82\xAC");
	for (i = 0; i < NEV; i++)
		summary_merge(&s, &e[i]);
	one = ser(&s);
	CHECK_INT(summary_parse(&p, "b/\xE2\x82\xAC", one, strlen(one), &err), 0);
	CHECK_STR(buf_str(&err), "");
	CHECK_INT(p.updated_at_ms, UPDATED);
	CHECK_INT(p.ntasks, s.ntasks);
	two = ser(&p);
	CHECK_STR(two, one);
	free(two);
	summary_clear(&p);

	/* Tasks out of order, whitespace, unknown members, derived members ignored. */
	static const char loose[] =
		" {\"tasks\":{\"t2\":{\"status\":\"running\",\"event_time\":\"2026-12-03T10:00:00Z\","
		"\"extra\":[1,2]},\"t1\":{\"message_id\":\"x\",\"status\":\"success\","
		"\"event_time\":\"2026-12-03T11:00:00.5+01:00\"}},\n\"counts\":{\"running\":99},"
		"\"task_count\":7,\"future\":{\"a\":1},\"batch_id\":\"b\",\"version\":1} ";
	CHECK_INT(summary_parse(&p, "b", loose, sizeof(loose) - 1, &err), 0);
	CHECK_INT(p.ntasks, 2);
	CHECK_STR(p.tasks[0].task_id, "t1");
	CHECK_INT(p.tasks[0].st.event_time_ms, T0 + 500);
	CHECK(p.tasks[1].st.message_id == NULL);
	CHECK(p.batch.status == NULL);
	CHECK_INT(summary_count(&p, "running"), 1);
	summary_clear(&p);
	free(one);
	summary_clear(&s);
	buf_free(&err);
}

static void test_parse_refusals(void)
{
	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"{\"version\":1,\"batch_id\":\"b\"",                 /* truncated */
		"{\"batch_id\":\"b\"}",                              /* no version */
		"{\"version\":1}",                                   /* no batch_id */
		"{\"version\":2,\"batch_id\":\"b\"}",                /* newer format */
		"{\"version\":1,\"batch_id\":\"other\"}",            /* wrong object */
		"{\"version\":1,\"batch_id\":\"b\",\"batch_id\":\"b\"}",
		"{\"version\":1,\"batch_id\":\"b\",\"status\":\"running\"}", /* no time */
		"{\"version\":1,\"batch_id\":\"b\",\"status\":null,\"event_time\":\"2026-12-03T10:00:00Z\"}",
		"{\"version\":1,\"batch_id\":\"b\",\"status\":\"x\",\"event_time\":\"yesterday\"}",
		"{\"version\":1,\"batch_id\":\"b\",\"status\":3,\"event_time\":\"2026-12-03T10:00:00Z\"}",
		"{\"version\":1,\"batch_id\":\"b\",\"overflow\":\"no\"}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":[]}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"t\":{\"status\":\"running\"}}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"t\":{\"event_time\":\"2026-12-03T10:00:00Z\"}}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"t\":1}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"\":{\"status\":\"r\",\"event_time\":\"2026-12-03T10:00:00Z\"}}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"a\\u0001\":{\"status\":\"r\",\"event_time\":\"2026-12-03T10:00:00Z\"}}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"t\":{\"status\":\"r\",\"event_time\":\"2026-12-03T10:00:00Z\"},"
		"\"t\":{\"status\":\"r\",\"event_time\":\"2026-12-03T10:00:00Z\"}}}",
		"{\"version\":1,\"batch_id\":\"b\",\"tasks\":{\"t\":{\"status\":\"r\",\"event_time\":\"2026-12-03T10:00:00Z\"}},}",
		"{\"version\":1,\"batch_id\":\"b\",\"x\":[[[[[[1]]]]]]}", /* deeper than needed */
		"{\"version\":1,\"batch_id\":\"b\"}\xFF",
	};
	struct summary s;
	struct buf err;
	size_t i;
	int rc;

	buf_init(&err, 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_reset(&err);
		rc = summary_parse(&s, "b", bad[i], strlen(bad[i]), &err);
		CHECK_INT(rc, -1);
		if (rc != -1)
			fprintf(stderr, "  accepted case %zu: %s\n", i, bad[i]);
		CHECK(strncmp(buf_str(&err), "summary.json: ", 14) == 0);
		CHECK(s.ntasks == 0 && s.batch_id == NULL); /* left empty */
		summary_clear(&s);
	}
	buf_free(&err);
}

static void test_bounds(void)
{
	struct summary s, p;
	struct summary_event e;
	struct buf err, big;
	char id[32], longid[SUMMARY_MAX_ID + 2];
	size_t i;
	char *out;

	/* The task limit: one more task sets overflow, once. */
	summary_init(&s, "b");
	for (i = 0; i < SUMMARY_MAX_TASKS; i++) {
		snprintf(id, sizeof(id), "t%06zu", i);
		e = ev(id, "running", T0, "m");
		summary_merge(&s, &e);
	}
	CHECK_INT(s.ntasks, SUMMARY_MAX_TASKS);
	e = ev("zz-one-too-many", "running", T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_OVERFLOWED);
	CHECK_INT(summary_merge(&s, &e), SUMMARY_UNCHANGED);
	e = ev("t000001", "success", T0 + 1, "m"); /* known tasks still update */
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED);
	CHECK(s.overflow);
	out = ser(&s);
	CHECK(strstr(out, "\"task_count\":100000,") != NULL);
	CHECK(strstr(out, "\"overflow\":true") != NULL);
	buf_init(&err, 0);
	CHECK_INT(summary_parse(&p, "b", out, strlen(out), &err), 0);
	CHECK(p.overflow && p.ntasks == SUMMARY_MAX_TASKS);
	summary_clear(&p);
	free(out);
	summary_clear(&s);

	/* The byte budget: long quoted ids overflow before the task limit, and
	 * what is kept still serialises within SUMMARY_MAX_BYTES. */
	summary_init(&s, "b");
	memset(longid, '"', SUMMARY_MAX_ID);
	longid[SUMMARY_MAX_ID] = '\0';
	for (i = 0; i < 60000 && !s.overflow; i++) {
		snprintf(longid, sizeof(longid), "%06zu", i);
		longid[6] = '"';
		e = ev(longid, "running", T0, "6f0e5a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
		summary_merge(&s, &e);
	}
	CHECK(s.overflow);
	CHECK(s.ntasks > 40000 && s.ntasks < SUMMARY_MAX_TASKS);
	buf_init(&big, SUMMARY_MAX_BYTES);
	CHECK_INT(summary_serialise(&s, &big), 0);
	CHECK(big.len > 25u * 1024 * 1024 && big.len <= SUMMARY_MAX_BYTES);
	buf_free(&big);
	summary_clear(&s);

	/* Identifiers: 256 bytes fit, 257 do not. */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	summary_init(&s, "b");
	e = ev(longid, "running", T0, "m");
	CHECK_INT(summary_merge(&s, &e), SUMMARY_INVALID);
	longid[SUMMARY_MAX_ID] = '\0';
	CHECK_INT(summary_merge(&s, &e), SUMMARY_CHANGED);
	summary_clear(&s);

	/* Larger than SUMMARY_MAX_BYTES is refused before scanning. */
	buf_init(&big, 0);
	buf_adds(&big, "{\"version\":1,\"batch_id\":\"b\",\"pad\":\"");
	while (big.len <= SUMMARY_MAX_BYTES)
		buf_adds(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	buf_adds(&big, "\"}");
	CHECK_INT(summary_parse(&p, "b", big.data, big.len, &err), -1);
	CHECK(strstr(buf_str(&err), "limit") != NULL);
	summary_clear(&p);
	buf_free(&big);
	buf_free(&err);
}

int main(void)
{
	test_rank_and_order();
	test_merge_basics();
	test_serialise_exact();
	test_order_independence();
	test_round_trip();
	test_parse_refusals();
	test_bounds();
	return check_done("test_summary");
}
