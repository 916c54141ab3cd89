/* test_retry.c - the retry policy: classification table, backoff bounds with
 * pinned randomness, and retry-quota accounting. */
#include <curl/curl.h>

#include "check.h"
#include "retry.h"

static double pinned;
static double fixed_rand(void *ctx)
{
	(void)ctx;
	return pinned;
}

static void test_classify(void)
{
	static const struct {
		long status;
		int curl;
		const char *code;
		enum err_class want;
	} cases[] = {
		{200, CURLE_OK, NULL, ERR_NONE},
		{503, CURLE_OK, "SlowDown", ERR_THROTTLE},
		{400, CURLE_OK, "com.amazonaws.sqs#ThrottlingException", ERR_THROTTLE},
		{400, CURLE_OK, "Throttling", ERR_THROTTLE},
		{400, CURLE_OK, "RequestThrottled", ERR_THROTTLE},
		{429, CURLE_OK, "TooManyRequests", ERR_THROTTLE},
		{429, CURLE_OK, NULL, ERR_THROTTLE},
		{500, CURLE_OK, "InternalError", ERR_TRANSIENT},
		{502, CURLE_OK, NULL, ERR_TRANSIENT},
		{503, CURLE_OK, "ServiceUnavailable", ERR_TRANSIENT},
		{504, CURLE_OK, NULL, ERR_TRANSIENT},
		{400, CURLE_OK, "RequestTimeout", ERR_TRANSIENT},
		{0, CURLE_COULDNT_CONNECT, NULL, ERR_TRANSIENT},
		{0, CURLE_OPERATION_TIMEDOUT, NULL, ERR_TRANSIENT},
		{0, CURLE_GOT_NOTHING, NULL, ERR_TRANSIENT},
		{0, CURLE_SEND_ERROR, NULL, ERR_TRANSIENT},
		{0, CURLE_RECV_ERROR, NULL, ERR_TRANSIENT},
		{0, CURLE_PEER_FAILED_VERIFICATION, NULL, ERR_FATAL},
		{0, CURLE_WRITE_ERROR, NULL, ERR_FATAL},
		{403, CURLE_OK, "AccessDenied", ERR_FATAL},
		{404, CURLE_OK, "NoSuchBucket", ERR_FATAL},
		{400, CURLE_OK, "com.amazonaws.sqs#InvalidParameterValue", ERR_FATAL},
		{400, CURLE_OK, "QueueDoesNotExist", ERR_FATAL},
		{412, CURLE_OK, "PreconditionFailed", ERR_FATAL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_class got = retry_classify(cases[i].status, cases[i].curl, cases[i].code);
		if (got != cases[i].want)
			fprintf(stderr, "case %zu: %ld/%d/%s -> %s, want %s\n", i, cases[i].status,
				cases[i].curl, cases[i].code ? cases[i].code : "-",
				err_class_name(got), err_class_name(cases[i].want));
		CHECK_INT(got, cases[i].want);
	}
}

static void test_backoff_bounds(void)
{
	struct retry_policy pol = {.base_ms = 100, .cap_ms = 20000, .rand01 = fixed_rand};
	struct retry r;
	int a;

	retry_init(&r, &pol);
	pinned = 0.0;
	for (a = 1; a < 40; a++)
		CHECK_INT(retry_backoff_ms(&r, a), 0);
	pinned = 0.999999;
	CHECK(retry_backoff_ms(&r, 1) <= 100 && retry_backoff_ms(&r, 1) >= 99);
	CHECK(retry_backoff_ms(&r, 2) <= 200 && retry_backoff_ms(&r, 2) >= 199);
	CHECK(retry_backoff_ms(&r, 5) <= 1600 && retry_backoff_ms(&r, 5) >= 1599);
	/* Capped at 20 s however many attempts, and never overflowing. */
	for (a = 9; a < 1000; a += 37)
		CHECK(retry_backoff_ms(&r, a) <= 20000 && retry_backoff_ms(&r, a) >= 19999);
	pinned = 0.5;
	CHECK_INT(retry_backoff_ms(&r, 3), 200);
}

static void test_default_rng_range(void)
{
	struct retry r;
	int i, distinct = 0;
	int64_t prev = -1, v;

	retry_init(&r, NULL);
	for (i = 0; i < 1000; i++) {
		v = retry_backoff_ms(&r, 4);
		CHECK(v >= 0 && v <= 800);
		distinct += v != prev;
		prev = v;
	}
	CHECK(distinct > 500); /* full jitter, not a constant */
}

static void test_quota(void)
{
	struct retry_policy pol = {.quota_max = 20, .cost_retry = 5, .cost_timeout = 10,
				   .refund = 1, .rand01 = fixed_rand};
	struct retry r;

	retry_init(&r, &pol);
	CHECK_INT(r.quota, 20);
	CHECK(!retry_take(&r, ERR_FATAL, false)); /* fatal errors never retry */
	CHECK(!retry_take(&r, ERR_NONE, false));
	CHECK_INT(r.quota, 20);
	CHECK(retry_take(&r, ERR_THROTTLE, false));
	CHECK(retry_take(&r, ERR_TRANSIENT, true));
	CHECK_INT(r.quota, 5);
	CHECK(!retry_take(&r, ERR_TRANSIENT, true)); /* a timeout costs 10 */
	CHECK(retry_take(&r, ERR_TRANSIENT, false));
	CHECK_INT(r.quota, 0);
	CHECK(!retry_take(&r, ERR_THROTTLE, false)); /* storm: quota empty */
	retry_success(&r, true, true);               /* a retried timeout succeeded */
	CHECK_INT(r.quota, 10);
	retry_success(&r, false, false);
	CHECK_INT(r.quota, 11);
	for (int i = 0; i < 100; i++)
		retry_success(&r, true, false);
	CHECK_INT(r.quota, 20); /* never above the maximum */
}

int main(void)
{
	test_classify();
	test_backoff_bounds();
	test_default_rng_range();
	test_quota();
	return check_done("test_retry");
}
